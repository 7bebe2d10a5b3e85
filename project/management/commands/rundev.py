"""
``make run``: the development server with a real local S3 store.

Checks that its ports are free, starts SeaweedFS with a bucket whose CORS
admits the dev origins, then runs ``migrate``, ``seed_demo``,
``collectstatic``, then ``runserver`` beside the task worker
(``db_worker``) as subprocesses, all with one environment: the dev
server's. Commands run in-process would see this
process's settings instead, which point at neither the bucket nor the
mode's database.

Each storage mode keeps its data apart under ``.dev/<mode>/`` (database,
SeaweedFS or media folder) unless ``DATABASE_URL`` or ``DJANGO_MEDIA_ROOT``
say otherwise: an image attached in one mode would be a broken link in the
other. ``.dev/<mode>.env`` holds the dev server's settings, for
``DJANGO_ENV_FILE=.dev/s3.env manage.py ...`` in a second terminal.

``--host 0.0.0.0`` also serves phones on the local network: the dev server,
``ALLOWED_HOSTS``, CSRF, the S3 gateway, the bucket's CORS and the address
upload forms and image URLs are made for all admit the machine's address.
"""

import ipaddress
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from dotenv import dotenv_values, set_key

from project.seaweedfs import (
    GRPC_OFFSET,
    SeaweedFS,
    environment_for,
    port_is_free,
    url_host,
)

DEFAULT_HOST = "127.0.0.1"
# What Django admits with DEBUG on and ALLOWED_HOSTS empty.
DEBUG_ALLOWED_HOSTS = [".localhost", "127.0.0.1", "[::1]"]


