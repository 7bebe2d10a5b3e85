"""A Redis of the tests' own (Debian's redis-server, which ``make test``
installs), for the throttles and the stack shared by several processes."""

import shutil
import subprocess
import time
from contextlib import contextmanager

import redis

from project.seaweedfs import free_weed_ports


@contextmanager
def redis_server(directory, *arguments):
    """A Redis of its own on a free port, started in ``directory`` with
    ``arguments``; gives the port."""
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
