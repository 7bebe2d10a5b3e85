"""The rendition benchmark (tests/benchmarks/bench_renditions.py) at a tiny
size, so that it keeps working: every format is rendered in a process of
its own, and every rendition it made decodes."""

import json

from tests.support.rendition_cost import FORMATS, rendition_cost, report


def test_the_rendition_benchmark_runs(tmp_path, capsys):
    figures = rendition_cost(tmp_path, sizes=((400, 300),), repetitions=2)

    written = json.loads(report(figures, tmp_path / "bench").read_text())
    assert "Rendition worker" in capsys.readouterr().out
    assert [row["format"] for row in written["rows"]] == list(FORMATS)
    for row in written["rows"]:
        assert row["runs"] == 2 and row["megapixels"] == 0.12
        assert row["make_ms"]["min"] > 0 and row["read_ms"]["min"] > 0
        assert row["rss_before_mib"]["min"] > 10
        assert row["peak_mib"]["min"] >= row["rss_before_mib"]["min"]
