"""The mobile-data benchmark (tests/benchmarks/bench_mobile_data.py) at a
tiny size, so that it keeps working: it measures what it says it does."""

import json
from types import SimpleNamespace
from urllib.parse import urljoin

import requests

from inventory.models import Product
from tests.support.browser import serve_from_bucket
from tests.support.mobile_data import GOALS, LABELS, NetworkLog, measure, report


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
    images = sum(len(requests.get(urljoin(live_server.url, url)).content) for url in shown)
    assert first > images
    # a moment later, the page, and the images from the cache unless their
    # URLs changed meanwhile (at the turn of UPLOADS["URL_WINDOW"]).
    if figures.shown["second_view"] == shown:
        assert 0 < figures.second_view_bytes < first - images
    else:
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
    assert f"first_view: {figures.first_view_requests} requests, 2 images shown" in table


class CdpSession:
    """A CDP session that sends the events a test gives it."""

    def __init__(self):
        self.handlers = {}

    def on(self, event, handler):
        self.handlers[event] = handler

    def send(self, method, params=None):
        pass

    def emit(self, event, request_id, **params):
        self.handlers[f"Network.{event}"]({"requestId": request_id, **params})


def test_the_bytes_a_phone_paid_for_are_counted_however_a_request_ends():
    session = CdpSession()
    network = NetworkLog(
        SimpleNamespace(context=SimpleNamespace(new_cdp_session=lambda page: session))
    )
    for request in "abcdef":
        session.emit(
            "requestWillBeSent",
            request,
            request={"url": f"http://s3/{request}.webp"},
            timestamp=1.0,
        )
    response = {"status": 200, "encodedDataLength": 400}
    # a: as Chromium reports it nearly always.
    session.emit("responseReceived", "a", response=response)
    session.emit("dataReceived", "a", encodedDataLength=1000)
    session.emit("loadingFinished", "a", encodedDataLength=1400, timestamp=2.0)
    # b: received, then reported as nothing at its end.
    session.emit("responseReceived", "b", response=response)
    session.emit("dataReceived", "b", encodedDataLength=1000)
    session.emit("loadingFinished", "b", encodedDataLength=0, timestamp=2.0)
    # c: cancelled halfway.
    session.emit("responseReceived", "c", response=response)
    session.emit("dataReceived", "c", encodedDataLength=500)
    session.emit("loadingFailed", "c", canceled=True, errorText="", timestamp=2.0)
    # d: failed before a byte came; e: nothing reported at all.
    session.emit("loadingFailed", "d", errorText="net::ERR_FAILED", timestamp=2.0)
    session.emit("responseReceived", "e", response={**response, "encodedDataLength": 0})
    session.emit("loadingFinished", "e", encodedDataLength=0, timestamp=2.0)
    # f: from the cache, which costs nothing, though its response gives its size.
    session.emit("requestServedFromCache", "f")
    session.emit("responseReceived", "f", response=response)
    session.emit("dataReceived", "f", encodedDataLength=1000)
    session.emit("loadingFinished", "f", encodedDataLength=0, timestamp=2.5)

    assert network.totals() == (1400 + 1400 + 900, 1.5, 6)
    assert network.empty() == "/d.webp (net::ERR_FAILED), /e.webp (200)"
    assert network.largest(2) == "/a.webp (1.4 KB), /b.webp (1.4 KB)"
