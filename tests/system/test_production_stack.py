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
import subprocess
import sys
import time

import boto3
import pytest
import redis
import requests
import yaml
from botocore.config import Config

from project.seaweedfs import free_weed_ports
from tests.support.compose import (
    DOCUMENTED,
    SECRETS,
    ComposedSeaweedFS,
    app_environment,
    as_run_here,
    compose_config,
    image_environment,
    readme_env,
)
from tests.support.images import jpeg
from tests.support.processes import BASE_DIR, CLEAN, run_manage, stop, wait_for
from tests.support.redis_server import redis_server
from tests.support.stores import bucket_keys

# The variables compose sets itself, whatever .env says (the README and
# .env.example say so): its own database, store and published port.
SET_BY_COMPOSE = {"DATABASE_URL", "AWS_S3_ENDPOINT_URL", "GUNICORN_BIND"}
# The services made of an image of their own, and how this test runs each
# (a fixture below); the others are built from the Dockerfile.
RUN_HERE = {"db", "s3", "redis"}


@pytest.fixture
def compose(tmp_path):
    result = compose_config(tmp_path, readme_env())
    assert result.returncode == 0, result.stderr
    return yaml.safe_load(result.stdout)


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
    # migrate gives the permission cache a new version, or fails.
    assert services["migrate"]["depends_on"]["redis"]["condition"] == "service_healthy"
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
    result = run_manage(
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


@pytest.fixture
def seaweedfs_as_composed(compose, tmp_path):
    with ComposedSeaweedFS(compose["services"]["s3"], tmp_path / "s3-data") as server:
        yield server.s3_port


# SeaweedFS grows a collection by this many volumes at its first write
# (one copy of each): a bucket is one collection, the filer's own files
# another.
VOLUME_GROWTH = 7


def test_the_composed_store_has_volumes_for_its_bucket_besides_the_filers(compose, tmp_path):
    """The volume server allots as many volumes as its free disk holds at
    their full size. At SeaweedFS's default of 30 GB a volume, a CI machine
    with 75 GB free had 2: the filer's own files took both, and the first
    upload to the bucket failed with 500 InternalError ("No writable volumes
    and no free volumes left"). docker/seaweedfs/start.sh makes them 1 GB."""
    with ComposedSeaweedFS(compose["services"]["s3"], tmp_path / "s3-data") as server:
        status = f"http://127.0.0.1:{server.env['MASTER_PORT']}/dir/status"
        deadline = time.monotonic() + 30
        # The master counts the volume server's slots once it has reported.
        while not (slots := requests.get(status, timeout=5).json()["Topology"]["Max"]):
            assert time.monotonic() < deadline, "the volume server never reported"
            time.sleep(0.5)
    assert slots >= 2 * VOLUME_GROWTH, slots


@pytest.fixture
def redis_as_composed(compose, tmp_path):
    """The redis service: its command, on a free port of this machine."""
    program, *arguments = compose["services"]["redis"]["command"]
    assert program == "redis-server"
    with redis_server(tmp_path, *arguments) as port:
        yield port


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
        # The worker makes the renditions the API links, within seconds.
        deadline = time.monotonic() + 60
        while True:
            listed = requests.get(
                f"{origin}/api/products/{product['id']}/", headers=headers, timeout=10
            ).json()
            if listed["image_state"] != "pending":
                break
            assert servers["worker"].poll() is None, (workdir / "worker.err").read_text()
            assert time.monotonic() < deadline, "the worker never made the renditions"
            time.sleep(0.5)
        assert listed["image_state"] == "ready", listed
        assert listed["image_url"].startswith(f"http://localhost:{s3_port}/")
        shown = requests.get(listed["image_url"], timeout=10)
        assert shown.status_code == 200 and shown.content[8:12] == b"WEBP", shown.content[:16]
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
        for key in bucket_keys(store, bucket, renditions=True):
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
