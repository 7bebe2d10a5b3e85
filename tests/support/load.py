"""
The production stack under load, for the tests and the benchmarks.

``production_stack()`` starts what docker-compose.yml starts, the way
tests/system/test_production_stack.py runs it without Docker: SeaweedFS through its
start script, Redis with its command, a fresh PostgreSQL database, the
one-shot commands, then gunicorn with the image's and the app service's
environment. ``run_flows()`` sends many clients' full uploads through it
(ticket, multipart POST to the bucket, confirm), each step timed from the
client's side; ``check_uploads()`` asserts what must hold afterwards, down to
the last object in the bucket; ``Report`` gives the figures.
"""

import base64
import hashlib
import json
import math
import os
import subprocess
import sys
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import psycopg
import requests
import yaml

from project.seaweedfs import free_weed_ports, s3_client
from tests.support.compose import (
    ComposedSeaweedFS,
    app_environment,
    as_run_here,
    compose_config,
    database_maker,
    readme_env,
)
from tests.support.processes import BASE_DIR, stop, wait_for
from tests.support.redis_server import redis_server

MIB = 1024 * 1024
STEPS = ("ticket", "post", "confirm")
# What a client may see from a store that is down or restarting, and retry.
STORE_DOWN = "connection refused or reset"


# The worker's tasks that are due or running. A task queued with no
# run_after has django_tasks_db's 9999-01-01 there (get_date_max()), and is
# due at once, as its worker reads it.
DUE_TASKS = (
    "SELECT count(*) FROM django_tasks_database_dbtaskresult"
    " WHERE status IN ('READY', 'RUNNING')"
    " AND (run_after <= now() OR run_after = '9999-01-01T00:00:00Z')"
)


