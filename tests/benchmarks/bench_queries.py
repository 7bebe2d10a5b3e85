"""
Issue 17, item 5: SQL queries per ticket and per confirm on the production
stack, authentication included, with 0, 1,000 and 10,000 other sites (each
with a staff member, a product and an open ticket), against the trivial
``GET /api/site/`` (tests/support/query_counts.py). Goals: at most 3 per
ticket and 6 per confirm, the same at every size; printed, not asserted
(``tests/uploads/test_query_counts.py`` asserts them).

Run with ``make bench``; writes $BENCH_OUTPUT/queries.json.
"""

from tests.support.bench_output import OUTPUT
from tests.support.load import production_stack
from tests.support.query_counts import query_counts, report

SIZES = (0, 1_000, 10_000)


def test_queries_per_request(tmp_path):
    with production_stack(tmp_path) as stack:
        counts = query_counts(stack, SIZES)
    report(counts, OUTPUT)
