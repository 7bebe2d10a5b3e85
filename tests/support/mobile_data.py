"""What a phone on costly mobile data pays to look at the product list, to
upload a photo (issue 16) and to try an upload again, measured in real
Chromium against a live server in S3 mode, whatever the app does at the
time.

Used by tests/benchmarks/bench_mobile_data.py (`make bench`, 25 products of
12 MP photos) and, at a tiny size, by tests/system/test_mobile_data.py, so
that the benchmark keeps working.

The phone: 390×844 CSS pixels at DPR 2, touch; the network, emulated by
Chromium (CDP Network.emulateNetworkConditions): 1.6 Mbit/s down, 750 kbit/s
up, 150 ms round trip. The CPU is this machine's, not a phone's.

The site is filled as staff fill it: each photo is chosen in the product
page's picker (unthrottled), which shrinks and encodes it as the shipped
direct-upload.js does, and goes through ticket, POST to the bucket and
confirm. Bytes are counted on the browser's side: what CDP reports as
received (encodedDataLength: headers and body, 0 for a cache hit), and for
the upload what Chromium sent (headers and body of each request).
"""

import json
import time
from dataclasses import asdict, dataclass, field
from urllib.parse import urlsplit

from django.test import override_settings
from PIL import Image

from inventory.models import Product
from tests.support.bench_output import write_report
from tests.support.browser import (
    CHROMIUM,
    CHROMIUM_ARGS,
    CONFIRMS,
    PHONE,
    confirms_refused,
    log_in,
    new_page,
)
from tests.support.photos import PHONE_SIZE, phone_photo

KB = 1000
# The phone of issue 16.
PHONE_PROFILE = {**PHONE, "device_scale_factor": 2}
NETWORK = {
    "offline": False,
    "latency": 150,  # ms, round trip
    "downloadThroughput": 1_600_000 / 8,  # bytes/s
    "uploadThroughput": 750_000 / 8,
}
VIEW_TIMEOUT = 600_000  # ms
# Issue 16's goals, by figure; lower is better.
GOALS = {
    "first_view_bytes": 400 * KB,
    "first_view_seconds": 4.0,
    "second_view_bytes": 20 * KB,
    "second_view_seconds": 1.5,
    "upload_sent_bytes": 200 * KB,
}
LABELS = {
    "first_view": "First view of the product list",
    "second_view": "Second view, a moment later",
    "upload": "Upload of one photo (picker)",
    "try_again": "Try again after a lost confirm",
}


@dataclass
class Figures:
    products: int
    photo_size: tuple
    first_view_bytes: int = 0
    first_view_seconds: float = 0.0
    first_view_requests: int = 0
    second_view_bytes: int = 0
    second_view_seconds: float = 0.0
    second_view_requests: int = 0
    upload_sent_bytes: int = 0
    upload_store_post_bytes: int = 0
    upload_seconds: float = 0.0
    upload_content_type: str = ""
    upload_stored_size: list = field(default_factory=list)
    # The same photo's upload whose confirm failed, then "Try again": what
    # the tap sent, where choosing the photo again sends a whole upload.
    try_again_sent_bytes: int = 0
    try_again_store_post_bytes: int = 0
    try_again_seconds: float = 0.0
    try_again_requests: int = 0
    notes: list = field(default_factory=list)
    # The images each view shows, by URL: for checking the figures, not
    # reported (signed URLs).
    shown: dict = field(default_factory=dict, repr=False)

    def table(self):
        width, height = self.photo_size
        lines = [
            f"Mobile data, {self.products} products, photos of {width}×{height} "
            f"({width * height / 1e6:.1f} MP); phone 390×844 DPR 2, 1.6/0.75 Mbit/s, 150 ms",
            f"  {'':34} {'bytes':>10} {'goal':>10} {'seconds':>8} {'goal':>6}",
        ]
        for name, label in LABELS.items():
            sent = "sent_" if name in ("upload", "try_again") else ""
            size = getattr(self, f"{name}_{sent}bytes")
            seconds = getattr(self, f"{name}_seconds")
            size_goal = GOALS.get(f"{name}_{sent}bytes")
            seconds_goal = GOALS.get(f"{name}_seconds")
            lines.append(
                f"  {label:34} {kilobytes(size):>10} {kilobytes(size_goal):>10} "
                f"{seconds:8.1f} {seconds_goal or '':>6}   {self.verdict(name)}"
            )
        lines.append(
            f"  upload: stored as {self.upload_content_type} {self.upload_stored_size}, "
            f"POST to the store {kilobytes(self.upload_store_post_bytes)}"
        )
        lines.append(
            f"  try again: {self.try_again_requests} request(s), POST to the store "
            f"{kilobytes(self.try_again_store_post_bytes)} (choosing the photo again sends "
            f"the whole upload, {kilobytes(self.upload_sent_bytes)})"
        )
        lines += [f"  {note}" for note in self.notes]
        return "\n".join(lines)

    def verdict(self, name):
        goals = {key: goal for key, goal in GOALS.items() if key.startswith(name)}
        if not goals:
            return "(no goal)"
        missed = [key for key, goal in goals.items() if getattr(self, key) > goal]
        return "missed: " + ", ".join(missed) if missed else "goal met"

    def to_json(self):
        figures = asdict(self)
        del figures["shown"]
        return json.dumps({**figures, "goals": GOALS}, indent=2)


