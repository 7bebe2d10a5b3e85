import importlib
import json
import os
import shutil
import subprocess
import threading
import time
import uuid
from contextlib import contextmanager
from io import StringIO
from pathlib import Path

import pytest
import redis
from django.core.cache import cache
from django.core.management import call_command
from django.core.signals import setting_changed
from django.http import HttpRequest
from django.test import Client
from django.urls import clear_url_caches

from project.seaweedfs import SeaweedFS, free_weed_ports
from project.storages import storages_for
from tests.iam import IamGate
from tests.relay import Relay
from uploads.guard import reset_guards

# Folders and modules whose tests drive a browser, Node or a live server:
# seconds each, so `make test-fast` (-m "not slow") leaves them out.
SLOW_TESTS = {"e2e", "js", "test_api_fuzz.py"}
TESTS_DIR = Path(__file__).resolve().parent

ACCESS_KEY = "test-access-key"
SECRET_KEY = "test-secret-key"
REGION = "eu-west-3"


def pytest_collection_modifyitems(items):
    for item in items:
        if item.path.relative_to(TESTS_DIR).parts[0] in SLOW_TESTS:
            item.add_marker(pytest.mark.slow)


@pytest.fixture(scope="session")
def seaweedfs(tmp_path_factory):
    """A real S3 server for the whole run: policies, signatures and keys are
    enforced as a bucket would."""
    server = SeaweedFS(
        tmp_path_factory.mktemp("seaweedfs"), access_key=ACCESS_KEY, secret_key=SECRET_KEY
    )
    with server:
        yield server


@contextmanager
def redis_server(directory, *arguments):
    """A Redis of its own on a free port (Debian's redis-server, which
    ``make test`` installs); gives the port."""
    binary = shutil.which("redis-server")
    assert binary, "redis-server is missing: make test installs it (Debian's redis-server)"
    (port,) = free_weed_ports(1)
    log = open(directory / "redis.log", "wb")
    process = subprocess.Popen(
        [binary, *arguments, "--port", str(port), "--bind", "127.0.0.1"],
        cwd=directory,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    client = redis.Redis(port=port, socket_timeout=2)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                client.ping()
                break
            except redis.ConnectionError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"redis-server did not start; see {log.name}") from None
                time.sleep(0.1)
        yield port
    finally:
        client.close()
        process.terminate()
        process.wait(10)
        log.close()


@pytest.fixture
def redis_url(tmp_path):
    with redis_server(tmp_path, "--save", "") as port:
        yield f"redis://127.0.0.1:{port}/0"


@pytest.fixture(scope="session")
def playwright():
    """One Playwright for the whole run: its sync API runs an event loop in
    this thread, and a second one cannot start while the first lives."""
    # The Django calls the tests make around that loop are still synchronous.
    os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        yield playwright


def reload_urlconf():
    """Routes that depend on settings (the emulator, media in DEBUG) are
    decided when the URLconf is imported: import it again."""
    import project.urls
    import uploads.urls

    importlib.reload(uploads.urls)
    importlib.reload(project.urls)
    clear_url_caches()


def reload_urls_on_mode_change(*, setting, **kwargs):
    if setting in ("AWS_STORAGE_BUCKET_NAME", "DEBUG"):
        reload_urlconf()


setting_changed.connect(reload_urls_on_mode_change)


def use_storages(settings):
    # The storages of the mode the settings now name, as project/settings.py
    # picks them; assigning STORAGES makes Django drop the ones it made.
    settings.STORAGES = storages_for(
        bucket=settings.AWS_STORAGE_BUCKET_NAME, static_in_bucket=settings.STATIC_IN_BUCKET
    )


@pytest.fixture(autouse=True)
def client_login_through_axes(monkeypatch):
    """``Client.login()`` calls ``authenticate()`` without a request, which
    django-axes refuses (a login it could not count): give it one, as the
    login pages do."""
    login = Client.login
    monkeypatch.setattr(
        Client,
        "login",
        lambda self, **credentials: login(self, request=HttpRequest(), **credentials),
    )


