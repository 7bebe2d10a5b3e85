"""
gunicorn settings for production (the Docker image and the stack test).
Each can be overridden from the environment or the ``.env`` file that the
Django settings read (``.env.example`` lists them under "gunicorn").

The variables are read with ``project.env`` like the app's, so that
``manage.py check`` reports a bad one (``project.checks`` loads this file);
gunicorn runs that check before it starts any worker.
"""

import os
import subprocess
import sys
from pathlib import Path

from dotenv import load_dotenv
from gunicorn.config import Config
from gunicorn.util import parse_address

from project.env import Env

# gunicorn reads this file before Django loads: the same file, the same rule
# (the environment wins over it).
load_dotenv(os.environ.get("DJANGO_ENV_FILE") or Path(__file__).resolve().parent / ".env")
env = Env()

bind = env.parsed("GUNICORN_BIND", "0.0.0.0:8000", parse_address, "host:port or unix:/path")
# Threads suit this app: requests wait on the database and the store, and
# image bytes never pass through it. gunicorn's gthread worker, taking a
# connection only with a thread free to serve it, so that connections spread
# over the workers (project.gunicorn_worker).
worker_class = "project.gunicorn_worker.ThreadWorker"
workers = env.int("GUNICORN_WORKERS", 2, minimum=1)
threads = env.int("GUNICORN_THREADS", 8, minimum=1)
# 0 waits for ever.
timeout = env.int("GUNICORN_TIMEOUT", 30, minimum=0)
graceful_timeout = 20
# Recycle workers now and then, at different moments.
max_requests = 2000
max_requests_jitter = 200
# Trust X-Forwarded-* only from the load balancer in front.
forwarded_allow_ips = env.parsed(
    "FORWARDED_ALLOW_IPS",
    "127.0.0.1",
    lambda value: Config().set("forwarded_allow_ips", value),
    "IP addresses or networks separated by commas, or *",
)

# Logs on stdout, the access log as JSON lines like the app's.
accesslog = "-"
errorlog = "-"
access_log_format = (
    '{"time": "%(t)s", "logger": "gunicorn.access", "method": "%(m)s", "path": "%(U)s", '
    '"status": %(s)s, "bytes": "%(B)s", "duration_ms": %(M)s, "remote": "%(h)s"}'
)


def post_worker_init(worker):
    """Requests that gunicorn refuses before the app (a header or request
    line over its limits) get the API's JSON error, not an HTML page."""
    from project import gunicorn_errors

    gunicorn_errors.install()


def on_starting(server):
    """Run the configuration checks before any worker starts, as runserver
    does: gunicorn prints a RuntimeError raised here as one message and exits
    1, where workers failing to boot would print tracebacks (project.wsgi
    refuses a bad configuration too). In a subprocess, so that the master
    loads no app code and a HUP still reloads it."""
    check = subprocess.run(
        [sys.executable, "manage.py", "check", "--tag", "compatibility"],
        cwd=Path(__file__).resolve().parent,
        capture_output=True,
        text=True,
    )
    if check.returncode:
        raise RuntimeError(check.stderr.strip())
