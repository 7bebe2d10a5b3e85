import json
import os
import tempfile
import threading
import uuid
from concurrent.futures import ThreadPoolExecutor
from io import StringIO
from pathlib import Path
from unittest import mock

import pytest
from django.core.cache import cache
from django.core.management import call_command
from django.core.signals import setting_changed
from django.http import HttpRequest
from django.test import Client, override_settings
from django.utils import translation

from project.cache import forget_failures
from project.seaweedfs import SeaweedFS
from tests.support.iam import IamGate
from tests.support.modes import reload_urls_on_mode_change, use_storages
from tests.support.redis_server import redis_server
from tests.support.relay import Relay
from tests.support.stores import ACCESS_KEY, REGION, SECRET_KEY
from uploads.guard import reset_guards

TESTS_DIR = Path(__file__).resolve().parent
# Markers of the tests of a folder or module under tests/ (the most specific
# entry counts): what they start, seconds each, so that `make test-fast`
# leaves them out, and `renditions` where they use the whole app. Tests
# elsewhere that start a process carry @pytest.mark.process.
KINDS = {
    # gunicorn, the compose stack, the dev server, make run
    "system": {"process", "renditions"},
    "system/browser": {"browser", "renditions"},
    "system/node": {"process", "renditions"},
    "system/test_api_fuzz.py": {"fuzz"},
    "benchmarks": {"renditions"},
}
# Fixtures that start something for the test that asks for them.
FIXTURE_KINDS = {"playwright": "browser", "redis_url": "process"}
SLOW_KINDS = ("browser", "fuzz", "process")


def kinds_of(item):
    parts = item.path.relative_to(TESTS_DIR).parts
    for depth in range(len(parts), 0, -1):
        kinds = KINDS.get("/".join(parts[:depth]))
        if kinds is not None:
            break
    else:
        kinds = set()
    return kinds | {kind for name, kind in FIXTURE_KINDS.items() if name in item.fixturenames}


def pytest_ignore_collect(collection_path, config):
    """Under ``-m "not slow"`` (``make test-fast``), a folder all of whose
    tests are slow by KINDS is not even imported: tests/system's modules
    import Playwright, Schemathesis and the generated client, a second of
    CPU in every worker."""
    if (
        config.option.markexpr != "not slow"
        or not collection_path.is_dir()
        or not collection_path.is_relative_to(TESTS_DIR)
    ):
        return None
    folder = collection_path.relative_to(TESTS_DIR).as_posix()
    within = [kinds for name, kinds in KINDS.items() if f"{name}/".startswith(f"{folder}/")]
    if folder in KINDS and all(kinds & set(SLOW_KINDS) for kinds in within):
        return True
    return None


def pytest_collection_modifyitems(items):
    for item in items:
        for kind in kinds_of(item):
            item.add_marker(kind)
        # `slow` stands for any of them: -m "not slow" is the fast loop.
        if any(item.get_closest_marker(kind) for kind in SLOW_KINDS):
            item.add_marker(pytest.mark.slow)


def pytest_configure(config):
    setting_changed.connect(reload_urls_on_mode_change)


