"""docker-compose.yml's stack run without Docker, for the stack test, the
load test and the benchmarks: ``docker-compose config`` for a project
folder, each service started as the file starts it (SeaweedFS through its
start script, a fresh PostgreSQL database, the app's environment as the
image and the app service set it)."""

import os
import shlex
import shutil
import subprocess
import sys
import uuid
from contextlib import contextmanager
from urllib.parse import urlsplit, urlunsplit

import psycopg
import pytest
from dotenv import dotenv_values

from project.seaweedfs import START_ATTEMPTS, PortTaken, free_weed_ports, weed_binary
from tests.support.processes import BASE_DIR, CLEAN, stop, wait_for

SECRETS = {
    "DJANGO_SECRET_KEY": "stack-test-secret-key-0123456789-abcdefghijklmnopqrstuvwxyz",
    "POSTGRES_PASSWORD": "stack-password",
    "AWS_ACCESS_KEY_ID": "stackaccesskey",
    "AWS_SECRET_ACCESS_KEY": "stacksecretkey0123456789",
}
# Every variable the operator may set in .env, as .env.example documents them.
DOCUMENTED = dotenv_values(BASE_DIR / ".env.example")
# Without a PostgreSQL DATABASE_URL, the stack's database is made here.
LOCAL_POSTGRES = "postgresql://postgres@127.0.0.1:5432"


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


def image_environment():
    """The Dockerfile's ENV: what every container of the image starts with."""
    text = (BASE_DIR / "Dockerfile").read_text().replace("\\\n", " ")
    return dict(
        word.split("=", 1)
        for line in text.splitlines()
        if line.startswith("ENV ")
        for word in shlex.split(line[4:])
    )


class ComposedSeaweedFS:
    """The s3 service: its start script and environment, on free ports
    chosen once, so that a restart comes back where clients knew it, on the
    same data, as the container does after a crash. Only the first start
    moves to other ports, when another process took one of them between
    their check and weed's bind (as ``project.seaweedfs.SeaweedFS`` does)."""

    def __init__(self, service, data_dir):
        self.data_dir = data_dir
        self.log_path = data_dir.parent / f"{data_dir.name}.log"
        self.env = {
            **os.environ,
            **service["environment"],
            "DATA_DIR": str(data_dir),
            "WEED": weed_binary(),
            "WEED_IP": "127.0.0.1",
            "WEED_BIND": "127.0.0.1",
        }
        self.pick_ports()
        self.process = None

    def pick_ports(self):
        self.s3_port, master, volume, filer = free_weed_ports(4)
        self.env.update(
            S3_PORT=str(self.s3_port),
            MASTER_PORT=str(master),
            VOLUME_PORT=str(volume),
            FILER_PORT=str(filer),
        )

    def start(self):
        with open(self.log_path, "ab") as log:
            log_start = log.tell()  # where this run's lines begin
            self.process = subprocess.Popen(
                ["sh", str(BASE_DIR / "docker/seaweedfs/start.sh")],
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        try:
            wait_for(f"http://127.0.0.1:{self.s3_port}/healthz", process=self.process)
        except AssertionError:
            if self.process.poll() is not None and self.port_was_taken(log_start):
                raise PortTaken(f"a port of SeaweedFS was taken; see {self.log_path}") from None
            raise

    def port_was_taken(self, log_start):
        with open(self.log_path, "rb") as log:
            log.seek(log_start)
            return b"address already in use" in log.read()

    def start_on_free_ports(self):
        for attempt in range(1, START_ATTEMPTS + 1):
            try:
                return self.start()
            except PortTaken:
                if attempt == START_ATTEMPTS:
                    raise
                self.pick_ports()

    def kill(self):
        """SIGKILL: no chance to flush or close anything (the script execs weed)."""
        self.process.kill()
        self.process.wait()

    def stop(self):
        if self.process is not None:
            stop(self.process)

    def __enter__(self):
        try:
            self.start_on_free_ports()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *exc_info):
        self.stop()


def postgres_server():
    """The PostgreSQL server the suite runs on (DATABASE_URL), else the local one."""
    parts = urlsplit(os.environ.get("DATABASE_URL", ""))
    if parts.scheme not in ("postgres", "postgresql", "pgsql"):
        parts = urlsplit(LOCAL_POSTGRES)
    return parts._replace(scheme="postgresql", path="", fragment="")


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


def as_run_here(command):
    """A service's command with this virtualenv's python and gunicorn."""
    programs = {
        "python": sys.executable,
        "gunicorn": shutil.which("gunicorn", path=os.path.dirname(sys.executable)),
    }
    return [programs.get(command[0], command[0]), *command[1:]]


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
