"""docker-compose.yml, checked on paper and run without Docker.

No Docker engine runs here, so the compose file is validated with
``docker-compose config``, and its pieces are started as the file starts
them: SeaweedFS through the same start script, PostgreSQL (the machine's),
the one-shot services' commands, then gunicorn with the production settings
and the app service's environment. One upload goes through them end to end
with the Python reference client.
"""

import json
import os
import shutil
import signal
import subprocess
import sys
import time
import urllib.request
import uuid
from pathlib import Path

import psycopg
import pytest
import requests
import yaml
from django.conf import settings as django_settings

from project.seaweedfs import free_weed_ports, weed_binary
from tests.images import jpeg

BASE_DIR = Path(django_settings.BASE_DIR)
SECRETS = {
    "DJANGO_SECRET_KEY": "stack-test-secret-key-0123456789-abcdefghijklmnopqrstuvwxyz",
    "POSTGRES_PASSWORD": "stack-password",
    "AWS_ACCESS_KEY_ID": "stackaccesskey",
    "AWS_SECRET_ACCESS_KEY": "stacksecretkey0123456789",
}
POSTGRES = "postgresql://postgres@127.0.0.1:5432"
LONG_RUNNING = {"app", "db", "s3"}

pytestmark = pytest.mark.slow


def compose_config(tmp_path, variables):
    env_file = tmp_path / "compose.env"
    env_file.write_text("".join(f"{name}={value}\n" for name, value in variables.items()))
    return subprocess.run(
        ["docker-compose", "--env-file", str(env_file), "-f", "docker-compose.yml", "config"],
        cwd=BASE_DIR,
        env={key: value for key, value in os.environ.items() if key not in SECRETS},
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.fixture
def compose(tmp_path):
    result = compose_config(tmp_path, SECRETS)
    assert result.returncode == 0, result.stderr
    return yaml.safe_load(result.stdout)


def test_compose_file_is_valid_and_complete(compose):
    services = compose["services"]
    assert set(services) == {"app", "migrate", "s3-init", "db", "s3"}
    for name in LONG_RUNNING:
        assert services[name]["healthcheck"]["test"], name
    assert services["db"]["image"] == "postgres:16"
    assert services["s3"]["image"].startswith("chrislusf/seaweedfs:")
    assert {volume.split(":")[0] for volume in services["db"]["volumes"]} == {"db-data"}
    assert services["app"]["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
    assert services["app"]["depends_on"]["s3-init"]["condition"] == "service_completed_successfully"
    app = services["app"]["environment"]
    assert app["AWS_S3_ENDPOINT_URL"] == "http://s3:8333"
    assert app["AWS_S3_PUBLIC_ENDPOINT_URL"] == "http://localhost:8333"
    assert app["DJANGO_DEBUG"] == "false"
    assert app["DATABASE_URL"] == "postgres://inventory:stack-password@db:5432/inventory"
    assert services["s3"]["environment"]["S3_ACCESS_KEY"] == SECRETS["AWS_ACCESS_KEY_ID"]


@pytest.mark.parametrize("missing", sorted(SECRETS))
def test_compose_refuses_to_start_without_a_secret(tmp_path, missing):
    result = compose_config(tmp_path, {k: v for k, v in SECRETS.items() if k != missing})

    assert result.returncode != 0
    assert f"set {missing} in .env" in result.stderr


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


@pytest.fixture
def seaweedfs_as_composed(compose, tmp_path):
    """The s3 service: its start script and environment, on free ports."""
    master, volume, filer, s3 = free_weed_ports(4)
    service = compose["services"]["s3"]
    env = {
        **os.environ,
        **service["environment"],
        "DATA_DIR": str(tmp_path / "s3-data"),
        "WEED": weed_binary(),
        "WEED_IP": "127.0.0.1",
        "WEED_BIND": "127.0.0.1",
        "S3_PORT": str(s3),
        "MASTER_PORT": str(master),
        "VOLUME_PORT": str(volume),
        "FILER_PORT": str(filer),
    }
    log = open(tmp_path / "weed.log", "wb")
    process = subprocess.Popen(
        ["sh", str(BASE_DIR / "docker/seaweedfs/start.sh")],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        wait_for(f"http://127.0.0.1:{s3}/healthz", process=process)
        yield s3
    finally:
        stop(process)
        log.close()


@pytest.fixture
def database():
    name = f"inventory_stack_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(f"{POSTGRES}/postgres", autocommit=True) as connection:
        connection.execute(f'CREATE DATABASE "{name}"')
    yield f"{POSTGRES}/{name}"
    with psycopg.connect(f"{POSTGRES}/postgres", autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def test_one_upload_through_gunicorn_postgresql_and_seaweedfs(
    compose, seaweedfs_as_composed, database, tmp_path
):
    s3_port = seaweedfs_as_composed
    (app_port,) = free_weed_ports(1)
    origin = f"http://127.0.0.1:{app_port}"
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "DJANGO_"))},
        **compose["services"]["app"]["environment"],
        # The compose network's names, as this machine reaches them: the
        # app uses 127.0.0.1, clients the public name localhost.
        "DATABASE_URL": database,
        "AWS_S3_ENDPOINT_URL": f"http://127.0.0.1:{s3_port}",
        "AWS_S3_PUBLIC_ENDPOINT_URL": f"http://localhost:{s3_port}",
        "DJANGO_ALLOWED_HOSTS": "127.0.0.1,localhost",
        "DJANGO_CSRF_TRUSTED_ORIGINS": origin,
        "DJANGO_ENV_FILE": str(tmp_path / "absent.env"),
        "DJANGO_STATIC_ROOT": str(tmp_path / "static"),
        "GUNICORN_BIND": f"127.0.0.1:{app_port}",
        "GUNICORN_WORKERS": "2",
    }

    def run(command):
        result = subprocess.run(
            command, cwd=BASE_DIR, env=env, capture_output=True, text=True, timeout=300
        )
        assert result.returncode == 0, f"{command}: {result.stdout}{result.stderr}"
        return result

    for service in ("migrate", "s3-init"):
        run(
            [
                sys.executable if word == "python" else word
                for word in compose["services"][service]["command"]
            ]
        )
    run([sys.executable, "manage.py", "collectstatic", "--noinput"])  # the image's build step
    run([sys.executable, "manage.py", "seed_demo"])

    gunicorn = [shutil.which("gunicorn", path=os.path.dirname(sys.executable))]
    app = subprocess.Popen(
        gunicorn + compose["services"]["app"]["command"][1:],
        cwd=BASE_DIR,
        env=env,
        stdout=open(tmp_path / "app.out", "wb"),
        stderr=open(tmp_path / "app.err", "wb"),
    )
    try:
        wait_for(f"{origin}/healthz", process=app)
        token = requests.post(
            f"{origin}/api/auth/token/",
            json={"username": "dakar-staff", "password": "demo1234"},
            timeout=10,
        ).json()["token"]
        headers = {"Authorization": f"Token {token}"}
        product = requests.get(f"{origin}/api/products/", headers=headers, timeout=10).json()[
            "results"
        ][0]
        photo = tmp_path / "riz.jpg"
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
    finally:
        stop(app)

    lines = (tmp_path / "app.out").read_text().splitlines()
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
