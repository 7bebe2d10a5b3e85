"""The mobile-data benchmark (tests/benchmarks/bench_mobile_data.py) at a
tiny size, so that it keeps working: it measures what it says it does."""

import json
from urllib.parse import urljoin

import requests

from inventory.models import Product
from tests.support.browser import serve_from_bucket
from tests.support.mobile_data import GOALS, LABELS, measure, report


def test_the_mobile_data_benchmark_runs(
    playwright,
    live_server,
    seaweedfs,
    s3_bucket,
    transactional_db,
    sites,
    make_user,
    settings,
    tmp_path,
    capsys,
):
    settings.DEBUG = True
    serve_from_bucket(seaweedfs, s3_bucket, live_server)
    site = sites[0]

    figures = measure(
        playwright, live_server, site, make_user("staff", site), products=2, photo_size=(800, 600)
    )

    written = json.loads(report(figures, tmp_path / "bench").read_text())
    table = capsys.readouterr().out
    products = Product.objects.filter(site_configuration=site)
    assert products.count() == 4 and all(product.image for product in products)
    # The list's page, its assets and the two images it shows came over the
    # network, whatever images the list uses;
    first = figures.first_view_bytes
    assert figures.first_view_requests >= 3 and figures.first_view_seconds > 0.15
    shown = figures.shown["first_view"]
    assert len(shown) == 2
    assert first > sum(len(requests.get(urljoin(live_server.url, url)).content) for url in shown)
    # a moment later, at least the page (more while image URLs change).
    assert 0 < figures.second_view_bytes <= first
    # All of the stored photo went up, and what came with it is counted too.
    new = products.get(cug="P-NEW")
    assert figures.upload_sent_bytes > figures.upload_store_post_bytes > new.image.size
    assert figures.upload_seconds > 0.3, "three round trips of 150 ms at least"
    # "Try again" after a failed confirm sends the confirm, not the photo.
    again = products.get(cug="P-AGAIN")
    assert again.image and figures.try_again_requests >= 1
    assert figures.try_again_store_post_bytes == 0
    assert 0 < figures.try_again_sent_bytes < figures.upload_store_post_bytes
    # What the lead compares: every figure, in the table and in the JSON.
    assert written["goals"] == GOALS
    for key in GOALS:
        assert written[key] == getattr(figures, key)
    for label in LABELS.values():
        assert label in table
