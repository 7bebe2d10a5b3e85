"""
200 clients upload at once through the production stack: gunicorn with the
production settings (2 workers × 8 threads), PostgreSQL, SeaweedFS and Redis,
started as tests/system/test_production_stack.py starts them (see tests/support/load.py).

Run with ``make bench``. Two shops, 10 staff each, 50 products each, two
uploads per product (so half of the confirms replace a photo confirmed a
moment before). The default throttles (UPLOADS_TICKET_RATE 120/hour and 20
open tickets per user) are not reached: each user makes 10 uploads, and any
429 counts as an error. Prints flows per second, p50 and p99 of each step
as the clients saw them, the errors, and each worker's peak resident memory
(VmHWM); then checks what tests/system/test_under_load.py checks at its smaller size.
"""

from tests.support.images import jpeg
from tests.support.load import (
    MIB,
    Report,
    add_sites,
    check_uploads,
    plan,
    production_stack,
    run_flows,
)

FLOWS = 200


def test_200_concurrent_uploads(tmp_path):
    with production_stack(tmp_path) as stack:
        idle = stack.worker_peaks()
        sites = add_sites(stack, "bench", staff=10, products=50)
        uploads = plan(sites, FLOWS, jpeg((1600, 1200)))

        # Clients retry a 503 after Retry-After, as the reference clients do
        # (a process sheds a store call beyond UPLOADS_STORE_CONCURRENCY when
        # no slot comes free within UPLOADS_STORE_WAIT): the errors printed.
        flows, seconds = run_flows(stack, uploads, retry_for=60)
        report = Report(flows, seconds, stack.worker_peaks(), stack.events(sites))
        print()
        print(report)
        print("  idle workers' peak RSS: " + ", ".join(f"{p / MIB:.1f} MiB" for p in idle.values()))

        assert set(report.errors()) <= {("confirm", 503, "storage_unavailable")}, report
        assert all(flow.confirmed for flow in flows), report
        print("  purge_uploads:", check_uploads(stack, sites))
