"""The migration benchmark (tests/benchmarks/bench_migration.py) at a tiny
size, so that it keeps working; and its counts: no image byte goes through
the process that migrates by server-side copy, while download and re-upload
carries each object twice; a server-side copy costs a request, and a few
listings, on loopback as through the link, whatever the objects' size."""

import json

import pytest

from tests.support.migration_cost import migration_cost, report

ROW_SETS = ((20, 10_000), (5, 100_000))


@pytest.mark.django_db(transaction=True)
def test_the_migration_benchmark_runs(s3_bucket, s3_client, settings, tmp_path, capsys):
    figures = migration_cost(s3_client, s3_bucket, row_sets=ROW_SETS, settings=settings)

    written = json.loads(report(figures, tmp_path / "bench").read_text())
    out = capsys.readouterr().out
    assert "20 objects of 10,000 bytes" in out and "5 objects of 100,000 bytes" in out
    assert written["server_side_image_bytes"] == 0
    for (count, size), rows in zip(ROW_SETS, written["row_sets"], strict=True):
        assert (rows["objects"], rows["object_size"]) == (count, size)
        for where in ("loopback", "link"):
            run = rows[where]
            assert run["download_and_upload"]["image_bytes"] == 2 * count * size
            assert run["server_side_copy"]["image_bytes"] == 0
            assert run["server_side_copy"]["socket_bytes_per_object"] < 10_000
            assert run["download_and_upload"]["socket_bytes_per_object"] > 2 * size
            assert run["server_side_copy"]["store_requests"]["CopyObject"] == count
            assert "HeadObject" not in run["server_side_copy"]["store_requests"]
            assert run["server_side_copy"]["objects_per_s"] > 0