@pytest.fixture(scope="session", autouse=True)
def fast_password_hashing():
    """MD5 instead of PBKDF2's million rounds (a fifth of a second a user on
    this machine): the tests make users and log in by the hundred, and none
    of them is about the hash. Processes the tests start keep the project's
    hashers."""
    with override_settings(PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"]):
        yield


STARTING_SEAWEEDFS = pytest.StashKey()
# Fixtures that lead to SeaweedFS (storage_mode asks for it by name).
STORE_FIXTURES = {"seaweedfs", "storage_mode"}


def start_seaweedfs(config):
    """SeaweedFS, starting in a thread of its own: it takes seconds to be
    ready, nearly all of them waiting."""
    folder = tempfile.TemporaryDirectory(prefix="seaweedfs-")
    server = SeaweedFS(folder.name, access_key=ACCESS_KEY, secret_key=SECRET_KEY)
    executor = ThreadPoolExecutor(max_workers=1)
    started = executor.submit(server.start)
    executor.shutdown(wait=False)
    config.stash[STARTING_SEAWEEDFS] = (server, started, folder)


def pytest_collection_finish(session):
    """Start SeaweedFS as soon as the tests to run are known, if they may
    need it: the tests that need no store fill its start-up (each
    pytest-xdist worker has its own)."""
    if any(STORE_FIXTURES & set(item.fixturenames) for item in session.items):
        start_seaweedfs(session.config)


def pytest_sessionfinish(session):
    server, started, folder = session.config.stash.get(STARTING_SEAWEEDFS, (None, None, None))
    if server is not None:
        started.exception()  # not stopped while it starts
        # Killed: its data is thrown away, so weed's seconds-long shutdown buys nothing.
        server.stop(timeout=0)
        folder.cleanup()


@pytest.fixture(scope="session")
def seaweedfs(request):
    """A real S3 server for the whole run: policies, signatures and keys are
    enforced as a bucket would."""
    if STARTING_SEAWEEDFS not in request.config.stash:
        start_seaweedfs(request.config)
    server, started, _ = request.config.stash[STARTING_SEAWEEDFS]
    started.result()
    return server


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


@pytest.fixture(scope="session", autouse=True)
def flush_restores_content_types():
    """After a test with real commits, Django empties every table, then
    makes the content types and permissions again, app by app (the
    post_migrate signal): some 50 ms a test, for hundreds of tests. Here
    the first flush of a database does that, and later ones put back what
    it made, same ids, in two INSERTs. Only the flush after a test changes."""
    from django.contrib.auth.models import Permission
    from django.contrib.contenttypes.models import ContentType
    from django.core.management.commands import flush

    emit_post_migrate_signal = flush.emit_post_migrate_signal
    made = {}

    def restore(verbosity, interactive, db, **kwargs):
        if db not in made:
            emit_post_migrate_signal(verbosity, interactive, db, **kwargs)
            made[db] = (
                list(ContentType.objects.using(db).all()),
                list(Permission.objects.using(db).all()),
            )
            return
        content_types, permissions = made[db]
        ContentType.objects.using(db).bulk_create(content_types)
        Permission.objects.using(db).bulk_create(permissions)

    with mock.patch.object(flush, "emit_post_migrate_signal", restore):
        yield


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


@pytest.fixture(autouse=True)
def renditions_only_where_marked(request, monkeypatch):
    """Making an image's renditions decodes it and encodes three WebPs, a
    tenth of a second or more on this machine after every confirm. Tests
    marked ``renditions`` have them made; elsewhere the task leaves them,
    and each set stays pending, as before a worker gets to it."""
    if request.node.get_closest_marker("renditions") is None:
        monkeypatch.setattr("uploads.renditions.make", lambda *args, **kwargs: None)


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
def redis_answers():
    """Each test starts with no Redis taken for down (project.cache)."""
    forget_failures()
    yield
    forget_failures()


@pytest.fixture(autouse=True)
def site_language():
    """Each test starts in the site's language (``LANGUAGE_CODE``, French).
    Django's ``LocaleMiddleware`` activates a request's language and leaves
    it active, which a server's next request replaces with its own; in a
    test, the client's request (``Accept-Language: en``) left English to
    the tests after it in the same process, and a test asserting French
    words passed or failed by the tests that ran before it."""
    translation.deactivate()
    yield
    translation.deactivate()


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
    if settings.AWS_STORAGE_BUCKET_NAME:
        # Only then: each change of mode imports the URLconfs again.
        settings.AWS_STORAGE_BUCKET_NAME = ""
    settings.MEDIA_ROOT = tmp_path / "media"
    use_storages(settings)
    return settings.MEDIA_ROOT


@pytest.fixture
def s3_bucket(seaweedfs, s3_client, settings):
    """S3 mode against SeaweedFS, with a fresh bucket for this test."""
    bucket = f"test-{uuid.uuid4().hex[:16]}"
    seaweedfs.ensure_bucket(bucket, client=s3_client)
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
    # Polled often, so that shutdown() returns at once (the default: 0.5 s).
    thread = threading.Thread(target=server.serve_forever, args=(0.02,), daemon=True)
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


@pytest.fixture(scope="session")
def s3_client(seaweedfs):
    """The tests' own client of SeaweedFS, one for the run: making a boto3
    client costs tens of milliseconds, and hundreds of tests ask for one."""
    return seaweedfs.client(REGION)


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
def root(db, django_user_model):
    """A superuser, of no site."""
    return django_user_model.objects.create_superuser("root", "root@example.com", "pw")


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
