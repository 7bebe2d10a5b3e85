"""
The production stack (gunicorn with the production settings, PostgreSQL,
SeaweedFS, Redis; see tests/support/load.py) under concurrent uploads, large photos,
decompression bombs, and a store killed in the middle of it all.

The load is a smoke size of what ``make bench`` measures
(tests/benchmarks/bench_load.py): enough clients at once to make the
database locks, the store and gunicorn's threads contend.
"""

import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from tests.support.images import (
    jpeg,
    jpeg_declaring,
    jpeg_of_size,
    png_header_only,
    png_with_text_bomb,
    webp_declaring,
)
from tests.support.load import (
    MIB,
    STORE_DOWN,
    Report,
    Work,
    add_sites,
    check_uploads,
    plan,
    production_stack,
    run_flows,
)

# A shop whose cameras write 20 MB photos raises the limit.
MAX_SIZE = 25 * MIB
# How far above its peak under ordinary uploads a worker may go while it
# confirms 20 MB photos and bombs: confirm reads 64 KiB of each object, so
# the bound is about the Python heap's slack, not the files. Holding one of
# those photos in memory, or decoding it, would take 20 to 55 MB each.
MEMORY_BOUND = 16 * MIB


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    workdir = tmp_path_factory.mktemp("stack")
    with production_stack(workdir, UPLOADS_MAX_SIZE=str(MAX_SIZE)) as running:
        yield running


def test_concurrent_uploads_attach_one_object_per_product_and_leave_nothing(stack):
    """Two shops' staff upload at once, two uploads for each product. The
    default throttles (UPLOADS_TICKET_RATE 120/hour, 20 open tickets per
    user) are not reached by this load: any 429 is an error here."""
    sites = add_sites(stack, "smoke", staff=4, products=10)
    uploads = plan(sites, 40, jpeg((640, 480)))

    # Clients retry a 503 after Retry-After, as the reference clients do: a
    # process sheds the store calls beyond UPLOADS_STORE_CONCURRENCY that
    # wait longer than UPLOADS["STORE_WAIT"] for a slot (uploads.guard).
    flows, seconds = run_flows(stack, uploads, retry_for=60)
    report = Report(flows, seconds, stack.worker_peaks(), stack.events(sites))
    print(report)

    shed = ("confirm", 503, "storage_unavailable")
    assert set(report.errors()) <= {shed}, report
    assert all(flow.confirmed for flow in flows), report
    print("purge_uploads:", check_uploads(stack, sites))
    outcomes = Counter((e["event"], e["outcome"]) for e in report.events)
    assert outcomes[("ticket", "issued")] == outcomes[("confirm", "confirmed")] == 40
    assert set(outcomes) <= {("ticket", "issued"), ("confirm", "confirmed"), shed[::2]}


BOMBS = [
    (png_header_only(50_000, 50_000), "image/png", "image_too_large"),
    # 20 MB whose header declares 50000×50000: neither read nor decoded.
    (png_header_only(50_000, 50_000) + bytes(20_000_000), "image/png", "image_too_large"),
    (jpeg_declaring(65_000, 65_000), "image/jpeg", "image_too_large"),
    (webp_declaring(16_384, 16_384), "image/webp", "image_too_large"),
    # 58 KB whose text chunk inflates to 60 MB.
    (png_with_text_bomb(60_000_000), "image/png", "invalid_image"),
]


