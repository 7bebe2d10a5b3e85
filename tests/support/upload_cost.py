"""
What one upload costs the server, direct against proxy, for
tests/benchmarks/bench_upload_cost.py and its smoke test.

One gunicorn sync worker (``cost_stack``) serves the production settings
plus the old app's proxy upload (``tests.support.proxy_upload``). Its CPU
seconds are read from its process CPU clock before and after each request
(``idle_worker_cpu``), and the bytes it reads and writes through its
sockets (``tests.support.socket_bytes``) before and after each run of
uploads, made one at a time. How long a request held
the worker is gunicorn's own figure (``duration_ms`` of its access log).
The slow phone's uploads are made again through a buffering nginx in front
of the same worker (``tests.support.nginx``), whose access log gives the
bytes it carried and those it wrote to its disk.

Each measured request to the worker is made once the ``db_worker`` has run
every task due (``settle``): a confirm queues one (its deletes, its
renditions, which read the whole original), which, left to run beside the
next upload's confirm on the same cores and store, added to that confirm's
latency, the more so the larger the file. The worker's CPU is its own
either way.
"""

import base64
import hashlib
import json
import statistics
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

import requests
from urllib3 import encode_multipart_formdata

from tests.support.bench_output import write_report
from tests.support.load import DUE_TASKS, production_stack
from tests.support.nginx import buffering_proxy

KIB = 1024
# What the worker may read per direct upload, whatever the size (issue 17's
# goal): the inspection's first bytes (UPLOADS_INSPECT_BYTES, 48 KiB) and the
# requests, database and store answers around them.
INSPECTION_READ_BOUND = 64 * KIB
# What confirm's ranged GET asks for: UPLOADS["INSPECT_BYTES"], its default.
INSPECT_BYTES = 48 * KIB
# How long the db_worker may go without finishing a task before ``settle``
# gives up: one upload's task takes well under a second.
SETTLE_TIMEOUT = 60


@contextmanager
def cost_stack(workdir):
    """The production stack on one gunicorn sync worker, the proxy upload
    added to its URLconf. ``--threads 1``: gunicorn.conf.py asks for 8, and
    gunicorn then runs a sync worker as a gthread one, whose slow upload
    holds a thread rather than the worker (and whose hand-offs between
    threads cost CPU of their own)."""
    with production_stack(
        workdir,
        DJANGO_SETTINGS_MODULE="tests.support.proxy_settings",
        GUNICORN_CMD_ARGS="--worker-class sync --threads 1 --workers 1 --timeout 300",
    ) as stack:
        yield stack


def worker_pid(stack):
    (pid,) = stack.worker_pids()
    return pid


def settle(stack, timeout=SETTLE_TIMEOUT):
    """Wait until the ``db_worker`` has run every task that is due, those
    the previous confirm queued among them, so that the next request is
    timed alone: those tasks run on the same cores and against the same
    store. Fails, naming what is left, if the queue stops going down for
    ``timeout`` seconds."""
    if not stack.wait_until_idle(timeout):
        left = stack.query(DUE_TASKS.replace("count(*)", "task_path, status"))
        raise AssertionError(f"the worker's tasks did not finish in {timeout} s: {left}")


def failed_tasks(stack):
    """The worker's tasks that failed, by task: (path, count) pairs."""
    return stack.query(
        "SELECT task_path, count(*) FROM django_tasks_database_dbtaskresult"
        " WHERE status = 'FAILED' GROUP BY task_path"
    )


def overlapped_confirms(stack):
    """Confirms that attached their upload while a task queued before them
    had not finished: none, when each waited for the worker (``settle``)."""
    return stack.query(
        "SELECT count(DISTINCT c.id) FROM uploads_uploadticket c"
        " JOIN django_tasks_database_dbtaskresult t ON t.enqueued_at < c.confirmed_at"
        " WHERE t.finished_at IS NULL OR t.finished_at > c.confirmed_at"
    )[0][0]