def report(figures, folder):
    """Print the table; write the figures and goals to
    ``folder``/mobile_data.json, and return its path."""
    return write_report(figures.table(), figures.to_json(), folder, "mobile_data")


def kilobytes(size):
    return "" if size is None else f"{size / KB:,.1f} KB"


# The images a page shows, decoded: the URL each was drawn from.
SHOWN_IMAGES = """() => [...document.images]
    .filter((image) => image.complete && image.naturalWidth > 0)
    .map((image) => image.currentSrc)"""


class NetworkLog:
    """What CDP's Network domain reports for one page: per request, bytes
    received and when it started and finished (Chromium's monotonic
    seconds).

    A request's bytes are what loadingFinished says it received
    (encodedDataLength: headers and body), or what arrived before it failed
    or was cancelled: the response's headers and each chunk of its body
    (responseReceived, dataReceived), which the phone paid for all the same.
    A response from the cache costs nothing, though its events give its
    size.
    A request that ended with no bytes and not from the cache is listed
    (``empty``): in one first view in twenty on one box, a thumbnail
    ended that way, and the view measured 8 KB less."""

    def __init__(self, page):
        self.session = page.context.new_cdp_session(page)
        self.requests = {}
        self.session.on("Network.requestWillBeSent", self.started)
        self.session.on("Network.requestServedFromCache", self.from_cache)
        self.session.on("Network.responseReceived", self.responded)
        self.session.on("Network.dataReceived", self.received)
        self.session.on("Network.loadingFinished", self.finished)
        self.session.on("Network.loadingFailed", self.failed)
        self.session.send("Network.enable")

    def throttle(self):
        self.session.send("Network.emulateNetworkConditions", NETWORK)

    def clear_cache(self):
        self.session.send("Network.clearBrowserCache")

    def request(self, event):
        return self.requests.setdefault(event["requestId"], {"arrived": 0})

    def started(self, event):
        self.request(event).update(url=event["request"]["url"], start=event["timestamp"])

    def from_cache(self, event):
        self.request(event)["cache"] = True

    def responded(self, event):
        response = event["response"]
        request = self.request(event)
        request["status"] = response["status"]
        request["cache"] = request.get("cache") or response.get("fromDiskCache", False)
        # The headers' bytes so far (encodedDataLength of a response).
        request["arrived"] += response.get("encodedDataLength", 0)

    def received(self, event):
        self.request(event)["arrived"] += event["encodedDataLength"]

    def finished(self, event):
        request = self.request(event)
        request.update(end=event["timestamp"], bytes=event["encodedDataLength"])
        if not request.get("cache"):
            request["bytes"] = max(request["bytes"], request["arrived"])

    def failed(self, event):
        request = self.request(event)
        # A response from the cache gives its size, which came over no network.
        request.update(
            end=event["timestamp"], bytes=0 if request.get("cache") else request["arrived"]
        )
        request["error"] = "cancelled" if event.get("canceled") else event["errorText"]

    def clear(self):
        self.requests = {}

    def largest(self, count=4):
        """The requests that received the most, as ``path (size)``."""
        done = sorted(
            (r for r in self.requests.values() if r.get("bytes")), key=lambda r: -r["bytes"]
        )
        return ", ".join(
            f"{urlsplit(r['url']).path} ({kilobytes(r['bytes'])})" for r in done[:count]
        )

    def empty(self):
        """The requests that ended with no bytes and not from the cache, as
        ``path (status or error)``."""
        return ", ".join(
            f"{urlsplit(r.get('url', '')).path} ({r.get('error') or r.get('status')})"
            for r in self.requests.values()
            if "end" in r and not r["bytes"] and not r.get("cache")
        )

    def totals(self):
        """Bytes received, seconds from the first request's start to the
        last one's end, and the number of requests."""
        done = [r for r in self.requests.values() if "start" in r and "end" in r]
        if not done:
            return 0, 0.0, 0
        seconds = max(r["end"] for r in done) - min(r["start"] for r in done)
        return sum(r["bytes"] for r in done), seconds, len(done)


