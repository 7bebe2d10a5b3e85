"""Memory of the filesystem-mode upload endpoint: uploads are streamed to
disk, so the server's peak memory must not grow with the file size.

Run with ``make bench``. Starts a real dev server (filesystem mode) in its
own process, uploads files of 1 and 9 MiB, and reads the server's peak
resident memory (VmHWM) from /proc.
"""

import base64
import hashlib
import os
import subprocess
import sys
import time
from pathlib import Path

import requests

from project.seaweedfs import free_weed_ports
from tests.support.load import MIB, peak_rss

BASE_DIR = Path(__file__).resolve().parents[2]


def test_emulator_memory_does_not_grow_with_upload_size(tmp_path):
    env = {
        **os.environ,
        "DJANGO_ENV_FILE": str(tmp_path / "absent.env"),
        "DATABASE_URL": f"sqlite:///{tmp_path / 'bench.sqlite3'}",
        "DJANGO_MEDIA_ROOT": str(tmp_path / "media"),
        "AWS_STORAGE_BUCKET_NAME": "",
        "DJANGO_DEBUG": "true",
    }
    manage = [sys.executable, "manage.py"]
    subprocess.run([*manage, "migrate", "-v0"], cwd=BASE_DIR, env=env, check=True)
    subprocess.run([*manage, "seed_demo"], cwd=BASE_DIR, env=env, check=True, capture_output=True)
    (port,) = free_weed_ports(1)
    server = subprocess.Popen(
        [*manage, "runserver", "--noreload", f"127.0.0.1:{port}"],
        cwd=BASE_DIR,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(100):
            try:
                requests.get(base + "/accounts/login/", timeout=2)
                break
            except requests.ConnectionError:
                time.sleep(0.1)
        http = requests.Session()
        token = http.post(
            base + "/api/auth/token/",
            json={"username": "dakar-staff", "password": "demo1234"},
            timeout=10,
        ).json()["token"]
        http.headers["Authorization"] = f"Token {token}"

        peaks = {}
        for size in (1 * MIB, 9 * MIB):
            body = b"\xff\xd8\xff" + os.urandom(size - 3)
            ticket = http.post(
                base + "/api/uploads/tickets/",
                json={
                    "kind": "product",
                    "object_id": 1,
                    "content_type": "image/jpeg",
                    "size": size,
                    "sha256": base64.b64encode(hashlib.sha256(body).digest()).decode(),
                },
                timeout=10,
            ).json()
            started = time.perf_counter()
            response = requests.post(
                ticket["upload"]["url"],
                data=ticket["upload"]["fields"],
                files={"file": ("x.jpg", body, "image/jpeg")},
                timeout=60,
            )
            elapsed = time.perf_counter() - started
            assert response.status_code == 204, response.text
            peaks[size] = peak_rss(server.pid)
            print(
                f"{size // MIB} MiB upload: {elapsed * 1000:.0f} ms, "
                f"server peak RSS {peaks[size] / MIB:.1f} MiB"
            )
        growth = peaks[9 * MIB] - peaks[1 * MIB]
        print(f"peak RSS growth from 1 to 9 MiB: {growth / MIB:.1f} MiB")
        assert growth < 4 * MIB, "the upload was held in memory"
    finally:
        server.terminate()
        server.wait(10)