def worker_cpu(pid):
    """The CPU seconds process ``pid`` has run so far, to the nanosecond:
    its CPU-time clock (``clock_getcpuclockid(3)``'s, which Python does not
    wrap: the id is the kernel's encoding of a process's scheduler clock),
    its threads that ended included (boto3's transfer threads, which make
    the proxy's upload to the bucket). /proc/<pid>/stat counts in ticks of
    10 ms, two or three tickets' CPU."""
    return time.clock_gettime_ns(((~pid) << 3) | 2) / 1e9


def idle_worker_cpu(pid):
    """``worker_cpu`` once the worker has finished what it does after an
    answer has gone out (its access log line, closing the connection):
    read when it has gone 5 ms without running."""
    before = worker_cpu(pid)
    while True:
        time.sleep(0.005)
        after = worker_cpu(pid)
        if after == before:
            return after
        before = after


def worker_threads(stack):
    """How many threads the worker runs: one for a sync worker."""
    for line in Path(f"/proc/{worker_pid(stack)}/status").read_text().splitlines():
        if line.startswith("Threads:"):
            return int(line.split()[1])
    raise RuntimeError("no thread count for the worker")


@dataclass
class Usage:
    read: int  # bytes
    written: int

    @classmethod
    def of(cls, stack):
        """The worker's so far (its bytes as it counts them, see
        ``tests.support.socket_bytes``; that question's own bytes, a few
        hundred, go to the next run)."""
        counts = requests.get(f"{stack.origin}/bench/sockets/", timeout=10).json()
        return cls(counts["received"], counts["sent"])

    def __sub__(self, other):
        return Usage(self.read - other.read, self.written - other.written)

    def __add__(self, other):
        return Usage(self.read + other.read, self.written + other.written)


class Throttled:
    """A request body sent at ``rate`` bytes per second at most, as a phone
    on a slow uplink sends it (None: at once)."""

    def __init__(self, data, rate=None):
        self.data, self.rate, self.sent = data, rate, 0
        self.started = time.monotonic()

    def __len__(self):
        return len(self.data) - self.sent

    def read(self, size=-1):
        size = 16 * KIB if size is None or size < 0 else min(size, 16 * KIB)
        chunk = self.data[self.sent : self.sent + size]
        self.sent += len(chunk)
        if self.rate:
            due = self.started + self.sent / self.rate
            time.sleep(max(0.0, due - time.monotonic()))
        return chunk


def multipart(fields, body, content_type, rate):
    data, form_type = encode_multipart_formdata(
        [*fields.items(), ("file", ("photo.jpg", body, content_type))]
    )
    return Throttled(data, rate), {"Content-Type": form_type, "Content-Length": str(len(data))}


def direct(
    origin, token, product, body, rate=None, content_type="image/jpeg", settle=None, clock=None
):
    """Ticket, POST to the bucket (at ``rate``), confirm. ``settle`` is
    called just before the confirm (see ``measure``). With ``clock`` (the
    worker's CPU, ``idle_worker_cpu``), the CPU seconds each request took:
    ``{"ticket": ..., "confirm": ...}``."""
    clock = clock or (lambda: 0.0)
    auth = {"Authorization": f"Token {token}"}
    started = clock()
    ticket = requests.post(
        f"{origin}/api/uploads/tickets/",
        json={
            "kind": "product",
            "object_id": product,
            "filename": "photo.jpg",
            "content_type": content_type,
            "size": len(body),
            "sha256": base64.b64encode(hashlib.sha256(body).digest()).decode(),
        },
        headers=auth,
        timeout=60,
    )
    assert ticket.status_code == 201, ticket.text
    spent = {"ticket": clock() - started}
    form = ticket.json()["upload"]
    data, headers = multipart(form["fields"], body, content_type, rate)
    posted = requests.post(form["url"], data=data, headers=headers, timeout=600)
    assert posted.status_code in (200, 201, 204), posted.text
    if settle:
        settle()
    started = clock()
    confirmed = requests.post(
        f"{origin}/api/uploads/tickets/{ticket.json()['id']}/confirm/", headers=auth, timeout=60
    )
    assert confirmed.status_code == 200, confirmed.text
    spent["confirm"] = clock() - started
    return spent


