"""The ticket benchmark (tests/benchmarks/bench_tickets.py) at a smoke size:
wrk for a second against each endpoint on the production stack, so that the
benchmark keeps working. Checks that it ran and gave figures, not its goals."""

from tests.support.load import add_sites, production_stack
from tests.support.ticket_load import measure, report


def test_ticket_benchmark_runs_and_gives_figures(tmp_path):
    with production_stack(
        tmp_path, UPLOADS_TICKET_RATE="1000000/hour", GUNICORN_CMD_ARGS="--max-requests 0"
    ) as stack:
        (site,) = add_sites(stack, "smoke", sites=1, staff=20, products=5)
        figures = measure(stack, site, seconds=1, rounds=2, connections=4, workdir=tmp_path)
        workers = len(stack.worker_pids())
        path = report(figures, tmp_path / "bench")

    assert path.exists()
    for run in (figures.site, figures.ticket):
        assert run.requests > 0 and run.non_2xx == 0 and run.socket_errors == 0, figures.table()
    assert figures.throughput_ratio > 0 and figures.p99_ratio > 0
    assert figures.ticket_app_ms, "no ticket events logged"
    assert len(figures.round_ratios) == len(figures.rounds) == 2
    assert all(one["site_cpu_ms"] > 0 and one["ticket_cpu_ms"] > 0 for one in figures.rounds)
    assert figures.site.app_cpu_s > 0 and figures.ticket.app_cpu_s > 0
    # gunicorn.conf.py's workers, evenly loaded or not.
    for run in (*figures.site_rounds, *figures.ticket_rounds):
        assert 1 / workers <= run.busiest_worker_share + 1e-9 <= 1 + 1e-9
    assert figures.site.db_cpu_s > 0 and figures.ticket.db_cpu_s > 0
    # The whole box counts the workers and PostgreSQL, and more.
    for run in (figures.site, figures.ticket):
        assert run.box_cpu_s > run.app_cpu_s + run.db_cpu_s
        assert 0 <= run.iowait_share <= run.idle_share < 1
