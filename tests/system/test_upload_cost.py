"""The upload-cost benchmark (tests/benchmarks/bench_upload_cost.py) at a
tiny size, so that it keeps working; and the bounds that are counts, not
timings: what the server reads per direct upload does not grow with the
file, and behind a buffering nginx the proxy's bytes still cross the server
twice and land on nginx's disk, the direct flow's not at all."""

import json

from tests.support.upload_cost import (
    INSPECTION_READ_BOUND,
    ROUND,
    cost_stack,
    failed_tasks,
    overlapped_confirms,
    report,
    settle,
    upload_cost,
    worker_threads,
)

SIZES = (100_000, 2_000_000)


def test_the_upload_cost_benchmark_runs(tmp_path, capsys):
    with cost_stack(tmp_path) as stack:
        # Two rounds of uploads (ROUND each), whose runs are added up.
        figures = upload_cost(
            stack, sizes=SIZES, count=2 * ROUND, slow_size=100_000, slow_rate=250_000
        )
        # A sync worker, as the figures say: gunicorn.conf.py's threads
        # would make it a gthread one.
        assert worker_threads(stack) == 1
        # Each confirm was timed alone: every task queued before it (the
        # previous confirm's deletes and renditions) had finished when it
        # attached its upload. And every task succeeded.
        settle(stack)
        assert overlapped_confirms(stack) == 0
        assert failed_tasks(stack) == []

    written = json.loads(report(figures, tmp_path / "bench").read_text())
    assert "Server cost per upload" in capsys.readouterr().out
    assert [row["size"] for row in written["by_size"]] == list(SIZES)
    assert 0 < written["floor_cpu_p50_ms"] < written["site_read_cpu_p50_ms"]
    assert written["two_floors_over_proxy_cpu_1mb"] > 0
    for row in written["by_size"]:
        assert row["direct_cpu_ms"] > 0 and row["proxy_cpu_ms"] > 0
        # Each request's CPU, to the nanosecond: a ticket and a confirm each
        # cost more than a call that does nothing, and make the flow's.
        ticket, confirm = row["direct_ticket_cpu_p50_ms"], row["direct_confirm_cpu_p50_ms"]
        assert ticket > written["floor_cpu_p50_ms"] and confirm > written["floor_cpu_p50_ms"]
        assert row["direct_cpu_ms"] >= min(ticket, confirm) * 2
        assert row["proxy_proxy_cpu_p50_ms"] > 0
        # The proxy reads the file through the worker; the direct flow
        # reads the inspection's first bytes, whatever the size.
        assert row["proxy_read_kib"] * 1024 > row["size"]
        assert row["direct_read_kib"] * 1024 <= INSPECTION_READ_BOUND
        assert row["store_copy_p50_ms"] > 0 and row["ranged_get_p50_ms"] > 0
        # Each confirm's log line gives its waits on the store, part of its
        # time in the app (whole milliseconds, its waits to a tenth).
        assert row["confirm_store_p50_ms"] > 0 and row["confirm_less_store_p50_ms"] > -1
        assert len(row["confirm_ms"]) == 2 * ROUND
    # The slow phone held the worker for its whole upload through the
    # proxy (0.4 s at this rate), not through the direct flow.
    slow = written["slow_phone"]
    assert slow["proxy_held_ms"] >= 350
    assert slow["direct_held_ms"] < slow["proxy_held_ms"]

    # Behind nginx the proxy holds the worker only once the body is in:
    # not for the phone's 0.4 s. But nginx received the file, wrote it to
    # its disk, and sent it to the worker, which sent it to the bucket.
    behind = slow["behind_nginx"]
    assert behind["proxy"]["held_ms"] < 350
    for key in ("nginx_received_kib", "nginx_sent_kib", "nginx_disk_kib", "read_kib"):
        assert behind["proxy"][key] * 1024 >= 100_000, key
    assert behind["proxy"]["written_kib"] * 1024 >= 100_000
    # The direct flow's photo goes to the bucket: nginx carries the ticket
    # and the confirm, in memory.
    assert behind["direct"]["nginx_disk_kib"] == 0
    assert behind["direct"]["nginx_received_kib"] * 1024 < 16 * 1024
    assert behind["direct"]["read_kib"] * 1024 <= INSPECTION_READ_BOUND