def proxy(
    origin, token, product, body, rate=None, content_type="image/jpeg", settle=None, clock=None
):
    """The old app's upload: the photo through Django (at ``rate``);
    ``settle`` is called before it. With ``clock``, its CPU seconds:
    ``{"proxy": ...}``."""
    clock = clock or (lambda: 0.0)
    if settle:
        settle()
    data, headers = multipart({}, body, content_type, rate)
    headers["Authorization"] = f"Token {token}"
    started = clock()
    answer = requests.post(
        f"{origin}/bench/proxy/{product}/", data=data, headers=headers, timeout=600
    )
    assert answer.status_code == 201, answer.text
    return {"proxy": clock() - started}


def api_call_cpu(stack, token, path, count):
    """The worker's CPU seconds for each of ``count`` GETs of ``path``
    (sorted): ``/bench/floor/`` (``tests.support.proxy_upload.Floor``) is
    an authenticated API call that does nothing, the least any request of
    the API costs; two of them, the least any flow of a ticket and a
    confirm can."""
    pid, auth = worker_pid(stack), {"Authorization": f"Token {token}"}
    spent = []
    for _ in range(count):
        started = idle_worker_cpu(pid)
        answer = requests.get(f"{stack.origin}{path}", headers=auth, timeout=60)
        assert answer.status_code == 200, answer.text
        spent.append(idle_worker_cpu(pid) - started)
    return sorted(spent)


def access_log(stack):
    """gunicorn's access log lines so far, parsed."""
    return log_lines(stack, "gunicorn.access")


def confirm_events(stack):
    """The app's confirm lines so far (``uploads.events``): each gives its
    time in the app and, of that, its waits on the store (``store_ms``)."""
    return [entry for entry in log_lines(stack, "uploads.events") if entry["event"] == "confirm"]


def log_lines(stack, logger):
    lines = stack.log_path.read_text().splitlines()
    entries = (json.loads(line) for line in lines if line.startswith("{"))
    return [entry for entry in entries if entry.get("logger") == logger]


@dataclass
class Run:
    """``count`` uploads of one flow and size: what the worker spent, and
    how long each kind of request held it (seconds, one list per path kind)."""

    flow: str
    size: int
    count: int
    usage: Usage
    held: dict = field(default_factory=dict)
    # The worker's CPU seconds for each request of each kind (ticket,
    # confirm; proxy), from ``idle_worker_cpu``.
    requests: dict = field(default_factory=dict)
    nginx: dict = None  # its bytes, when the run went through it
    # Each confirm's time in the app, and its waits on the store (ms).
    confirms: list = field(default_factory=list)

    def __add__(self, other):
        """This run and ``other``, of the same flow and size, as one."""
        assert (self.flow, self.size) == (other.flow, other.size) and not self.nginx

        def lists(a, b):
            return {key: a.get(key, []) + b.get(key, []) for key in a.keys() | b.keys()}

        return Run(
            self.flow,
            self.size,
            self.count + other.count,
            self.usage + other.usage,
            lists(self.held, other.held),
            lists(self.requests, other.requests),
            confirms=self.confirms + other.confirms,
        )

    def per_upload(self):
        figures = {
            # The requests' own CPU (``requests``): not the worker's between
            # them, nor that of ``Usage.of``'s question for its bytes.
            "cpu_ms": 1000 * sum(map(sum, self.requests.values())) / self.count,
            "read_kib": self.usage.read / self.count / KIB,
            "written_kib": self.usage.written / self.count / KIB,
            "held_ms": 1000 * sum(map(sum, self.held.values())) / self.count,
            "confirm_ms": sorted(1000 * s for s in self.held.get("confirm", [])),
            "confirm_store_ms": sorted(store for _, store in self.confirms),
            "confirm_less_store_ms": sorted(app - store for app, store in self.confirms),
            # Each request's CPU, the median of the run (ms).
            **{
                f"{kind}_cpu_p50_ms": 1000 * statistics.median(spent)
                for kind, spent in self.requests.items()
            },
        }
        for name, value in (self.nginx or {}).items():
            figures[f"nginx_{name}_kib"] = value / self.count / KIB
        return figures