class Stack:
    """The running stack: gunicorn's address, its environment (for
    ``manage.py`` and the one-shot services), the store, the database."""

    def __init__(self, compose, env, store, workdir):
        self.compose = compose
        self.env = env
        self.store = store
        self.workdir = workdir
        self.origin = f"http://{env['GUNICORN_BIND']}"
        self.bucket = env["AWS_STORAGE_BUCKET_NAME"]
        self.app = None
        self.worker = None

    def manage(self, *arguments):
        """``manage.py`` with the app's environment, as ``docker compose run
        app python manage.py ...`` would; its output."""
        return self.run([sys.executable, "manage.py", *arguments]).stdout

    def one_shot(self, name):
        self.run(as_run_here(self.compose["services"][name]["command"]))

    def run(self, command):
        result = subprocess.run(
            command, cwd=BASE_DIR, env=self.env, capture_output=True, text=True, timeout=300
        )
        assert result.returncode == 0, f"{command}: {result.stdout}{result.stderr}"
        return result

    def start_app(self):
        command = as_run_here(self.compose["services"]["app"]["command"])
        with open(self.log_path, "ab") as out, open(self.workdir / "app.err", "ab") as err:
            self.app = subprocess.Popen(command, cwd=BASE_DIR, env=self.env, stdout=out, stderr=err)
        wait_for(f"{self.origin}/healthz", process=self.app)

    def start_worker(self):
        """The compose ``worker`` service: makes the renditions of confirmed
        images, deletes what confirms leave."""
        command = as_run_here(self.compose["services"]["worker"]["command"])
        with (
            open(self.workdir / "worker.out", "ab") as out,
            open(self.workdir / "worker.err", "ab") as err,
        ):
            self.worker = subprocess.Popen(
                command, cwd=BASE_DIR, env=self.env, stdout=out, stderr=err
            )

    def wait_until_deleted(self, keys, timeout=30):
        """Until the worker has deleted ``keys`` from the bucket; those left."""
        deadline = time.monotonic() + timeout
        while (left := set(keys) & self.keys()) and time.monotonic() < deadline:
            assert self.worker.poll() is None, (self.workdir / "worker.err").read_text()
            time.sleep(0.2)
        return left

    def wait_until_idle(self, timeout=30):
        """Until the worker's queue holds no task that is due (those put off
        to a later attempt wait for it); ``False`` if it went ``timeout``
        seconds without getting through one (a long queue may take longer)."""
        deadline, queued = time.monotonic() + timeout, None
        while due := self.query(DUE_TASKS)[0][0]:
            assert self.worker.poll() is None, (self.workdir / "worker.err").read_text()
            if queued is not None and due < queued:
                deadline = time.monotonic() + timeout
            elif time.monotonic() > deadline:
                return False
            queued = due
            time.sleep(0.2)
        return True

    def restart_app(self, **variables):
        """gunicorn again, with ``variables`` changed in its environment."""
        self.stop_app()
        self.env.update(variables)
        self.start_app()

    def stop_app(self):
        if self.app is not None:
            stop(self.app)
            self.app = None

    @property
    def log_path(self):
        return self.workdir / "app.out"

    def events(self, sites):
        """The ``uploads.events`` lines logged so far about ``sites``."""
        ids = {site.id for site in sites}
        lines = self.log_path.read_text().splitlines()
        entries = (json.loads(line) for line in lines if line.startswith("{"))
        return [
            entry
            for entry in entries
            if entry.get("logger") == "uploads.events" and entry.get("site") in ids
        ]

    def worker_pids(self):
        """The pids of gunicorn's workers."""
        pid = self.app.pid
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
        assert children, "gunicorn has no workers"
        return [int(child) for child in children]

    def worker_peaks(self):
        """Peak resident memory (VmHWM) of each gunicorn worker, in bytes."""
        return {pid: peak_rss(pid) for pid in self.worker_pids()}

    def s3(self):
        env = self.env
        return s3_client(
            env["AWS_S3_ENDPOINT_URL"],
            env["AWS_ACCESS_KEY_ID"],
            env["AWS_SECRET_ACCESS_KEY"],
            env.get("AWS_S3_REGION_NAME") or "us-east-1",
        )

    def keys(self, prefix="media/"):
        pages = (
            self.s3().get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=prefix)
        )
        return {item["Key"] for page in pages for item in page.get("Contents", [])}

    def query(self, sql, *params):
        with psycopg.connect(self.env["DATABASE_URL"], autocommit=True) as connection:
            cursor = connection.execute(sql, params)
            return cursor.fetchall() if cursor.description else None


TICK = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid, *, reaped=False):
    """The CPU seconds (user and system) of process ``pid``; with
    ``reaped``, those of its children that ended and it waited for too."""
    # /proc/<pid>/stat: utime, stime, cutime and cstime are the 14th to
    # 17th fields, the 12th to 15th after the command's closing parenthesis.
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return sum(int(value) for value in fields[11 : 15 if reaped else 13]) / TICK


def peak_rss(pid):
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
    raise RuntimeError(f"no VmHWM for {pid}")


@contextmanager
def production_stack(workdir, **variables):
    """The compose stack on this machine, gunicorn answering; ``variables``
    are set in the app's environment (the operator's .env)."""
    result = compose_config(workdir, readme_env())
    assert result.returncode == 0, result.stderr
    compose = yaml.safe_load(result.stdout)
    _, *redis_arguments = compose["services"]["redis"]["command"]
    with (
        database_maker() as new_database,
        ComposedSeaweedFS(compose["services"]["s3"], workdir / "s3-data") as store,
        redis_server(workdir, *redis_arguments) as redis_port,
    ):
        (app_port,) = free_weed_ports(1)
        env = app_environment(compose, new_database(), store.s3_port, redis_port, app_port, workdir)
        # A store of its own: the bucket compose names, as on a new volume.
        bucket = compose["services"]["app"]["environment"]["AWS_STORAGE_BUCKET_NAME"]
        env["AWS_STORAGE_BUCKET_NAME"] = bucket
        stack = Stack(compose, {**env, **variables}, store, workdir)
        stack.one_shot("migrate")
        stack.one_shot("s3-init")
        stack.start_app()
        stack.start_worker()
        try:
            yield stack
        finally:
            stack.stop_app()
            stop(stack.worker)
            # Its data goes with the folder: no need to wait for a clean stop.
            store.kill()


