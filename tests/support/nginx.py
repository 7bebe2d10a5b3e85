"""
A buffering reverse proxy in front of gunicorn, as a deployment puts one:
Debian's nginx (``make test`` installs it), started on a free port with a
configuration, pid file, temp folders and logs of its own in a folder the
test gives, so that it needs no root-owned path and leaves nothing behind.

``proxy_request_buffering on`` (nginx's default) is what frees the worker
from a slow client: nginx reads the whole request body first, to memory
when it fits ``client_body_buffer_size`` and to a file of
``client_body_temp_path`` when not, then sends it to gunicorn at once.

Its access log says, for each request, the bytes it received from the
client (``$request_length``) and from gunicorn (``$upstream_bytes_received``),
those it sent to each (``$bytes_sent``, ``$upstream_bytes_sent``), and the
file the body went to (``$request_body_file``, empty when it stayed in
memory): nginx writes the whole body there once it outgrows the buffer.
"""

import getpass
import json
import os
import shutil
import subprocess
from contextlib import contextmanager

from project.seaweedfs import free_weed_ports
from tests.support.processes import stop, wait_for

# The largest body the proxy flow takes: the 10 MiB size limit and the
# multipart envelope around it.
MAX_BODY = "12m"
BODY_BUFFER = "16k"  # nginx's default on 64-bit machines

CONFIG = """\
{user}
worker_processes 1;
daemon off;
pid {folder}/nginx.pid;
error_log {folder}/error.log warn;
events {{ worker_connections 64; }}
http {{
    log_format bytes escape=json '{{"path": "$uri", "status": "$status",'
        ' "request_length": "$request_length", "bytes_sent": "$bytes_sent",'
        ' "upstream_bytes_sent": "$upstream_bytes_sent",'
        ' "upstream_bytes_received": "$upstream_bytes_received",'
        ' "content_length": "$content_length", "body_file": "$request_body_file"}}';
    access_log {folder}/access.log bytes;
    client_body_temp_path {folder}/client_body_temp;
    proxy_temp_path {folder}/proxy_temp;
    fastcgi_temp_path {folder}/fastcgi_temp;
    uwsgi_temp_path {folder}/uwsgi_temp;
    scgi_temp_path {folder}/scgi_temp;
    client_max_body_size {max_body};
    client_body_buffer_size {body_buffer};
    server {{
        listen 127.0.0.1:{port};
        location / {{
            proxy_pass http://{upstream};
            proxy_request_buffering on;
            proxy_set_header Host $http_host;
            proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
        }}
    }}
}}
"""


def nginx_binary():
    """Debian puts nginx in /usr/sbin, which a user's PATH may leave out."""
    binary = shutil.which("nginx", path=f"{os.environ.get('PATH', '')}:/usr/sbin")
    assert binary, "nginx is missing: make test installs it (Debian's nginx)"
    return binary


class Nginx:
    def __init__(self, folder, port):
        self.folder = folder
        self.origin = f"http://127.0.0.1:{port}"

    def access_log(self):
        """The access log's entries so far, their counts as integers (0 for
        nginx's "-")."""
        entries = []
        for line in (self.folder / "access.log").read_text().splitlines():
            entry = json.loads(line)
            for key, value in entry.items():
                if key not in ("path", "body_file"):
                    # Several upstream tries are listed with commas.
                    entry[key] = sum(int(n) for n in value.split(", ") if n.isdigit())
            entries.append(entry)
        return entries


@contextmanager
def buffering_proxy(upstream, folder):
    """nginx on a free port of 127.0.0.1, proxying to ``upstream``
    (host:port) with request buffering, its files in ``folder``; gives an
    ``Nginx``. Stopped after."""
    folder.mkdir(parents=True, exist_ok=True)
    (port,) = free_weed_ports(1)
    # Run as root, nginx hands its workers to "nobody" unless told: they
    # would not reach the test's folder.
    user = f"user {getpass.getuser()};" if os.geteuid() == 0 else ""
    config = folder / "nginx.conf"
    config.write_text(
        CONFIG.format(
            user=user,
            folder=folder,
            port=port,
            upstream=upstream,
            max_body=MAX_BODY,
            body_buffer=BODY_BUFFER,
        )
    )
    # -e: the error log from the start, before the configuration is read
    # (Debian's default is under /var/log); -p: no prefix outside ``folder``.
    command = [
        nginx_binary(),
        "-p",
        f"{folder}/",
        "-c",
        str(config),
        "-e",
        str(folder / "error.log"),
    ]
    with open(folder / "nginx.out", "wb") as out:
        process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT)
    proxy = Nginx(folder, port)
    try:
        try:
            wait_for(f"{proxy.origin}/healthz", timeout=30, process=process)
        except AssertionError as error:
            log = (folder / "error.log").read_text() if (folder / "error.log").exists() else ""
            raise AssertionError(f"nginx did not start ({error}): {log}") from None
        yield proxy
    finally:
        stop(process)