class Command(BaseCommand):
    help = "Run the development server, with a local SeaweedFS unless --storage local."
    # The subprocesses check the settings they run with; this process's
    # settings (the developer's .env as it is) are not the ones served.
    requires_system_checks = []
    # Seconds the network address may stay silent once this machine's
    # answers before we say so.
    patience = 10

    def add_arguments(self, parser):
        parser.add_argument("--storage", choices=["s3", "local"], default="s3")
        parser.add_argument(
            "--host",
            default=DEFAULT_HOST,
            help=(
                "127.0.0.1 (this machine only, the default; or another loopback "
                "address, such as ::1) or 0.0.0.0 (the network too)."
            ),
        )
        parser.add_argument("--port", type=int, default=8000)
        parser.add_argument("--s3-port", type=int, default=8333)
        parser.add_argument("--bucket", default="inventory-media")
        parser.add_argument(
            "--data-dir",
            default=str(Path(settings.BASE_DIR) / ".dev"),
            help="Where each storage mode keeps its data (default: %(default)s).",
        )

    def handle(self, *args, storage, host, port, s3_port, bucket, data_dir, **options):
        # However we are stopped (Ctrl-C, kill, a process manager), what we
        # started stops with us.
        signal.signal(signal.SIGTERM, raise_keyboard_interrupt)
        data_dir = Path(data_dir).resolve()
        mode_dir = data_dir / storage
        mode_dir.mkdir(parents=True, exist_ok=True)
        lan_address = self.lan_address(host)
        self.check_ports(storage, host, port, s3_port)

        # Where this machine reaches the server: the loopback address it
        # binds (127.0.0.2 and ::1 answer there alone), 127.0.0.1 when it
        # binds every address; then where phones do.
        local = DEFAULT_HOST if host == "0.0.0.0" else host
        addresses = [local, lan_address] if lan_address else [local]
        url = f"http://{'localhost' if local == DEFAULT_HOST else url_host(local)}:{port}/"
        origins = list(
            dict.fromkeys(
                [f"http://localhost:{port}", *(f"http://{url_host(a)}:{port}" for a in addresses)]
            )
        )
        dev_settings = {
            "DJANGO_DEBUG": os.environ.get("DJANGO_DEBUG", "true"),
            # The pages' origins; check_storage expects the bucket's CORS to
            # admit them.
            "DJANGO_CSRF_TRUSTED_ORIGINS": ",".join(origins),
        }
        if addresses != [DEFAULT_HOST]:
            hosts = settings.ALLOWED_HOSTS or DEBUG_ALLOWED_HOSTS
            dev_settings["DJANGO_ALLOWED_HOSTS"] = ",".join(
                dict.fromkeys([*hosts, *map(url_host, addresses)])
            )
        if not os.environ.get("DATABASE_URL"):
            dev_settings["DATABASE_URL"] = f"sqlite:///{mode_dir / 'db.sqlite3'}"

        server = None
        try:
            if storage == "s3":
                server = SeaweedFS(mode_dir / "seaweedfs", s3_port=s3_port, s3_bind=host)
                self.say("Starting SeaweedFS…")
                server.start()
                server.ensure_bucket(bucket, cors_origins=origins)
                public_url = f"http://{lan_address}:{server.s3_port}" if lan_address else None
                dev_settings.update(environment_for(server, bucket, public_url=public_url))
                where = (
                    f"S3 bucket {bucket!r} at {public_url or server.endpoint_url} "
                    f"(key {server.access_key}, secret {server.secret_key})"
                )
            else:
                dev_settings["AWS_STORAGE_BUCKET_NAME"] = ""
                media_root = Path(os.environ.get("DJANGO_MEDIA_ROOT") or mode_dir / "media")
                dev_settings["DJANGO_MEDIA_ROOT"] = str(media_root.resolve())
                where = f"the local folder {dev_settings['DJANGO_MEDIA_ROOT']}"

            env = {**os.environ, **dev_settings}
            env_file = self.write_env_file(data_dir / f"{storage}.env", env, dev_settings)
            self.manage(env, "migrate", "--noinput", "-v0")
            self.say("Database migrated.")
            self.manage(env, "seed_demo")
            if storage == "s3":
                self.manage(env, "collectstatic", "--noinput", "-v0")

            network = ""
            if lan_address:
                network = (
                    f"  on your network: http://{lan_address}:{port}/ "
                    "(plain http: see the README about phones)\n"
                )
            banner = self.style.SUCCESS(
                f"\nInventory is running at {url}\n"
                f"{network}"
                f"  admin:  {url}admin/\n"
                f"  images: {where}\n"
                f"  log in with one of the demo logins listed above.\n"
                f"  manage.py in another terminal: DJANGO_ENV_FILE={shown(env_file)} "
                f"{shown(sys.executable)} manage.py <command>\n"
                "Press Ctrl-C to stop.\n"
            )
            self.serve(host, port, env, banner, addresses)
        except KeyboardInterrupt:
            pass
        finally:
            if server is not None:
                self.say("Stopping SeaweedFS…")
                server.stop()

    def say(self, message):
        # Flushed, so that our lines and our subprocesses' come in order
        # when stdout is a pipe.
        self.stdout.write(message)
        self.stdout.flush()

    def lan_address(self, host):
        """The address phones on the network use, or None on loopback."""
        try:
            address = ipaddress.ip_address(host)
        except ValueError:
            address = None
        if address is not None and address.is_loopback:
            return None
        if address != ipaddress.ip_address("0.0.0.0"):
            raise CommandError(
                f"HOST={host}: use 127.0.0.1 (this machine only) or 0.0.0.0 (the network too)."
            )
        found = default_route_address()
        if found is None:
            raise CommandError(
                "HOST=0.0.0.0, but this machine has no network address: is it connected?"
            )
        return found

    def check_ports(self, storage, host, port, s3_port):
        """Fail before starting anything, saying which port and what to pass."""
        wanted = {port: "the web server"}
        if storage == "s3":
            wanted[s3_port] = "S3"
            wanted[s3_port + GRPC_OFFSET] = "S3's gRPC, S3_PORT + 10000"
        taken = [
            f"{number} ({role})"
            for number, role in wanted.items()
            if not port_is_free(number, host)
        ]
        if not taken:
            return
        web = next_free_port(port, host, avoid={s3_port, s3_port + GRPC_OFFSET})
        retry = ["make run"]
        if storage == "local":
            retry.append("STORAGE=local")
        if host != DEFAULT_HOST:
            retry.append(f"HOST={host}")
        retry.append(f"PORT={web}")
        if storage == "s3":
            s3 = next_free_port(s3_port, host, avoid={web}, twin=True)
            retry.append(f"S3_PORT={s3}")
        ports = f"Port {taken[0]} is" if len(taken) == 1 else f"Ports {', '.join(taken)} are"
        raise CommandError(
            f"{ports} taken on {host}: is another make run running? "
            f"Pick free ports, e.g.: {' '.join(retry)}"
        )

    def write_env_file(self, path, env, dev_settings):
        """The dev server's settings, for DJANGO_ENV_FILE in another terminal.

        Settings read that file instead of .env: it holds every variable
        .env.example documents that the dev server gets, and ours.
        """
        documented = dotenv_values(Path(settings.BASE_DIR) / ".env.example")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(
            "# Written by make run: the dev server's settings, for\n"
            f"# DJANGO_ENV_FILE={path} manage.py ...\n"
        )
        path.chmod(0o600)
        for name in sorted({*documented, *dev_settings}):
            if name in env:
                set_key(path, name, env[name])
        return path

    def manage(self, env, command, *args):
        self.stdout.flush()
        result = subprocess.run(
            [sys.executable, "manage.py", command, *args], env=env, cwd=settings.BASE_DIR
        )
        if result.returncode:
            raise CommandError(f"manage.py {command} failed (exit status {result.returncode}).")

    def serve(self, host, port, env, banner, addresses):
        """runserver and the task worker until runserver exits or we are
        interrupted or terminated; ``banner`` once the server answers at
        each of ``addresses``, the ones it names.

        The worker (``db_worker``) runs the background tasks, such as
        deleting the images that uploads replaced. Each has a process group
        of its own (their autoreloaders run them in child processes), so
        that all of it is stopped with us.
        """
        worker = self.start(env, "db_worker")
        try:
            process = self.start(env, "runserver", f"{url_host(host)}:{port}")
            try:
                if self.wait_until_served(process, [(address, port) for address in addresses]):
                    self.say(banner)
                status = process.wait()
            finally:
                stop(process)
        finally:
            stop(worker)
        if status:
            # Its own error (a port taken since we checked, say) is above.
            raise CommandError(f"The web server stopped (exit status {status}).")

    def wait_until_served(self, process, endpoints):
        """Whether each of ``endpoints`` answered before ``process`` exited.

        All of them, not the first: another program may listen on the
        loopback address alone, on a port taken after ``check_ports``, and
        then runserver cannot bind and exits, but 127.0.0.1 answers. One
        still silent ``patience`` seconds after the first answered is named,
        once, rather than waited for without a word.
        """
        waiting = list(endpoints)
        answered = None
        first_answer = None
        warned = False
        while process.poll() is None:
            for endpoint in list(waiting):
                try:
                    socket.create_connection(endpoint, timeout=1).close()
                except OSError:
                    continue
                waiting.remove(endpoint)
                answered = answered or endpoint
                first_answer = first_answer or time.monotonic()
            if not waiting:
                return True
            if not warned and first_answer and time.monotonic() - first_answer > self.patience:
                urls = ", ".join(f"http://{url_host(host)}:{port}/" for host, port in waiting)
                self.say(
                    self.style.WARNING(
                        f"The web server answers on {answered[0]} but not yet at {urls}: "
                        "does a firewall block it? Still waiting.\n"
                    )
                )
                warned = True
            time.sleep(0.1)
        return False

    def start(self, env, command, *args):
        return subprocess.Popen(
            [sys.executable, "manage.py", command, *args],
            env=env,
            cwd=settings.BASE_DIR,
            start_new_session=True,
        )


def stop(process):
    """Stop ``process`` and its process group, at once if it lingers."""
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def default_route_address():
    """This machine's IPv4 address towards the rest of the network.

    Connecting a UDP socket sends nothing; it only picks the route, and so
    the local address, packets to that (documentation-only) address would use.
    """
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        try:
            sock.connect(("203.0.113.1", 9))
        except OSError:
            return None
        address = sock.getsockname()[0]
    return None if ipaddress.ip_address(address).is_loopback else address


def next_free_port(port, host, avoid=(), twin=False):
    """The first port after ``port`` that is free (with its gRPC twin)."""
    for candidate in range(port + 1, port + 1000):
        ports = (candidate, candidate + GRPC_OFFSET) if twin else (candidate,)
        if candidate not in avoid and all(port_is_free(p, host) for p in ports):
            return candidate
    return port + 1


def shown(path):
    """``path`` relative to the working directory when inside it, to print."""
    path = Path(path)
    try:
        return path.relative_to(Path.cwd())
    except ValueError:
        return path


def raise_keyboard_interrupt(signum, frame):
    raise KeyboardInterrupt
