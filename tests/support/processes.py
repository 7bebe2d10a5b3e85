"""Running the project's commands in processes of their own, as an operator
or a second app instance would, with an environment the test chooses."""

import contextlib
import os
import re
import secrets
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parents[2]
# Every variable .env.example documents.
ENV_EXAMPLE = set(re.findall(r"^([A-Z0-9_]+)=", (BASE_DIR / ".env.example").read_text(), re.M))
# This process's environment without anything that configures the project,
# so that the developer's settings never reach the processes under test.
CLEAN = {
    key: value
    for key, value in os.environ.items()
    if not key.startswith(("AWS_", "DJANGO_", "GUNICORN_", "DATABASE_URL"))
    and key not in ENV_EXAMPLE
}
# What the production settings need (with ``environment``).
PRODUCTION = {
    "DJANGO_SECRET_KEY": secrets.token_urlsafe(50),
    "DJANGO_ALLOWED_HOSTS": "shop.example.com",
    "DJANGO_HTTPS": "true",
}


def environment(tmp_path, **variables):
    """A clean environment with ``variables``; one set to ``None`` is left
    out."""
    env = {
        **CLEAN,
        # Away from the developer's .env and database.
        "DJANGO_ENV_FILE": str(tmp_path / "absent.env"),
        "DATABASE_URL": f"sqlite:///{tmp_path / 'check.sqlite3'}",
        "DJANGO_SECRET_KEY": "a-long-random-secret-for-the-checks-only-0123456789",
        **variables,
    }
    return {key: value for key, value in env.items() if value is not None}


def dev_environment(tmp_path):
    """The environment of a development server in filesystem mode, on one
    SQLite file that runserver and the task worker share, migrated."""
    env = environment(
        tmp_path,
        DJANGO_DEBUG="true",
        DATABASE_URL=f"sqlite:///{tmp_path / 'db.sqlite3'}",
        DJANGO_MEDIA_ROOT=str(tmp_path / "media"),
        DJANGO_LOG_FORMAT="text",
    )
    manage(env, "migrate", "--noinput", "-v0")
    return env


def run_manage(tmp_path, *command, **variables):
    """``manage.py command`` in a clean environment (see ``environment``);
    the completed process, whatever its exit status, for tests of failures."""
    return subprocess.run(
        [sys.executable, "manage.py", *command],
        cwd=BASE_DIR,
        env=environment(tmp_path, **variables),
        capture_output=True,
        text=True,
        timeout=60,
    )


def manage(env, *command):
    """``manage.py COMMAND`` with ``env``; its output. Fails the test, with
    what the command printed, unless it exits 0."""
    return python(env, "manage.py", *command)


def python(env, *arguments, timeout=120):
    """``python ARGUMENTS`` in the project's folder with ``env``; its
    output. Fails the test, with what it printed, unless it exits 0."""
    result = subprocess.run(
        [sys.executable, *arguments],
        cwd=BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


def wait_for(url, timeout=60, process=None):
    """Waits until ``url`` answers 200; fails if ``process`` exits first."""
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
    """SIGTERM, as a container is stopped; SIGKILL after 5 s."""
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@contextlib.contextmanager
def running(env, log_path, *command):
    """``manage.py COMMAND`` with ``env`` in the background until the block
    ends (then ``stop``); its output goes to ``log_path``."""
    with open(log_path, "wb") as log:
        process = subprocess.Popen(
            [sys.executable, "manage.py", *command],
            cwd=BASE_DIR,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:
            yield process
        finally:
            stop(process)


def task_worker(env, log_path):
    """``manage.py db_worker``, as ``make run`` and the compose stack's
    ``worker`` service run it (see ``running``)."""
    return running(
        env, log_path, "db_worker", "--no-reload", "--no-startup-delay", "--interval", "0.2"
    )
