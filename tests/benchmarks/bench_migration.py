"""
``migrate_images_to_multisite`` on legacy objects in SeaweedFS, as many
copies at a time as the store's guard allows (``UPLOADS["STORE_CONCURRENCY"]``):
server-side copy (the command) against the same command downloading and
re-uploading each object; on loopback, then through a 100 Mbit/s link with
a 2 ms round trip (tests/support/link.py). Two row sets: 2,000 objects of
100 KB, and 300 of 2 MB, the size of a phone's photo (see ``ROW_SETS``).
Objects per second, store requests per object, and image bytes through the
process (see tests/support/migration_cost.py).

Prints a table and writes $BENCH_OUTPUT/migration.json (default: .bench/).
"""

import pytest

from tests.support.bench_output import OUTPUT
from tests.support.migration_cost import migration_cost, report


@pytest.mark.django_db(transaction=True)
def test_migration_by_server_side_copy(s3_bucket, s3_client, settings):
    figures = migration_cost(s3_client, s3_bucket, settings=settings)
    report(figures, OUTPUT)
    assert figures["server_side_image_bytes"] == 0