def kind_of(path):
    if path.endswith("/confirm/"):
        return "confirm"
    if path.endswith("/tickets/"):
        return "ticket"
    return "proxy" if path.startswith("/bench/proxy/") else "other"


def measure(stack, flow, body, products, token, rate=None, origin=None):
    """Upload ``body`` once to each of ``products`` with ``flow`` (direct or
    proxy), one at a time, to ``origin`` (gunicorn by default); the ``Run``.
    Each confirm (each proxy upload) waits for the worker's tasks
    (``settle``): its latency is its own."""
    pid = worker_pid(stack)
    logged, confirmed = len(access_log(stack)), len(confirm_events(stack))
    before = Usage.of(stack)
    spent = {}
    for product in products:
        answer = flow(
            origin or stack.origin,
            token,
            product,
            body,
            rate,
            settle=lambda: settle(stack),
            clock=partial(idle_worker_cpu, pid),
        )
        for kind, seconds in answer.items():
            spent.setdefault(kind, []).append(seconds)
    usage = Usage.of(stack) - before
    assert worker_pid(stack) == pid, "the worker was replaced during the run"
    held = {}
    for entry in access_log(stack)[logged:]:
        held.setdefault(kind_of(entry["path"]), []).append(entry["duration_ms"] / 1000)
    # A confirm that asks the store nothing (already confirmed) has no store_ms.
    confirms = [
        (entry["duration_ms"], entry["store_ms"] or 0)
        for entry in confirm_events(stack)[confirmed:]
    ]
    return Run(flow.__name__, len(body), len(products), usage, held, spent, confirms=confirms)


# The requests each flow sends to the app (through nginx, when in front).
REQUESTS = {"direct": 2, "proxy": 1}


def through_nginx(stack, proxy, flow, body, product, token, rate):
    """One upload of ``body`` by ``flow`` at ``rate`` through ``proxy``, a
    buffering nginx in front of the worker (``tests.support.nginx``): the
    ``Run``, with nginx's bytes, received (from the phone and the worker),
    sent (to both), and written to its disk (request bodies that outgrew
    its memory buffer)."""
    logged = len(proxy.access_log())
    run = measure(stack, flow, body, [product], token, rate=rate, origin=proxy.origin)
    # nginx logs a request just after its answer went out.
    deadline = time.monotonic() + 5
    while len(entries := proxy.access_log()[logged:]) < REQUESTS[run.flow]:
        assert time.monotonic() < deadline, entries
        time.sleep(0.05)
    run.nginx = {
        "received": sum(e["request_length"] + e["upstream_bytes_received"] for e in entries),
        "sent": sum(e["bytes_sent"] + e["upstream_bytes_sent"] for e in entries),
        "disk": sum(e["content_length"] for e in entries if e["body_file"]),
    }
    return run


# --- The benchmark ------------------------------------------------------------

MB = 1_000_000
SIZES = (100_000, MB, 5 * MB, 10 * 1024 * 1024)  # 10 MiB: the size limit
GOALS = {
    "direct_cpu_10mb_over_100kb": 1.2,
    "direct_over_proxy_cpu_1mb": 0.6,
    "direct_over_proxy_cpu_10mb": 0.35,
    "direct_read_kib_max": 64,
    "slow_phone_direct_held_ms": 50,
    "confirm_p50_10mb_over_100kb": 1.2,
    "confirm_less_store_10mb_over_100kb": 1.2,
}


