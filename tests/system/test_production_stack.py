"""docker-compose.yml, checked on paper and run without Docker.

No Docker engine runs here, so the compose file is validated with
``docker-compose config``, and its pieces are started as the file starts
them, in every order its ``depends_on`` allows: SeaweedFS through the same
start script, Redis with the same command, a fresh PostgreSQL database, the
one-shot services' commands, then gunicorn with the image's and the app
service's environment. One upload goes through them end to end with the
Python reference client.
"""

import itertools
import json
import os
import shlex
import shutil
import signal
import subprocess
import sys
import time
import urllib.request
import uuid
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import boto3
import psycopg
import pytest
import redis
import requests
import yaml
from botocore.config import Config
from django.conf import settings as django_settings
from dotenv import dotenv_values

from project.seaweedfs import free_weed_ports, weed_binary
from tests.conftest import bucket_keys, redis_server
from tests.images import jpeg
from tests.test_settings import CLEAN, manage

BASE_DIR = Path(django_settings.BASE_DIR)
SECRETS = {
    "DJANGO_SECRET_KEY": "stack-test-secret-key-0123456789-abcdefghijklmnopqrstuvwxyz",
    "POSTGRES_PASSWORD": "stack-password",
    "AWS_ACCESS_KEY_ID": "stackaccesskey",
    "AWS_SECRET_ACCESS_KEY": "stacksecretkey0123456789",
}
# Every variable the operator may set in .env, as .env.example documents them.
DOCUMENTED = dotenv_values(BASE_DIR / ".env.example")
# The variables compose sets itself, whatever .env says (the README and
# .env.example say so): its own database, store and published port.
SET_BY_COMPOSE = {"DATABASE_URL", "AWS_S3_ENDPOINT_URL", "GUNICORN_BIND"}
# Without a PostgreSQL DATABASE_URL, the stack's database is made here.
LOCAL_POSTGRES = "postgresql://postgres@127.0.0.1:5432"
# The services made of an image of their own, and how this test runs each
# (a fixture below); the others are built from the Dockerfile.
RUN_HERE = {"db", "s3", "redis"}

pytestmark = pytest.mark.slow


def compose_config(tmp_path, variables):
    """``docker-compose config`` for a project folder whose .env holds
    ``variables``, as ``cp .env.example .env`` and an editor leave it."""
    project = tmp_path / "compose-project"
    project.mkdir(exist_ok=True)
    (project / ".env").write_text("".join(f"{name}={value}\n" for name, value in variables.items()))
    return subprocess.run(
        [
            "docker-compose",
            "--project-directory",
            str(project),
            "-f",
            str(BASE_DIR / "docker-compose.yml"),
            "config",
        ],
        cwd=project,
        # The shell's variables would win over .env: none of this test's.
        env={k: v for k, v in os.environ.items() if k not in {*SECRETS, *DOCUMENTED}},
        capture_output=True,
        text=True,
        timeout=60,
    )


def readme_env(**changes):
    """.env as the README makes it: .env.example with the secrets set."""
    return {**DOCUMENTED, **SECRETS, **changes}


@pytest.fixture
def compose(tmp_path):
    result = compose_config(tmp_path, readme_env())
    assert result.returncode == 0, result.stderr
    return yaml.safe_load(result.stdout)


def image_environment():
    """The Dockerfile's ENV: what every container of the image starts with."""
    text = (BASE_DIR / "Dockerfile").read_text().replace("\\\n", " ")
    return dict(
        word.split("=", 1)
        for line in text.splitlines()
        if line.startswith("ENV ")
        for word in shlex.split(line[4:])
    )


def built_services(services):
    return {name: service for name, service in services.items() if "build" in service}