# --- Shops -------------------------------------------------------------------


@dataclass
class Site:
    id: int
    tokens: list  # one API token per staff member
    products: list  # product ids


def make_sites(name, sites, staff, products):
    """Run by ``manage.py shell``: ``sites`` shops, each with ``staff``
    users (an API token each: no password hashing under load) and
    ``products`` products without an image."""
    from rest_framework.authtoken.models import Token

    from inventory.models import Configuration, Product, User
    from inventory.permissions import STAFF_PERMISSIONS, permissions_named

    permissions = list(permissions_named(STAFF_PERMISSIONS))
    made = []
    for number in range(sites):
        site = Configuration.objects.create(site_name=f"{name} {number}")
        users = [
            User.objects.create(username=f"{name}-{number}-{index}", site_configuration=site)
            for index in range(staff)
        ]
        for user in users:
            user.user_permissions.set(permissions)
        items = Product.objects.bulk_create(
            Product(site_configuration=site, name=f"Article {index}", cug=f"A-{index}")
            for index in range(products)
        )
        made.append(
            {
                "id": site.pk,
                "tokens": [Token.objects.create(user=user).key for user in users],
                "products": [item.pk for item in items],
            }
        )
    print(json.dumps(made))


def add_sites(stack, name, *, sites=2, staff, products):
    output = stack.manage(
        "shell",
        "-c",
        "from tests.support.load import make_sites; "
        f"make_sites({name!r}, {sites}, {staff}, {products})",
    )
    return [Site(**site) for site in json.loads(output.splitlines()[-1])]


@dataclass
class Work:
    """One upload to make: who, to which product, what."""

    site: Site
    token: str
    product: int
    body: bytes
    content_type: str = "image/jpeg"


def plan(sites, count, body, content_type="image/jpeg"):
    """``count`` uploads of ``body`` spread over the sites, their staff and
    their products in turn: with more uploads than products, several staff
    replace the same product's photo at the same time."""
    uploads = []
    for number in range(count):
        site = sites[number % len(sites)]
        turn = number // len(sites)
        token = site.tokens[turn % len(site.tokens)]
        product = site.products[turn % len(site.products)]
        uploads.append(Work(site, token, product, body, content_type))
    return uploads


# --- Clients -----------------------------------------------------------------


@dataclass
class Step:
    name: str  # ticket, post, confirm
    status: object  # the HTTP status, or STORE_DOWN
    code: str = ""  # the API's error code
    seconds: float = 0.0


@dataclass
class Flow:
    site: int
    product: int
    steps: list = field(default_factory=list)
    ticket: dict = None
    result: dict = None  # the confirm answer

    @property
    def confirmed(self):
        return self.result is not None

    @property
    def errors(self):
        return [step for step in self.steps if step.status not in (200, 201, 204)]