def sized_jpeg(size):
    """A real JPEG of exactly ``size`` bytes: a small photo, then filler
    after its end, as the inspection reads only the first bytes."""
    from tests.support.images import jpeg

    head = jpeg((1200, 900))
    return head + bytes(size - len(head))


def store_ms(stack, body, count):
    """How long the store takes to answer confirm's two requests on an
    object of ``body``, timed from here, ``count`` times each, in turn,
    once the worker's tasks are done: the ranged GET of the inspection's
    first bytes, and the server-side copy (``timed_copy``), what confirm
    waits for that grows with the size; then both again on an object
    written just before (``fresh_``), as confirm meets the upload a moment
    after its POST. In milliseconds, sorted:
    ``{"ranged_get": [...], "copy": [...], "fresh_ranged_get": [...], ...}``."""
    client, bucket = stack.s3(), stack.bucket
    source = f"bench/copy-source-{len(body)}"
    etag = client.put_object(Bucket=bucket, Key=source, Body=body)["ETag"]
    settle(stack)
    times = {"ranged_get": [], "copy": [], "fresh_ranged_get": [], "fresh_copy": []}
    for number in range(count):
        times["ranged_get"].append(timed_ranged_get(client, bucket, source, len(body)))
        times["copy"].append(timed_copy(client, bucket, source, etag, f"{source}-{number}"))
        fresh = f"{source}-fresh-{number}"
        fresh_etag = client.put_object(Bucket=bucket, Key=fresh, Body=body)["ETag"]
        times["fresh_ranged_get"].append(timed_ranged_get(client, bucket, fresh, len(body)))
        times["fresh_copy"].append(timed_copy(client, bucket, fresh, fresh_etag, f"{fresh}-copy"))
    return {name: sorted(values) for name, values in times.items()}


def timed_ranged_get(client, bucket, key, size):
    """Confirm's read of the first bytes of ``key``, in milliseconds."""
    started = time.perf_counter()
    answer = client.get_object(Bucket=bucket, Key=key, Range=f"bytes=0-{INSPECT_BYTES - 1}")
    assert len(answer["Body"].read()) == min(INSPECT_BYTES, size)
    return 1000 * (time.perf_counter() - started)


def timed_copy(client, bucket, source, etag, destination):
    """Confirm's server-side copy of ``source`` (conditional on its ETag,
    headers and tags replaced, as ``S3UploadBackend.copy`` makes it), in
    milliseconds."""
    started = time.perf_counter()
    client.copy_object(
        Bucket=bucket,
        Key=destination,
        CopySource={"Bucket": bucket, "Key": source},
        CopySourceIfMatch=etag,
        MetadataDirective="REPLACE",
        TaggingDirective="REPLACE",
        ContentType="image/jpeg",
        # UPLOADS' defaults, as S3MediaStorage.object_headers() gives them.
        CacheControl="private, max-age=31536000, immutable",
        ContentDisposition="inline",
    )
    return 1000 * (time.perf_counter() - started)


