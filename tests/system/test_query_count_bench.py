"""The query-count benchmark (tests/benchmarks/bench_queries.py) at a smoke
size, so that it keeps working; its counts are exact, so their being the
same at both sizes is checked here too."""

import json

from tests.support.load import production_stack
from tests.support.query_counts import REQUESTS, query_counts, report


def test_the_query_count_benchmark_runs(tmp_path, capsys):
    with production_stack(tmp_path) as stack:
        counts = query_counts(stack, (0, 30))

    written = json.loads(report(counts, tmp_path / "bench").read_text())
    assert "SQL queries per request" in capsys.readouterr().out
    assert [row["rows"] for row in written["by_rows"]] == [0, 30]
    assert all(row[name] > 0 for row in written["by_rows"] for name in REQUESTS)
    assert written["constant"] is True, counts.table()
