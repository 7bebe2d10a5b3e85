"""`make run` as a new user runs it: it prints a URL where the login page and
the admin answer, and stops SeaweedFS when it stops."""

import os
import re
import signal
import socket
import subprocess
import time
from pathlib import Path

import pytest
import requests

from project.seaweedfs import free_weed_ports
from tests.test_settings import CLEAN

BASE_DIR = Path(__file__).resolve().parent.parent


def wait_for_line(process, pattern, timeout):
    deadline = time.monotonic() + timeout
    seen = []
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if not line:
            if process.poll() is not None:
                break
            continue
        seen.append(line)
        match = re.search(pattern, line)
        if match:
            return match, seen
    output = "".join(seen)
    raise AssertionError(f"make run never printed {pattern!r}:\n{output}")


@pytest.mark.slow
@pytest.mark.parametrize("storage", ["s3", "local"])
def test_make_run_serves_login_and_admin(tmp_path, storage):
    web_port, s3_port = free_weed_ports(2)
    process = subprocess.Popen(
        [
            "make",
            "--no-print-directory",
            "run",
            f"STORAGE={storage}",
            f"PORT={web_port}",
            f"S3_PORT={s3_port}",
            f"DATA_DIR={tmp_path / 'dev'}",
        ],
        cwd=BASE_DIR,
        env={
            **CLEAN,
            "DJANGO_ENV_FILE": str(tmp_path / "absent.env"),
            "DATABASE_URL": f"sqlite:///{tmp_path / 'run.sqlite3'}",
            "DJANGO_MEDIA_ROOT": str(tmp_path / "media"),
            "PYTHONUNBUFFERED": "1",
        },
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    try:
        match, output = wait_for_line(process, r"Inventory is running at (\S+)", 240)
        url = match.group(1)
        assert url == f"http://localhost:{web_port}/"
        assert any("dakar-admin" in line for line in output), "logins are printed"

        session = requests.Session()
        login = None
        for _ in range(100):
            try:
                login = session.get(url + "accounts/login/", timeout=5)
                break
            except requests.ConnectionError:
                time.sleep(0.2)
        assert login is not None and login.status_code == 200
        assert 'name="username"' in login.text

        response = session.post(
            url + "accounts/login/",
            data={
                "username": "admin",
                "password": "demo1234",
                "csrfmiddlewaretoken": session.cookies["csrftoken"],
            },
            headers={"Referer": url},
            timeout=10,
        )
        assert response.status_code == 200
        assert response.url == url, "logged in and sent to the home page"

        admin = session.get(url + "admin/", timeout=10)
        assert admin.status_code == 200
        assert "/admin/inventory/product/" in admin.text

        stylesheet = re.search(r'href="([^"]+base\.css[^"]*)"', admin.text).group(1)
        if storage == "s3":
            assert stylesheet.startswith(f"http://127.0.0.1:{s3_port}/inventory-media/static/")
            stylesheet = stylesheet.replace("&amp;", "&")
        else:
            stylesheet = url.rstrip("/") + stylesheet
        assert requests.get(stylesheet, timeout=10).status_code == 200
    finally:
        if storage == "s3":
            os.killpg(process.pid, signal.SIGINT)  # Ctrl-C in a terminal
        else:
            # A process manager's kill, to the command alone.
            rundev = subprocess.check_output(["pgrep", "-P", str(process.pid)], text=True)
            os.kill(int(rundev.split()[0]), signal.SIGTERM)
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            raise
    # Everything it started has stopped: the dev server (and its
    # autoreloader's child) and SeaweedFS.
    ports = [web_port, s3_port] if storage == "s3" else [web_port]
    for port in ports:
        with pytest.raises(ConnectionRefusedError):
            socket.create_connection(("127.0.0.1", port), timeout=2).close()
