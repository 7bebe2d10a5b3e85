"""
gunicorn settings for production (the Docker image and the stack test).
Each can be overridden from the environment or the ``.env`` file that the
Django settings read (``.env.example`` lists them under "gunicorn").
"""

import os
from pathlib import Path

from dotenv import load_dotenv

# gunicorn reads this file before Django loads: the same file, the same rule
# (the environment wins over it).
load_dotenv(os.environ.get("DJANGO_ENV_FILE") or Path(__file__).resolve().parent / ".env")


def setting(name, default):
    """An empty value (``GUNICORN_THREADS=`` in .env) means the default."""
    return os.environ.get(name) or default


bind = setting("GUNICORN_BIND", "0.0.0.0:8000")
# Threads suit this app: requests wait on the database and the store, and
# image bytes never pass through it.
worker_class = "gthread"
workers = int(setting("GUNICORN_WORKERS", "2"))
threads = int(setting("GUNICORN_THREADS", "8"))
timeout = int(setting("GUNICORN_TIMEOUT", "30"))
graceful_timeout = 20
# Recycle workers now and then, at different moments.
max_requests = 2000
max_requests_jitter = 200
# Trust X-Forwarded-* only from the load balancer in front.
forwarded_allow_ips = setting("FORWARDED_ALLOW_IPS", "127.0.0.1")

# Logs on stdout, the access log as JSON lines like the app's.
accesslog = "-"
errorlog = "-"
access_log_format = (
    '{"time": "%(t)s", "logger": "gunicorn.access", "method": "%(m)s", "path": "%(U)s", '
    '"status": %(s)s, "bytes": "%(B)s", "duration_ms": %(M)s, "remote": "%(h)s"}'
)