def upload_cost(stack, *, sizes=SIZES, count=10, slow_size=5 * MB, slow_rate=125_000):
    """Item 2 and 4 of issue 17 at each of ``sizes`` (``count`` uploads of
    each flow), then item 3: one upload of ``slow_size`` at ``slow_rate``
    bytes per second (1 Mbit/s) by each flow, straight to the worker, then
    through a buffering nginx in front of it. The figures, as a dict."""
    from tests.support.load import add_sites

    (site,) = add_sites(stack, "cost", sites=1, staff=1, products=count + 1)
    token, products = site.tokens[0], site.products
    # Warm-up: imports, connections and caches of the worker's first
    # requests. Three of each flow: a worker's second proxy upload costs
    # about 90 ms of CPU once (seen four times in a row; not explained),
    # against 8 ms for the next at 100 KB, and with one warm-up round it
    # fell in the measured runs, making the proxy's 100 KB mean twice its
    # median.
    for _ in range(3):
        for flow in (direct, proxy):
            flow(
                stack.origin,
                token,
                products[-1],
                sized_jpeg(sizes[0]),
                settle=partial(settle, stack),
            )
    bodies = {size: sized_jpeg(size) for size in sizes}
    runs = interleaved(stack, bodies, products[:count], token)
    store = {size: store_ms(stack, body, count) for size, body in bodies.items()}
    calls = {path: api_call_cpu(stack, token, path, 3 * count) for path in API_CALLS.values()}
    slow = [
        measure(stack, flow, sized_jpeg(slow_size), products[:1], token, rate=slow_rate)
        for flow in (proxy, direct)
    ]
    with buffering_proxy(stack.env["GUNICORN_BIND"], stack.workdir / "nginx") as front:
        behind = [
            through_nginx(stack, front, flow, sized_jpeg(slow_size), products[0], token, slow_rate)
            for flow in (proxy, direct)
        ]
    return figures_of(runs, slow, slow_rate, behind, store, calls)


# Uploads of each flow and size in a round of ``interleaved``.
ROUND = 2


def interleaved(stack, bodies, products, token):
    """One upload to each of ``products`` by each flow of each of
    ``bodies`` (by size, each made once), in rounds of ``ROUND`` uploads of
    each flow and size, the sizes in turn, one way then the other: a
    worker's CPU per request drifts during a run (a ticket's, the same at
    every size, fell from 8.3 to 7.1 ms over the run when each size was
    measured in one block, in order), and rounds share the drift between
    the sizes. The ``Run`` of each flow and size, the sizes in order."""
    sizes = list(bodies)
    runs = {}
    for number, start in enumerate(range(0, len(products), ROUND)):
        part = products[start : start + ROUND]
        for size in sizes if number % 2 == 0 else sizes[::-1]:
            for flow in (proxy, direct):
                run = measure(stack, flow, bodies[size], part, token)
                key = (flow, size)
                runs[key] = runs[key] + run if key in runs else run
    return [runs[(flow, size)] for size in sizes for flow in (proxy, direct)]


# The API calls whose CPU the benchmark gives beside a ticket's and a
# confirm's: the least any call costs, and the ticket benchmark's trivial
# endpoint.
API_CALLS = {"floor": "/bench/floor/", "site_read": "/api/site/"}


