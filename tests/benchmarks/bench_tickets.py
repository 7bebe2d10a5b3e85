"""
Issue 17, item 1: what a ticket costs against the trivial authenticated
endpoint (``GET /api/site/``) on the production shape: gunicorn with
gunicorn.conf.py, PostgreSQL, SeaweedFS, Redis, DEBUG off (tests/support/load.py),
with ``wrk`` at 16 connections, both endpoints in the same run, in
alternating rounds
(tests/support/ticket_load.py).

Run with ``make bench``. 500 staff of one shop take turns (each has 20 open
tickets at most: enough for the whole run), the ticket rate is lifted so that
no request is throttled. Prints the table and writes $BENCH_OUTPUT/tickets.json
(default: .bench/ in the repository). Goals: tickets reach 0.7 of the site
endpoint's throughput, with a p99 at most twice its p99; printed, not
asserted, so that it can be run before and after a change.
"""

from tests.support.bench_output import OUTPUT
from tests.support.load import add_sites, production_stack
from tests.support.ticket_load import measure, report

# Five alternating rounds of 5 s for each endpoint (tests/support/ticket_load.py).
SECONDS = 5
ROUNDS = 5


def test_tickets_against_the_site_endpoint(tmp_path):
    # Workers not recycled (gunicorn.conf.py's max_requests): a restart
    # would land in one endpoint's round, and end its workers' CPU count.
    with production_stack(
        tmp_path, UPLOADS_TICKET_RATE="1000000/hour", GUNICORN_CMD_ARGS="--max-requests 0"
    ) as stack:
        (site,) = add_sites(stack, "tickets", sites=1, staff=500, products=50)
        figures = measure(stack, site, seconds=SECONDS, rounds=ROUNDS, workdir=tmp_path)
        report(figures, OUTPUT)
        assert figures.ticket.non_2xx == 0 and figures.site.non_2xx == 0, figures.table()