class Picker:
    """The product page's picker: choose a photo, wait until it is saved."""

    def __init__(self, page, base_url):
        self.page = page
        self.base_url = base_url

    def open(self, product):
        self.page.goto(f"{self.base_url}/products/{product.pk}/")

    def choose(self, name, data, timeout=120_000):
        self.pick(name, data)
        self.wait_until_saved(timeout)

    def pick(self, name, data):
        self.page.set_input_files(
            ".picker .choose input",
            files=[{"name": name, "mimeType": "image/jpeg", "buffer": data}],
        )

    def wait_until_saved(self, timeout=120_000):
        # The picker's own words for "saved", in whatever language the page has.
        self.page.wait_for_function(
            """() => {
                const picker = document.querySelector('.picker');
                const done = JSON.parse(picker.querySelector('#picker-messages').textContent).done;
                return picker.querySelector('.status').textContent === done;
            }""",
            timeout=timeout,
        )


def fill_site(browser, live_server, site, staff, count, photo_size):
    """``count`` products, each with a photo chosen in its page's picker on
    an unthrottled desktop browser."""
    page = new_page(browser)
    try:
        log_in(page, live_server, staff.username)
        picker = Picker(page, live_server.url)
        stored = []
        for index in range(count):
            product = Product.objects.create(
                site_configuration=site, name=f"Produit {index + 1:02}", cug=f"P-{index + 1:02}"
            )
            picker.open(product)
            picker.choose(f"IMG_{index:04}.jpg", phone_photo(index, photo_size))
            product.refresh_from_db()
            stored.append(product.image.size)
    finally:
        page.context.close()
    return stored