def figures_of(runs, slow, slow_rate, behind, store, calls):
    table = {(run.flow, run.size): run.per_upload() for run in runs}
    sizes = sorted({run.size for run in runs})
    small, large = sizes[0], sizes[-1]

    def ratio(a, b):
        return round(a / b, 3) if b > 0 else None

    def p50(values):
        return values[len(values) // 2]

    by_size = [
        {
            "size": size,
            **{
                f"{flow}_{key}": value
                for flow in ("proxy", "direct")
                for key, value in table[(flow, size)].items()
                # The per-confirm lists are given below, as their medians.
                if not isinstance(value, list)
            },
            "confirm_p50_ms": p50(table[("direct", size)]["confirm_ms"]),
            "confirm_ms": table[("direct", size)]["confirm_ms"],
            # Of each confirm's time in the app, its waits on the store
            # (its ranged GET and its copy: ``store_ms`` of its log line),
            # and the rest: confirm's own part.
            "confirm_store_p50_ms": p50(table[("direct", size)]["confirm_store_ms"]),
            "confirm_less_store_p50_ms": p50(table[("direct", size)]["confirm_less_store_ms"]),
            "store_copy_p50_ms": p50(store[size]["copy"]),
            "ranged_get_p50_ms": p50(store[size]["ranged_get"]),
            # The same on an object written just before, as confirm's upload.
            "fresh_copy_p50_ms": p50(store[size]["fresh_copy"]),
            "fresh_ranged_get_p50_ms": p50(store[size]["fresh_ranged_get"]),
            "direct_over_proxy_cpu": ratio(
                table[("direct", size)]["cpu_ms"], table[("proxy", size)]["cpu_ms"]
            ),
        }
        for size in sizes
    ]
    held = {run.flow: run.per_upload()["held_ms"] for run in slow}

    def phones(held_ms):
        """Phones uploading back to back one worker serves in the time one
        phone takes to send its photo."""
        return int(slow[0].size / slow_rate * 1000 / held_ms)

    one_mb = min(sizes, key=lambda size: abs(size - MB))
    call_ms = {name: 1000 * p50(calls[path]) for name, path in API_CALLS.items()}
    return {
        "by_size": by_size,
        **{f"{name}_cpu_p50_ms": value for name, value in call_ms.items()},
        # The least a flow of two API calls costs, against the proxy at 1 MB:
        # the bound of direct_over_proxy_cpu_1mb for any such flow.
        "two_floors_over_proxy_cpu_1mb": ratio(
            2 * call_ms["floor"], table[("proxy", one_mb)]["cpu_ms"]
        ),
        "direct_cpu_10mb_over_100kb": ratio(
            table[("direct", large)]["cpu_ms"], table[("direct", small)]["cpu_ms"]
        ),
        "direct_over_proxy_cpu_1mb": ratio(
            table[("direct", one_mb)]["cpu_ms"], table[("proxy", one_mb)]["cpu_ms"]
        ),
        "direct_over_proxy_cpu_10mb": ratio(
            table[("direct", large)]["cpu_ms"], table[("proxy", large)]["cpu_ms"]
        ),
        "direct_read_kib_max": max(table[("direct", size)]["read_kib"] for size in sizes),
        "confirm_p50_10mb_over_100kb": ratio(
            p50(table[("direct", large)]["confirm_ms"]), p50(table[("direct", small)]["confirm_ms"])
        ),
        # The same, less each confirm's waits on the store: confirm's part.
        "confirm_less_store_10mb_over_100kb": ratio(
            by_size[-1]["confirm_less_store_p50_ms"], by_size[0]["confirm_less_store_p50_ms"]
        ),
        # The store's two answers, timed from the benchmark.
        "store_copy_10mb_over_100kb": ratio(
            by_size[-1]["store_copy_p50_ms"], by_size[0]["store_copy_p50_ms"]
        ),
        "ranged_get_10mb_over_100kb": ratio(
            by_size[-1]["ranged_get_p50_ms"], by_size[0]["ranged_get_p50_ms"]
        ),
        "fresh_copy_10mb_over_100kb": ratio(
            by_size[-1]["fresh_copy_p50_ms"], by_size[0]["fresh_copy_p50_ms"]
        ),
        "fresh_ranged_get_10mb_over_100kb": ratio(
            by_size[-1]["fresh_ranged_get_p50_ms"], by_size[0]["fresh_ranged_get_p50_ms"]
        ),
        "slow_phone": {
            "size": slow[0].size,
            "rate_bytes_per_s": slow_rate,
            "proxy_held_ms": held["proxy"],
            "direct_held_ms": held["direct"],
            "phones_per_worker_direct": phones(held["direct"]),
            "phones_per_worker_proxy": 1,
            # nginx (proxy_request_buffering on) in front of the same worker.
            "behind_nginx": {
                run.flow: {
                    **{
                        key: value
                        for key, value in run.per_upload().items()
                        if key in ("held_ms", "read_kib", "written_kib") or key.startswith("nginx_")
                    },
                    "phones_per_worker": phones(run.per_upload()["held_ms"]),
                }
                for run in behind
            },
        },
        "slow_phone_direct_held_ms": held["direct"],
        "goals": GOALS,
    }


def table_of(figures):
    lines = [
        "Server cost per upload (one gunicorn sync worker; per upload)",
        f"{'size':>10} | {'proxy CPU':>9} | {'direct CPU':>10} | {'ratio':>5} | "
        f"{'proxy read':>10} | {'direct read':>11} | {'confirm p50':>11} | {'its store':>9} | "
        f"{'less store':>10} | {'store copy':>10} | {'ranged GET':>10} | {'fresh copy':>10} | "
        f"{'fresh GET':>9} | "
        f"{'ticket CPU':>10} | {'confirm CPU':>11}",
    ]
    for row in figures["by_size"]:
        lines.append(
            f"{row['size'] / MB:>8.1f}MB | {row['proxy_cpu_ms']:>7.1f}ms | "
            f"{row['direct_cpu_ms']:>8.1f}ms | {row['direct_over_proxy_cpu']:>5.2f} | "
            f"{row['proxy_read_kib']:>7.0f}KiB | {row['direct_read_kib']:>8.1f}KiB | "
            f"{row['confirm_p50_ms']:>9.1f}ms | {row['confirm_store_p50_ms']:>7.1f}ms | "
            f"{row['confirm_less_store_p50_ms']:>8.1f}ms | {row['store_copy_p50_ms']:>8.1f}ms | "
            f"{row['ranged_get_p50_ms']:>8.1f}ms | "
            f"{row['fresh_copy_p50_ms']:>8.1f}ms | {row['fresh_ranged_get_p50_ms']:>7.1f}ms | "
            f"{row['direct_ticket_cpu_p50_ms']:>8.2f}ms | "
            f"{row['direct_confirm_cpu_p50_ms']:>9.2f}ms"
        )
    lines.append(
        f"  CPU medians: an API call that does nothing {figures['floor_cpu_p50_ms']:.2f} ms,"
        f" GET /api/site/ {figures['site_read_cpu_p50_ms']:.2f} ms; two calls that do nothing"
        f" are {figures['two_floors_over_proxy_cpu_1mb']:.2f} of the proxy's CPU at 1 MB"
        " (the least direct_over_proxy_cpu_1mb of any ticket-and-confirm flow)"
    )
    slow = figures["slow_phone"]
    lines.append(
        f"slow phone ({slow['size'] / MB:.1f} MB at {slow['rate_bytes_per_s'] * 8 / 1e6:g} Mbit/s):"
        f" worker held {slow['proxy_held_ms'] / 1000:.1f} s (proxy),"
        f" {slow['direct_held_ms']:.0f} ms (direct: ticket + confirm);"
        f" one worker serves {slow['phones_per_worker_direct']} uploading phones"
    )
    lines.append(
        "  behind nginx (request buffering): worker held | nginx in | nginx out |"
        " nginx disk | worker in | worker out | phones a worker"
    )
    for flow, row in slow["behind_nginx"].items():
        lines.append(
            f"  {flow:>6}: {row['held_ms']:>8.0f} ms | {row['nginx_received_kib']:>6.0f}KiB |"
            f" {row['nginx_sent_kib']:>7.0f}KiB | {row['nginx_disk_kib']:>8.0f}KiB |"
            f" {row['read_kib']:>7.0f}KiB | {row['written_kib']:>8.0f}KiB |"
            f" {row['phones_per_worker']:>15}"
        )
    for name, goal in GOALS.items():
        value = figures[name]
        if value is None:
            lines.append(f"  {name}: n/a (goal ≤ {goal})")
        else:
            lines.append(
                f"  {name}: {value:.3g} (goal ≤ {goal}) {'ok' if value <= goal else 'MISSED'}"
            )
    lines.append(
        "  the store's answers (timed from the benchmark), largest over smallest size:"
        f" copy {figures['store_copy_10mb_over_100kb']}, ranged GET"
        f" {figures['ranged_get_10mb_over_100kb']}; of an object just written:"
        f" copy {figures['fresh_copy_10mb_over_100kb']}, ranged GET"
        f" {figures['fresh_ranged_get_10mb_over_100kb']}"
    )
    return "\n".join(lines)


def report(figures, folder, name="upload_cost"):
    """Print the table, write ``folder``/``name``.json; its path."""
    return write_report(table_of(figures), json.dumps(figures, indent=2), folder, name)
