"""The mobile-data benchmark (tests/benchmarks/bench_mobile_data.py) at a
tiny size, so that it keeps working: it measures what it says it does."""

from inventory.models import Product
from tests.support.browser import serve_from_bucket
from tests.support.mobile_data import Figures, measure


def test_the_mobile_data_benchmark_runs(
    playwright, live_server, seaweedfs, s3_bucket, transactional_db, sites, make_user, settings
):
    settings.DEBUG = True
    serve_from_bucket(seaweedfs, s3_bucket, live_server)
    site = sites[0]

    figures = measure(
        playwright, live_server, site, make_user("staff", site), products=2, photo_size=(800, 600)
    )

    print(figures.table())
    products = Product.objects.filter(site_configuration=site)
    assert products.count() == 3 and all(product.image for product in products)
    # The list's page, its assets and the two photos came over the network;
    first = figures.first_view_bytes
    assert figures.first_view_requests >= 3 and figures.first_view_seconds > 0.15
    photos = sum(product.image.size for product in products.exclude(cug="P-NEW"))
    assert first > photos
    # a moment later, at least the page (more while image URLs change).
    assert 0 < figures.second_view_bytes <= first
    # All of the stored photo went up, and what came with it is counted too.
    new = products.get(cug="P-NEW")
    assert figures.upload_sent_bytes > figures.upload_store_post_bytes > new.image.size
    assert figures.upload_seconds > 0.3, "three round trips of 150 ms at least"
    assert Figures(**{**vars(figures)}).to_json() == figures.to_json()