def upload(origin, work, retry_for=0):
    """One client's upload: ticket, multipart POST to the bucket, confirm.

    With ``retry_for`` seconds, it retries for that long as the README's
    "Failure behaviour" says: each step on its own, a refused connection or
    a 5xx after half a second or ``Retry-After`` (``storage_unavailable``),
    and on ``upload_missing`` it posts the file again before confirming
    again, as the error's detail asks. Without, the first error ends it."""
    flow = Flow(work.site.id, work.product)
    body, content_type = work.body, work.content_type
    session = requests.Session()
    session.headers["Authorization"] = f"Token {work.token}"
    deadline = time.monotonic() + retry_for
    request = {
        "kind": "product",
        "object_id": work.product,
        "filename": "photo",
        "content_type": content_type,
        "size": len(body),
        "sha256": base64.b64encode(hashlib.sha256(body).digest()).decode(),
    }

    def attempt(name, send):
        while True:
            started = time.perf_counter()
            try:
                response = send()
            except requests.ConnectionError:
                step = Step(name, STORE_DOWN, seconds=time.perf_counter() - started)
                response = None
            else:
                step = Step(name, response.status_code, seconds=time.perf_counter() - started)
                if response.headers.get("Content-Type", "").startswith("application/json"):
                    step.code = response.json().get("code", "") if not response.ok else ""
            flow.steps.append(step)
            retryable = response is None or response.status_code >= 500
            if not retryable or time.monotonic() > deadline:
                return response
            wait = response.headers.get("Retry-After") if response is not None else None
            time.sleep(float(wait) if wait else 0.5)

    def ticket():
        return session.post(f"{origin}/api/uploads/tickets/", json=request, timeout=60)

    def post():
        form = flow.ticket["upload"]
        # A client of the bucket, not of the API: no token goes there.
        return requests.post(
            form["url"],
            data=form["fields"],
            files={"file": ("photo", body, content_type)},
            timeout=120,
        )

    def confirm():
        return session.post(
            f"{origin}/api/uploads/tickets/{flow.ticket['id']}/confirm/", timeout=60
        )

    try:
        response = attempt("ticket", ticket)
        if response is None or response.status_code != 201:
            return flow
        flow.ticket = response.json()
        while True:
            response = attempt("post", post)
            if response is None or response.status_code not in (200, 201, 204):
                return flow
            response = attempt("confirm", confirm)
            missing = response is not None and response.status_code == 409
            if missing and time.monotonic() < deadline:
                continue  # upload_missing: post the file again, then confirm
            if response is not None and response.status_code == 200:
                flow.result = response.json()
            return flow
    finally:
        session.close()


def run_flows(stack, uploads, *, threads=None, retry_for=0, on_confirmed=None):
    """Every ``Work`` of ``uploads`` with ``threads`` clients (one per upload
    by default), the first of them released together; gives the flows and
    the seconds the run took."""
    threads = min(threads or len(uploads), len(uploads))
    start = threading.Barrier(threads + 1)

    def client(number):
        if number < threads:
            start.wait()
        flow = upload(stack.origin, uploads[number], retry_for=retry_for)
        if flow.confirmed and on_confirmed:
            on_confirmed(flow)
        return flow

    with ThreadPoolExecutor(threads) as pool:
        futures = [pool.submit(client, number) for number in range(len(uploads))]
        start.wait()
        started = time.perf_counter()
        flows = [future.result() for future in futures]
    return flows, time.perf_counter() - started


# --- What must hold afterwards -----------------------------------------------


