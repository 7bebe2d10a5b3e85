"""
What one upload costs the server, direct against proxy (issue 17, items 2
to 4): the production settings on one gunicorn sync worker, PostgreSQL and
SeaweedFS on loopback (see tests/support/upload_cost.py).

- CPU seconds of the worker and bytes through it per upload, for 100 KB,
  1 MB, 5 MB and 10 MiB, ten uploads each, by the direct flow (ticket, POST
  to the bucket, confirm) and by the old app's proxy (multipart through
  Django, written to the bucket with django-storages), in rounds of two of
  each flow and size (``interleaved``);
- confirm's server-side latency at each size;
- one 5 MB upload from a phone sending at 1 Mbit/s by each flow: how long
  it held the worker; then the same through nginx buffering the request
  body in front of the worker (tests/support/nginx.py): how long it held
  the worker, the bytes through nginx and the worker, and those on nginx's
  disk.

Prints a table and writes $BENCH_OUTPUT/upload_cost.json (default: .bench/).
"""

from tests.support.bench_output import OUTPUT
from tests.support.upload_cost import GOALS, cost_stack, report, upload_cost


def test_server_cost_per_upload(tmp_path):
    with cost_stack(tmp_path) as stack:
        figures = upload_cost(stack, count=10)
    report(figures, OUTPUT)
    assert figures["direct_read_kib_max"] <= GOALS["direct_read_kib_max"]