@pytest.fixture(autouse=True)
def fresh_throttles():
    """Throttle counters live in the cache: each test starts with none."""
    cache.clear()
    yield
    cache.clear()


@pytest.fixture(autouse=True)
def tasks_run_at_once(settings):
    """Background tasks run as they are queued (once the transaction that
    queues them commits), so that tests see their effect in order. Tests of
    the worker itself switch to the database backend (``task_worker``)."""
    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}


@pytest.fixture
def task_worker(settings):
    """The production backend: tasks wait in the database until
    ``task_worker()`` runs the worker over those that are due, as
    ``manage.py db_worker`` does, then returns."""
    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}

    def run():
        call_command("db_worker", "--batch", "--no-startup-delay", "--no-reload", stdout=StringIO())

    return run


@pytest.fixture(autouse=True)
def fresh_store_guards():
    """Each test starts with every store's circuit closed (uploads.guard)."""
    reset_guards()
    yield
    reset_guards()


@pytest.fixture(autouse=True)
def local_media(settings, tmp_path):
    """Every test starts in filesystem mode with its own MEDIA_ROOT, whatever
    the developer's .env says."""
    settings.AWS_STORAGE_BUCKET_NAME = ""
    settings.MEDIA_ROOT = tmp_path / "media"
    use_storages(settings)
    return settings.MEDIA_ROOT


@pytest.fixture
def s3_bucket(seaweedfs, settings):
    """S3 mode against SeaweedFS, with a fresh bucket for this test."""
    bucket = f"test-{uuid.uuid4().hex[:16]}"
    seaweedfs.ensure_bucket(bucket)
    settings.AWS_STORAGE_BUCKET_NAME = bucket
    settings.AWS_ACCESS_KEY_ID = ACCESS_KEY
    settings.AWS_SECRET_ACCESS_KEY = SECRET_KEY
    settings.AWS_S3_ENDPOINT_URL = seaweedfs.endpoint_url
    settings.AWS_S3_REGION_NAME = REGION
    settings.AWS_S3_CUSTOM_DOMAIN = None
    use_storages(settings)
    return bucket


@pytest.fixture
def relay(seaweedfs):
    """A second address of the store, as the clients' public address."""
    server = Relay(("127.0.0.1", seaweedfs.s3_port))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


@pytest.fixture
def aws_key(seaweedfs, s3_bucket, settings):
    """``aws_key(policy)`` puts the app's S3 calls through an ``IamGate``:
    the store answers as AWS does for a key limited by ``policy`` (a dict).
    Returns the gate, which records what was asked."""
    gates = []

    def limit(policy):
        gate = IamGate(("127.0.0.1", seaweedfs.s3_port), json.dumps(policy))
        gates.append(gate.serve_in_background())
        settings.AWS_S3_ENDPOINT_URL = gate.url
        use_storages(settings)
        return gate

    yield limit
    for gate in gates:
        gate.stop()


@pytest.fixture
def s3_client(seaweedfs):
    return seaweedfs.client(REGION)


def bucket_keys(client, bucket):
    response = client.list_objects_v2(Bucket=bucket)
    return sorted(item["Key"] for item in response.get("Contents", []))


def disk_files(root):
    return sorted(path.relative_to(root).as_posix() for path in root.rglob("*") if path.is_file())


@pytest.fixture(params=["local", "s3"])
def storage_mode(request):
    """Runs a test once per storage mode."""
    if request.param == "s3":
        request.getfixturevalue("s3_bucket")
    return request.param


@pytest.fixture
def sites(db):
    from inventory.models import Configuration

    return (
        Configuration.objects.create(site_name="Site One"),
        Configuration.objects.create(site_name="Site Two"),
    )


@pytest.fixture
def make_user(db, django_user_model):
    """A user of ``site``, given the usual staff permissions unless told
    otherwise (site admins and superusers hold theirs by their role)."""
    from inventory.permissions import STAFF_PERMISSIONS, permissions_named

    def make(username, site=None, permissions=STAFF_PERMISSIONS, **extra):
        user = django_user_model.objects.create_user(
            username=username, password="pw", site_configuration=site, **extra
        )
        user.user_permissions.set(permissions_named(permissions))
        return user

    return make