def test_compose_file_is_valid_and_complete(compose):
    services = compose["services"]
    assert set(services) == {"app", "worker", "migrate", "s3-init", "db", "s3", "redis"}
    assert set(services) - set(built_services(services)) == RUN_HERE
    for name in ("app", *RUN_HERE):
        assert services[name]["healthcheck"]["test"], name
    assert services["db"]["image"] == "postgres:16"
    assert services["s3"]["image"].startswith("chrislusf/seaweedfs:")
    assert services["redis"]["image"].startswith("redis:")
    assert {volume.split(":")[0] for volume in services["db"]["volumes"]} == {"db-data"}
    assert services["app"]["depends_on"]["s3-init"]["condition"] == "service_completed_successfully"
    assert services["app"]["depends_on"]["redis"]["condition"] == "service_healthy"
    worker = services["worker"]
    assert worker["command"][-1] == "db_worker"
    assert worker["environment"] == services["app"]["environment"]
    assert worker["healthcheck"]["test"] == ["NONE"], "the image's healthcheck asks a web server"
    app = services["app"]["environment"]
    assert app["AWS_S3_ENDPOINT_URL"] == "http://s3:8333"
    assert app["AWS_S3_PUBLIC_ENDPOINT_URL"] == "http://localhost:8333"
    assert app["REDIS_URL"] == "redis://redis:6379/0"
    assert app["DJANGO_STATIC_IN_BUCKET"] == "false"
    assert app["DATABASE_URL"] == "postgres://inventory:stack-password@db:5432/inventory"
    assert services["s3"]["environment"]["S3_ACCESS_KEY"] == SECRETS["AWS_ACCESS_KEY_ID"]


@pytest.mark.parametrize("missing", sorted(SECRETS))
def test_compose_refuses_to_start_without_a_secret(tmp_path, missing):
    result = compose_config(tmp_path, readme_env(**{missing: ""}))

    assert result.returncode != 0
    assert f"set {missing} in .env" in result.stderr


def test_every_documented_variable_reaches_the_app_services(tmp_path):
    """Whatever .env.example documents and the operator sets in .env is what
    the app, migrate and init_bucket see, but for the few variables compose
    sets itself."""
    chosen = {
        name: str(18000 + number) if name.endswith("_PORT") else f"{name.lower()}-from-env"
        for number, name in enumerate(DOCUMENTED)
    }
    result = compose_config(tmp_path, {**chosen, **SECRETS})
    assert result.returncode == 0, result.stderr
    services = built_services(yaml.safe_load(result.stdout)["services"])

    assert set(services) == {"app", "worker", "migrate", "s3-init"}
    for name, service in services.items():
        environment = service["environment"]
        for variable, value in {**chosen, **SECRETS}.items():
            if variable not in SET_BY_COMPOSE:
                assert environment.get(variable) == value, (name, variable)
        assert environment["DATABASE_URL"].endswith("@db:5432/postgres_db-from-env"), name
        assert environment["AWS_S3_ENDPOINT_URL"] == "http://s3:8333", name
        assert environment["GUNICORN_BIND"] == "0.0.0.0:8000", name


def test_every_service_using_the_database_waits_for_migrate(compose):
    """On an empty machine the tables exist only once migrate has run: any
    other service that reads them (init_bucket reads the sites) must start
    after migrate has completed, or it fails and the app never starts."""
    services = compose["services"]
    assert services["migrate"]["depends_on"]["db"]["condition"] == "service_healthy"
    users = [
        name
        for name, service in services.items()
        if name != "migrate" and "DATABASE_URL" in service.get("environment", {})
    ]
    assert set(users) == {"app", "worker", "s3-init"}
    for name in users:
        depends_on = services[name]["depends_on"]
        assert depends_on.get("migrate", {}).get("condition") == (
            "service_completed_successfully"
        ), name


def test_the_database_is_healthy_only_once_it_accepts_connections_over_tcp(compose):
    """On a fresh volume the postgres image first runs a temporary server on
    its Unix socket only, then restarts: a healthcheck on the socket lets
    migrate start against a server that other containers cannot reach yet."""
    check = " ".join(compose["services"]["db"]["healthcheck"]["test"])
    assert "pg_isready" in check and "-h 127.0.0.1" in check


def test_the_image_serves_its_static_files_in_s3_mode(tmp_path):
    """``docker run`` with a bucket and nothing about static files: the
    image's files, served by the app (whitenoise), not a bucket left empty."""
    result = manage(
        tmp_path,
        "shell",
        "-c",
        "from django.conf import settings; print(settings.STATIC_IN_BUCKET, settings.MIDDLEWARE)",
        **image_environment(),
        AWS_STORAGE_BUCKET_NAME="shop-media",
        AWS_ACCESS_KEY_ID="AKIAEXAMPLE",
        AWS_SECRET_ACCESS_KEY="secret",
    )

    assert result.returncode == 0, result.stderr
    in_bucket, middleware = result.stdout.splitlines()[-1].split(" ", 1)
    assert in_bucket == "False"
    assert "whitenoise.middleware.WhiteNoiseMiddleware" in middleware


