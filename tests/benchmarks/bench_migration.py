"""
``migrate_images_to_multisite`` on 2,000 legacy objects of 100 KB in
SeaweedFS, four copies at a time: server-side copy (the command) against
download and re-upload; objects per second and image bytes through the
process (see tests/support/migration_cost.py).

Prints a table and writes $BENCH_OUTPUT/migration.json (default: .bench/).
"""

import os
from pathlib import Path

import pytest

from tests.support.migration_cost import migration_cost, report

OUTPUT = Path(os.environ.get("BENCH_OUTPUT", Path(__file__).resolve().parents[2] / ".bench"))


@pytest.mark.django_db(transaction=True)
def test_migration_by_server_side_copy(s3_bucket, s3_client, sites):
    figures = migration_cost(s3_client, s3_bucket, sites)
    report(figures, OUTPUT)
    assert figures["server_side_image_bytes"] == 0