def test_large_photos_and_bombs_keep_a_worker_within_its_memory(stack):
    """One worker of 8 threads (every request lands in it) first serves
    ordinary uploads on all its threads: its peak then is the baseline.
    Eight 20 MB photos and five decompression bombs confirmed at once must
    keep it within MEMORY_BOUND of that; the bombs are refused."""
    stack.restart_app(GUNICORN_WORKERS="1")
    (site,) = add_sites(stack, "memory", sites=1, staff=2, products=8)
    flows, _ = run_flows(stack, plan([site], 24, jpeg((640, 480))), retry_for=60)
    assert all(flow.confirmed for flow in flows), flows
    (baseline,) = stack.worker_peaks().values()

    photo = jpeg_of_size(20)
    bombs = [Work(site, site.tokens[0], site.products[0], *bomb[:2]) for bomb in BOMBS]
    flows, _ = run_flows(stack, plan([site], 8, photo) + bombs, retry_for=60)
    (peak,) = stack.worker_peaks().values()
    print(
        f"worker peak RSS: {baseline / MIB:.1f} MiB after 24 ordinary uploads, "
        f"{peak / MIB:.1f} MiB after 8 photos of {len(photo) / 1e6:.1f} MB and "
        f"{len(BOMBS)} bombs (bound: baseline + {MEMORY_BOUND // MIB} MiB)"
    )

    photos, refused = flows[:8], flows[8:]
    assert all(flow.result and flow.result["width"] == 4850 for flow in photos), photos
    answers = [(flow.steps[-1].status, flow.steps[-1].code) for flow in refused]
    assert answers == [(422, code) for _, _, code in BOMBS]
    assert peak <= baseline + MEMORY_BOUND
    incoming = {flow.ticket["upload"]["fields"]["key"] for flow in refused}
    assert not stack.wait_until_deleted(incoming), "a refused upload was left in the bucket"


def test_store_killed_and_restarted_during_100_uploads(stack):
    """SeaweedFS is killed (SIGKILL) once a quarter of 100 uploads are
    confirmed, and started again on the same data and ports. Clients retry
    as the README's "Failure behaviour" says. Every upload ends confirmed,
    having met only retryable errors on the way; nothing is attached twice
    or missing, and nothing unreferenced is left once purge_uploads has run."""
    sites = add_sites(stack, "restart", staff=5, products=25)
    uploads = plan(sites, 100, jpeg((640, 480)))
    confirmed = []
    finished = threading.Event()
    crash = {}

    def kill_and_restart():
        while len(confirmed) < 25 and not finished.is_set():
            time.sleep(0.01)
        crash["confirmed before"] = len(confirmed)
        killed = time.monotonic()
        stack.store.kill()
        health = requests.get(f"{stack.origin}/healthz", timeout=10)
        crash["healthz"] = (health.status_code, health.json()["checks"])
        time.sleep(max(0, killed + 2 - time.monotonic()))
        stack.store.start()
        crash["seconds down"] = round(time.monotonic() - killed, 1)
        crash["confirmed when back"] = len(confirmed)

    with ThreadPoolExecutor(1) as background:
        crasher = background.submit(kill_and_restart)
        try:
            flows, seconds = run_flows(
                stack, uploads, threads=10, retry_for=120, on_confirmed=confirmed.append
            )
        finally:
            finished.set()
        crasher.result()
    report = Report(flows, seconds, stack.worker_peaks(), stack.events(sites))
    print(report, crash, sep="\n")

    assert crash["confirmed before"] < len(uploads), "the store died after the run"
    # What a load balancer saw while the store was down.
    assert crash["healthz"][0] == 503
    assert crash["healthz"][1]["database"] == "ok" and crash["healthz"][1]["storage"] != "ok"
    assert [flow for flow in flows if not flow.confirmed] == []
    met = report.errors()
    assert met, "no client noticed the store was down"
    assert all(is_retryable(*error) for error in met), report
    print("purge_uploads:", check_uploads(stack, sites))


def is_retryable(step, status, code):
    """What a store that is down or starting may cause: the bucket refuses
    the POST or answers 5xx; confirm answers 503 storage_unavailable, or
    409 upload_missing if an upload was lost with it. A confirm may also
    meet a reset connection: gunicorn closes a kept-alive connection after
    2 s idle, and a client that waited out Retry-After on it can send just
    as it closes; clients retry network errors on every step."""
    if step == "post":
        return status == STORE_DOWN or status >= 500
    return step == "confirm" and (
        status == STORE_DOWN
        or (status, code)
        in {
            (503, "storage_unavailable"),
            (409, "upload_missing"),
        }
    )