def test_gunicorn_reads_env_file_and_takes_an_empty_value_as_the_default(tmp_path):
    env_file = tmp_path / "gunicorn.env"
    env_file.write_text("GUNICORN_THREADS=3\nGUNICORN_TIMEOUT=45\nGUNICORN_WORKERS=\n")
    script = (
        "import runpy; c = runpy.run_path('gunicorn.conf.py'); "
        "print(c['bind'], c['workers'], c['threads'], c['timeout'])"
    )
    result = subprocess.run(
        [sys.executable, "-c", script],
        cwd=BASE_DIR,
        env={
            **{k: v for k, v in CLEAN.items() if k not in DOCUMENTED},
            "DJANGO_ENV_FILE": str(env_file),
        },
        capture_output=True,
        text=True,
        timeout=60,
    )

    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["0.0.0.0:8000", "2", "3", "45"]


# --- The stack, without Docker ---------------------------------------------------


def wait_for(url, timeout=60, process=None):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise AssertionError(f"exited with {process.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.3)
    raise AssertionError(f"{url} did not answer 200 in {timeout}s")


def stop(process):
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


class ComposedSeaweedFS:
    """The s3 service: its start script and environment, on free ports
    chosen once, so that a restart comes back where clients knew it, on the
    same data, as the container does after a crash."""

    def __init__(self, service, data_dir):
        self.data_dir = data_dir
        self.s3_port, *others = free_weed_ports(4)
        master, volume, filer = others
        self.env = {
            **os.environ,
            **service["environment"],
            "DATA_DIR": str(data_dir),
            "WEED": weed_binary(),
            "WEED_IP": "127.0.0.1",
            "WEED_BIND": "127.0.0.1",
            "S3_PORT": str(self.s3_port),
            "MASTER_PORT": str(master),
            "VOLUME_PORT": str(volume),
            "FILER_PORT": str(filer),
        }
        self.process = None

    def start(self):
        with open(self.data_dir.parent / f"{self.data_dir.name}.log", "ab") as log:
            self.process = subprocess.Popen(
                ["sh", str(BASE_DIR / "docker/seaweedfs/start.sh")],
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        wait_for(f"http://127.0.0.1:{self.s3_port}/healthz", process=self.process)

    def kill(self):
        """SIGKILL: no chance to flush or close anything (the script execs weed)."""
        self.process.kill()
        self.process.wait()

    def stop(self):
        if self.process is not None:
            stop(self.process)

    def __enter__(self):
        try:
            self.start()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *exc_info):
        self.stop()


@pytest.fixture
def seaweedfs_as_composed(compose, tmp_path):
    with ComposedSeaweedFS(compose["services"]["s3"], tmp_path / "s3-data") as server:
        yield server.s3_port


@pytest.fixture
def redis_as_composed(compose, tmp_path):
    """The redis service: its command, on a free port of this machine."""
    program, *arguments = compose["services"]["redis"]["command"]
    assert program == "redis-server"
    with redis_server(tmp_path, *arguments) as port:
        yield port


def postgres_server():
    """The PostgreSQL server the suite runs on (DATABASE_URL), else the local one."""
    parts = urlsplit(os.environ.get("DATABASE_URL", ""))
    if parts.scheme not in ("postgres", "postgresql", "pgsql"):
        parts = urlsplit(LOCAL_POSTGRES)
    return parts._replace(scheme="postgresql", path="", fragment="")


@pytest.fixture
def new_database():
    with database_maker() as create:
        yield create


@contextmanager
def database_maker():
    """Makes fresh, empty databases on that server: compose's db service on
    a new volume. Drops them on the way out."""
    server = postgres_server()
    maintenance = urlunsplit(server._replace(path="/postgres"))
    made = []

    def admin(statement):
        try:
            with psycopg.connect(maintenance, autocommit=True) as connection:
                connection.execute(statement)
        except psycopg.Error as exc:
            pytest.fail(
                "The compose stack runs on PostgreSQL: this test makes its database on the "
                "server DATABASE_URL names, else on 127.0.0.1:5432 as user postgres, and that "
                f"user must be allowed to create databases ({server.hostname}:"
                f"{server.port or 5432} as {server.username}): {exc}"
            )

    def create():
        name = f"inventory_stack_{uuid.uuid4().hex[:10]}"
        admin(f'CREATE DATABASE "{name}"')
        made.append(name)
        return urlunsplit(server._replace(path=f"/{name}"))

    yield create
    for name in made:
        admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def start_orders(services, running):
    """Every order in which compose may start the services not ``running``
    yet: each only once every service of its ``depends_on`` is healthy or
    has completed. Services whose dependencies are met together start
    together and race, so each of their orders can happen."""
    pending = [name for name in services if name not in running]
    return [
        order
        for order in itertools.permutations(pending)
        if all(
            set(services[name].get("depends_on", {})) <= {*running, *order[:position]}
            for position, name in enumerate(order)
        )
    ]


def as_run_here(command):
    """A service's command with this virtualenv's python and gunicorn."""
    programs = {
        "python": sys.executable,
        "gunicorn": shutil.which("gunicorn", path=os.path.dirname(sys.executable)),
    }
    return [programs.get(command[0], command[0]), *command[1:]]


def test_a_first_up_converges_in_every_start_order_and_serves_an_upload(
    compose, seaweedfs_as_composed, redis_as_composed, new_database, tmp_path
):
    """``docker compose up`` on an empty machine, run once for each order in
    which compose may start the services: each time on a fresh database and
    bucket, every one-shot succeeds, the app comes up healthy, and an upload
    goes through it."""
    services = compose["services"]
    orders = start_orders(services, running=RUN_HERE)
    assert orders, "depends_on allows no start order"
    for number, order in enumerate(orders):
        redis.Redis(port=redis_as_composed).flushdb()  # a new container: empty
        up_and_upload(
            compose,
            order,
            database=new_database(),
            s3_port=seaweedfs_as_composed,
            redis_port=redis_as_composed,
            workdir=tmp_path / f"order-{number}",
        )


def app_environment(compose, database, s3_port, redis_port, app_port, workdir):
    """The environment of the app and one-shot services: the image's, the
    app service's, and the compose network's names as this machine reaches
    them (gunicorn on ``app_port``). A bucket of ``workdir``'s name."""
    service = compose["services"]["app"]["environment"]
    return {
        **{k: v for k, v in CLEAN.items() if k not in DOCUMENTED},
        **image_environment(),
        **service,
        # The compose network's names, as this machine reaches them: the
        # app uses 127.0.0.1, clients the public name localhost. A fresh
        # bucket, as on a new s3-data volume.
        "DATABASE_URL": database,
        "REDIS_URL": f"redis://127.0.0.1:{redis_port}/0",
        "AWS_STORAGE_BUCKET_NAME": f"{service['AWS_STORAGE_BUCKET_NAME']}-{workdir.name}",
        "AWS_S3_ENDPOINT_URL": f"http://127.0.0.1:{s3_port}",
        "AWS_S3_PUBLIC_ENDPOINT_URL": f"http://localhost:{s3_port}",
        "DJANGO_ALLOWED_HOSTS": "127.0.0.1,localhost",
        "DJANGO_CSRF_TRUSTED_ORIGINS": f"http://127.0.0.1:{app_port}",
        "DJANGO_ENV_FILE": str(workdir / "absent.env"),
        "DJANGO_STATIC_ROOT": str(workdir / "static"),
        "GUNICORN_BIND": f"127.0.0.1:{app_port}",
    }


def up_and_upload(compose, order, database, s3_port, redis_port, workdir):
    workdir.mkdir()
    services = compose["services"]
    (app_port,) = free_weed_ports(1)
    origin = f"http://127.0.0.1:{app_port}"
    env = app_environment(compose, database, s3_port, redis_port, app_port, workdir)

    def run(command, after=()):
        result = subprocess.run(
            command, cwd=BASE_DIR, env=env, capture_output=True, text=True, timeout=300
        )
        assert result.returncode == 0, (
            f"{command} exited {result.returncode} when started after {list(after)} "
            f"on a fresh machine: {result.stdout}{result.stderr}"
        )
        return result

    # The image's build step.
    run([sys.executable, "manage.py", "collectstatic", "--noinput"])
    servers = {}  # the services that keep running: app, worker
    try:
        for position, name in enumerate(order):
            command = as_run_here(services[name]["command"])
            if services[name].get("restart") == "no":
                run(command, after=order[:position])
                continue
            assert name in ("app", "worker"), f"no way to run {name} here"
            servers[name] = subprocess.Popen(
                command,
                cwd=BASE_DIR,
                env=env,
                stdout=open(workdir / f"{name}.out", "wb"),
                stderr=open(workdir / f"{name}.err", "wb"),
            )
            if name == "app":
                wait_for(f"{origin}/healthz", process=servers[name])
        assert set(servers) == {"app", "worker"}
        run([sys.executable, "manage.py", "seed_demo"])

        token = requests.post(
            f"{origin}/api/auth/token/",
            json={"username": "dakar-staff", "password": "demo1234"},
            timeout=10,
        ).json()["token"]
        headers = {"Authorization": f"Token {token}"}
        product = requests.get(f"{origin}/api/products/", headers=headers, timeout=10).json()[
            "results"
        ][0]
        photo = workdir / "riz.jpg"
        photo.write_bytes(jpeg((800, 600)))

        upload = subprocess.run(
            [
                sys.executable,
                str(BASE_DIR / "frontend_snippets/upload_client.py"),
                "upload",
                str(photo),
                "--product",
                str(product["id"]),
                "--server",
                origin,
                "--token",
                token,
            ],
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert upload.returncode == 0, upload.stderr
        image = json.loads(upload.stdout)
        assert (image["width"], image["height"]) == (800, 600)
        assert image["url"].startswith(f"http://localhost:{s3_port}/")
        assert requests.get(image["url"], timeout=10).content == photo.read_bytes()
        listed = requests.get(
            f"{origin}/api/products/{product['id']}/", headers=headers, timeout=10
        ).json()
        assert listed["image_url"].startswith(f"http://localhost:{s3_port}/")
        snippet = requests.get(f"{origin}/static/snippets/direct-upload.js", timeout=10)
        assert snippet.status_code == 200 and "uploadImage" in snippet.text

        # The worker deletes what the confirms left: the uploads they copied.
        bucket = env["AWS_STORAGE_BUCKET_NAME"]
        store = boto3.client(
            "s3",
            endpoint_url=env["AWS_S3_ENDPOINT_URL"],
            aws_access_key_id=SECRETS["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=SECRETS["AWS_SECRET_ACCESS_KEY"],
            region_name="us-east-1",
            config=Config(s3={"addressing_style": "path"}),
        )
        deadline = time.monotonic() + 30
        while [key for key in bucket_keys(store, bucket) if "/incoming/" in key]:
            assert servers["worker"].poll() is None, (workdir / "worker.err").read_text()
            assert time.monotonic() < deadline, "the worker never deleted the copied uploads"
            time.sleep(0.5)
        assert image["key"] in bucket_keys(store, bucket)
        # The next order's machine starts with a new s3-data volume: this
        # one's bucket goes, and with it its volumes (the composed store
        # allots only as many as its free disk holds at their full size).
        for key in bucket_keys(store, bucket):
            store.delete_object(Bucket=bucket, Key=key)
        store.delete_bucket(Bucket=bucket)
    finally:
        for server in servers.values():
            stop(server)

    # The throttles (login, tickets) counted in the shared Redis.
    assert redis.Redis(port=redis_port).keys("inventory:*")
    lines = (workdir / "app.out").read_text().splitlines()
    entries = [json.loads(line) for line in lines]  # every line on stdout is JSON
    events = [entry for entry in entries if entry.get("logger") == "uploads.events"]
    assert [(e["event"], e["outcome"]) for e in events] == [
        ("ticket", "issued"),
        ("confirm", "confirmed"),
    ]
    site = events[0]["site"]
    assert all(e["site"] == site and e["kind"] == "product" for e in events)
    assert all(e["size"] == photo.stat().st_size for e in events)
    assert any(e.get("logger") == "gunicorn.access" and e["path"] == "/healthz" for e in entries)
