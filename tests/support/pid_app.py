"""A WSGI app that answers which process served it, after the pause its
query string gives in seconds: for tests of how gunicorn's workers share
connections (tests/project/test_gunicorn_worker.py)."""

import os
import time


def app(environ, start_response):
    time.sleep(float(environ.get("QUERY_STRING") or 0))
    body = str(os.getpid()).encode()
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))])
    return [body]