def check_uploads(stack, sites):
    """Every product of ``sites`` holds exactly one attached object, in its
    site's folder, that exists; each object is attached once; once the
    worker is done, each attached object has its renditions, in the bucket;
    and once the tickets have expired and ``purge_uploads`` has run, nothing
    else is left in those sites' folders (no upload, no replaced image, no
    rendition of one). Gives purge_uploads' output."""
    site_ids = [site.id for site in sites]
    rows = stack.query(
        "SELECT id, site_configuration_id, image FROM inventory_product"
        " WHERE site_configuration_id = ANY(%s)",
        site_ids,
    )
    assert len(rows) == sum(len(site.products) for site in sites)
    without = [product for product, _, image in rows if not image]
    assert not without, f"products without an image: {without}"
    attached = Counter(f"media/{image}" for _, _, image in rows)
    shared = [key for key, count in attached.items() if count > 1]
    assert not shared, f"objects attached to several products: {shared}"
    for product, site, image in rows:
        assert image.startswith(f"sites/{site}/products/"), (product, site, image)
        assert "/incoming/" not in image, (product, image)
    tickets = stack.query(
        "SELECT site_id, incoming_key, final_key FROM uploads_uploadticket WHERE site_id = ANY(%s)",
        site_ids,
    )
    for site, incoming, final in tickets:
        assert incoming.startswith(f"media/sites/{site}/products/incoming/"), (site, incoming)
        assert not final or final.startswith(f"media/sites/{site}/products/"), (site, final)
    finals = Counter(final for _, _, final in tickets if final)
    assert all(count == 1 for count in finals.values()), "a final key confirmed twice"

    folders = tuple(f"media/sites/{site}/" for site in site_ids)
    stored = {key for key in stack.keys() if key.startswith(folders)}
    missing = set(attached) - stored
    assert not missing, f"attached objects missing from the bucket: {sorted(missing)}"

    # The worker makes the renditions of the attached images, and deletes
    # those of the images replaced.
    assert stack.wait_until_idle(), "the worker did not catch up with its queue"

    # The next day, the hourly purge: every ticket has expired. By then the
    # worker has also made again the renditions it met the store down for
    # (put off to a later attempt): build_renditions makes them now.
    stack.query(
        "UPDATE uploads_uploadticket SET created_at = created_at - interval '1 day',"
        " expires_at = expires_at - interval '1 day' WHERE site_id = ANY(%s)",
        site_ids,
    )
    purged = stack.manage("purge_uploads")
    stack.manage("build_renditions")
    assert stack.wait_until_idle(), "the worker did not catch up with its queue"

    # Each attached image has its renditions; no other image has a set left.
    sets = stack.query(
        "SELECT original, state, variants FROM uploads_renditionset WHERE original LIKE ANY(%s)",
        [f"sites/{site}/%" for site in site_ids],
    )
    assert sorted(f"media/{original}" for original, _, _ in sets) == sorted(attached), (
        "rendition sets of other images than those attached"
    )
    not_ready = [(original, state) for original, state, _ in sets if state != "ready"]
    assert not not_ready, f"attached images without their renditions: {not_ready}"
    renditions = {f"media/{v['name']}" for _, _, variants in sets for v in variants.values()}

    stored = {key for key in stack.keys() if key.startswith(folders)}
    missing = renditions - stored
    assert not missing, f"renditions missing from the bucket: {sorted(missing)}"
    left = stored - set(attached) - renditions
    assert not left, f"left in the bucket after purge_uploads: {sorted(left)}"
    return purged.strip()


# --- Figures -----------------------------------------------------------------


def percentile(values, share):
    """The nearest-rank percentile: a value that was really measured."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(share * len(ordered)) - 1)]


@dataclass
class Report:
    flows: list
    seconds: float
    peaks: dict  # worker pid: bytes
    # The flows' uploads.events lines: the time the app spent on each ticket
    # and confirm, without the wait in gunicorn's queue.
    events: list = field(default_factory=list)

    def errors(self):
        return Counter(
            (step.name, step.status, step.code) for flow in self.flows for step in flow.errors
        )

    def lines(self):
        done = sum(flow.confirmed for flow in self.flows)
        yield (
            f"{len(self.flows)} flows, {done} confirmed, in {self.seconds:.1f} s: "
            f"{done / self.seconds:.1f} flows/s ({os.cpu_count()} CPUs)"
        )
        for name in STEPS:
            times = [step.seconds for f in self.flows for step in f.steps if step.name == name]
            if times:
                yield (
                    f"  {name:8} p50 {percentile(times, 0.5) * 1000:6.0f} ms"
                    f"   p99 {percentile(times, 0.99) * 1000:6.0f} ms   ({len(times)} requests)"
                )
        for name in ("ticket", "confirm"):
            times = [e["duration_ms"] for e in self.events if e["event"] == name]
            if times:
                yield (
                    f"  {name:8} p50 {percentile(times, 0.5):6.0f} ms   p99 "
                    f"{percentile(times, 0.99):6.0f} ms   in the app (uploads.events duration_ms)"
                )
        errors = self.errors()
        yield "  errors: " + (
            ", ".join(
                f"{n}× {step} {status} {code}".rstrip()
                for (step, status, code), n in sorted(errors.items(), key=str)
            )
            or "none"
        )
        for pid, peak in sorted(self.peaks.items()):
            yield f"  gunicorn worker {pid}: peak RSS {peak / MIB:.1f} MiB"

    def __str__(self):
        return "\n".join(self.lines())
