"""
``make run``: the development server with a real local S3 store.

Migrates, seeds the demo, starts SeaweedFS with a bucket whose CORS admits
the dev origin, copies the static files into it, then runs ``runserver``
pointed at it. SeaweedFS keeps its data in ``.dev/seaweedfs`` so uploads
survive a restart, and is stopped when the server stops.
``--storage local`` runs the filesystem fallback instead.
"""

import os
import signal
import subprocess
import sys
from pathlib import Path

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand

from project.seaweedfs import SeaweedFS, environment_for


class Command(BaseCommand):
    help = "Run the development server, with a local SeaweedFS unless --storage local."

    def add_arguments(self, parser):
        parser.add_argument("--storage", choices=["s3", "local"], default="s3")
        parser.add_argument("--port", type=int, default=8000)
        parser.add_argument("--s3-port", type=int, default=8333)
        parser.add_argument("--bucket", default="inventory-media")
        parser.add_argument(
            "--data-dir",
            default=str(Path(settings.BASE_DIR) / ".dev"),
            help="Where SeaweedFS keeps its data (default: %(default)s).",
        )

    def handle(self, *args, storage, port, s3_port, bucket, data_dir, **options):
        call_command("migrate", interactive=False, verbosity=0)
        self.stdout.write("Database migrated.")
        call_command("seed_demo", stdout=self.stdout)

        env = {**os.environ, "DJANGO_DEBUG": os.environ.get("DJANGO_DEBUG", "1")}
        url = f"http://localhost:{port}/"
        server = None
        try:
            if storage == "s3":
                server = SeaweedFS(Path(data_dir) / "seaweedfs", s3_port=s3_port)
                self.stdout.write("Starting SeaweedFS…")
                server.start()
                server.ensure_bucket(
                    bucket,
                    cors_origins=[f"http://localhost:{port}", f"http://127.0.0.1:{port}"],
                )
                env.update(environment_for(server, bucket))
                subprocess.run(
                    [sys.executable, "manage.py", "collectstatic", "--noinput", "-v0"],
                    env=env,
                    check=True,
                    cwd=settings.BASE_DIR,
                )
                where = f"S3 bucket {bucket!r} at {server.endpoint_url}"
            else:
                env["AWS_STORAGE_BUCKET_NAME"] = ""
                where = f"the local folder {settings.MEDIA_ROOT}"

            self.stdout.write(
                self.style.SUCCESS(
                    f"\nInventory is running at {url}\n"
                    f"  admin:  {url}admin/\n"
                    f"  images: {where}\n"
                    f"  log in with one of the demo logins listed above.\n"
                    "Press Ctrl-C to stop.\n"
                )
            )
            self.serve(port, env)
        except KeyboardInterrupt:
            pass
        finally:
            if server is not None:
                self.stdout.write("Stopping SeaweedFS…")
                server.stop()

    def serve(self, port, env):
        """runserver until it exits or we are interrupted or terminated.

        runserver's autoreloader runs the server in a child process; it gets
        a process group of its own so that all of it is stopped with us,
        however we are stopped (Ctrl-C, kill, the test suite).
        """
        signal.signal(signal.SIGTERM, raise_keyboard_interrupt)
        process = subprocess.Popen(
            [sys.executable, "manage.py", "runserver", f"127.0.0.1:{port}"],
            env=env,
            cwd=settings.BASE_DIR,
            start_new_session=True,
        )
        try:
            process.wait()
        finally:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
                try:
                    process.wait(10)
                except subprocess.TimeoutExpired:
                    os.killpg(process.pid, signal.SIGKILL)


def raise_keyboard_interrupt(signum, frame):
    raise KeyboardInterrupt