def measure(playwright, live_server, site, staff, *, products, photo_size=PHONE_SIZE):
    """Fills the site, then measures the three figures on a throttled phone."""
    browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
    try:
        stored = fill_site(browser, live_server, site, staff, products, photo_size)
        figures = Figures(products=products, photo_size=photo_size)
        # The photos vary: the one uploaded is that of the median stored size.
        median = sorted(range(products), key=stored.__getitem__)[products // 2]
        figures.notes.append(
            f"stored photos: {kilobytes(min(stored))} to {kilobytes(max(stored))}, "
            f"{kilobytes(sum(stored))} in all; the upload is photo {median} again"
        )
        phone = new_page(browser, **PHONE_PROFILE)
        log_in(phone, live_server, staff.username)
        # Logging in lands on the list: its first view starts from an empty cache.
        phone.goto("about:blank")
        network = NetworkLog(phone)
        network.clear_cache()
        network.throttle()

        for view in ("first_view", "second_view"):
            network.clear()
            # Megabytes at 200 KB/s take minutes.
            phone.goto(f"{live_server.url}/", wait_until="load", timeout=VIEW_TIMEOUT)
            phone.wait_for_load_state("networkidle", timeout=VIEW_TIMEOUT)
            size, seconds, count = network.totals()
            setattr(figures, f"{view}_bytes", size)
            setattr(figures, f"{view}_seconds", round(seconds, 2))
            setattr(figures, f"{view}_requests", count)
            figures.shown[view] = phone.evaluate(SHOWN_IMAGES)
            figures.notes.append(
                f"{view}: {count} requests, {len(figures.shown[view])} images shown; "
                f"largest: {network.largest()}"
            )
            if empty := network.empty():
                figures.notes.append(f"{view}: ended with no bytes: {empty}")
            time.sleep(1)  # "a moment later"

        measure_upload(phone, live_server, site, figures, median, photo_size)
        phone.context.close()
        return figures
    finally:
        browser.close()


def measure_upload(phone, live_server, site, figures, index, photo_size):
    """One more photo through the picker on the throttled phone: bytes of
    every request Chromium sent meanwhile, and seconds from choosing the
    photo to the picker's "saved".

    Its confirm queues the renditions as production does, in the task table
    for a worker: the tests run tasks as they are queued, which would make
    the phone wait for them too (a few tenths of a second)."""
    with override_settings(TASKS={"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}):
        upload_through_picker(phone, live_server, site, figures, index, photo_size)
        try_again_through_picker(phone, live_server, site, figures, index, photo_size)


def request_bytes(request):
    """What Chromium sent for ``request``: its headers and body. Playwright's
    requestBodySize misses a FormData's file part: the Content-Length
    Chromium sent says what the body was."""
    sizes = request.sizes()
    body = int(request.all_headers().get("content-length", 0))
    return sizes["requestHeadersSize"] + max(body, sizes["requestBodySize"])


def to_the_store(request):
    """Whether ``request`` is the photo's POST to the bucket."""
    return request.method == "POST" and "/api/" not in request.url


def try_again_through_picker(phone, live_server, site, figures, index, photo_size):
    """The same photo again, for another product, whose confirm the server
    refuses for a while (``confirms_refused``). Then the tap on "Try
    again": the requests sent from it to "saved", and their bytes."""
    product = Product.objects.create(site_configuration=site, name="Encore", cug="P-AGAIN")
    picker = Picker(phone, live_server.url)
    picker.open(product)
    confirms_refused(phone)
    picker.pick("again.jpg", phone_photo(index, photo_size))
    retry = phone.locator(".picker .retry")
    retry.wait_for(state="visible", timeout=120_000)
    phone.unroute(CONFIRMS)
    sent = []

    def keep(request):
        sent.append(request)

    phone.on("requestfinished", keep)
    started = time.monotonic()
    retry.click()
    picker.wait_until_saved()
    figures.try_again_seconds = round(time.monotonic() - started, 2)
    phone.remove_listener("requestfinished", keep)
    figures.try_again_sent_bytes = sum(request_bytes(request) for request in sent)
    figures.try_again_store_post_bytes = sum(
        request_bytes(request) for request in sent if to_the_store(request)
    )
    figures.try_again_requests = len(sent)
    product.refresh_from_db()
    assert product.image, "the photo tried again is attached"


def upload_through_picker(phone, live_server, site, figures, index, photo_size):
    product = Product.objects.create(site_configuration=site, name="Nouveau", cug="P-NEW")
    picker = Picker(phone, live_server.url)
    picker.open(product)
    photo = phone_photo(index, photo_size)
    sent = []

    def keep(request):
        sent.append(request)

    phone.on("requestfinished", keep)
    started = time.monotonic()
    picker.choose(f"IMG_{index:04}.jpg", photo)
    figures.upload_seconds = round(time.monotonic() - started, 2)
    phone.remove_listener("requestfinished", keep)
    for request in sent:
        total = request_bytes(request)
        figures.upload_sent_bytes += total
        if to_the_store(request):
            figures.upload_store_post_bytes += total
    product.refresh_from_db()
    with product.image.open("rb") as stored, Image.open(stored) as image:
        figures.upload_content_type = Image.MIME[image.format]
        figures.upload_stored_size = [*image.size]
    figures.notes.append(f"the original picked: {kilobytes(len(photo))} of JPEG")
