"""Development's SQLite with several writers at once: the dev server's
threads issuing tickets and confirming uploads, some of one ticket at the
same moment, while the task worker records the renditions those confirms
queue. None of them answers a 500 ("database is locked"), and every image
ends with its renditions.

The server runs as ``make run STORAGE=local`` runs it (runserver and
``db_worker`` on one SQLite file, the filesystem emulator), so the database
settings under test are the project's own."""

import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import requests

from project.seaweedfs import free_weed_ports
from tests.support.images import jpeg
from tests.support.processes import dev_environment, manage, task_worker

BASE_DIR = Path(__file__).resolve().parents[2]
USERS = 4
FLOWS = 16  # tickets, each for its own product; each confirmed twice at once
RENDITIONS_WITHIN = 60  # seconds, for the worker to make every image's renditions


SETUP = f"""
from inventory.models import Configuration, Product, User
from inventory.permissions import STAFF_PERMISSIONS, permissions_named
from rest_framework.authtoken.models import Token
site = Configuration.objects.create(site_name="Boutique")
for number in range({USERS}):
    user = User.objects.create_user(f"staff{{number}}", password="pw", site_configuration=site)
    user.user_permissions.set(permissions_named(STAFF_PERMISSIONS))
    print("token", Token.objects.create(user=user).key)
for number in range({FLOWS}):
    product = Product.objects.create(
        site_configuration=site, name=f"P{{number}}", cug=f"P-{{number}}"
    )
    print("product", product.pk)
"""


@pytest.fixture
def dev_server(tmp_path):
    (port,) = free_weed_ports(1)
    env = dev_environment(tmp_path)
    made = manage(env, "shell", "-c", SETUP).split()
    tokens = [made[i + 1] for i, word in enumerate(made) if word == "token"]
    products = [int(made[i + 1]) for i, word in enumerate(made) if word == "product"]
    log = open(tmp_path / "runserver.log", "wb")
    server = subprocess.Popen(
        [sys.executable, "manage.py", "runserver", f"127.0.0.1:{port}", "--noreload"],
        cwd=BASE_DIR,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            assert server.poll() is None, (tmp_path / "runserver.log").read_text()
            try:
                requests.get(f"{url}/healthz", timeout=2)
                break
            except requests.ConnectionError:
                assert time.monotonic() < deadline, "runserver did not start"
                time.sleep(0.2)
        with task_worker(env, tmp_path / "worker.log"):
            yield url, tokens, products
    finally:
        server.terminate()
        server.wait(10)
        log.close()
        print((tmp_path / "runserver.log").read_text()[-5000:])
        if (tmp_path / "worker.log").exists():
            print((tmp_path / "worker.log").read_text()[-3000:])


def test_concurrent_tickets_and_confirms_never_answer_500(dev_server):
    url, tokens, products = dev_server
    body = jpeg((64, 48))
    answers = []  # (step, status)
    lock = threading.Lock()
    flows = [(tokens[number % USERS], product) for number, product in enumerate(products)]
    confirm_together = threading.Barrier(2 * FLOWS)

    def call(step, method, path, token, **kwargs):
        response = requests.request(
            method,
            path if path.startswith("http") else url + path,
            headers={"Authorization": f"Token {token}"} if token else {},
            timeout=60,
            **kwargs,
        )
        with lock:
            answers.append((step, response.status_code))
        return response

    def flow(token, product):
        ticket = call(
            "ticket",
            "POST",
            "/api/uploads/tickets/",
            token,
            json={
                "kind": "product",
                "object_id": product,
                "filename": "photo.jpg",
                "content_type": "image/jpeg",
                "size": len(body),
            },
        ).json()
        upload = ticket["upload"]
        call("upload", "POST", upload["url"], None, data=upload["fields"], files={"file": body})
        return ticket["id"]

    def confirm(token, ticket_id):
        confirm_together.wait(60)
        return call("confirm", "POST", f"/api/uploads/tickets/{ticket_id}/confirm/", token)

    with ThreadPoolExecutor(2 * FLOWS) as pool:
        ticket_ids = list(pool.map(lambda pair: flow(*pair), flows))
        confirms = list(
            pool.map(
                lambda pair: confirm(*pair),
                [(token, ticket) for (token, _), ticket in zip(flows, ticket_ids, strict=True)] * 2,
            )
        )

    failures = [(step, status) for step, status in answers if status >= 500]
    assert not failures, answers
    assert [response.status_code for response in confirms] == [200] * (2 * FLOWS)
    for first, again in zip(confirms[:FLOWS], confirms[FLOWS:], strict=True):
        assert first.json() == again.json(), "one ticket, one answer"
    # The worker, a writer of its own, makes each image's renditions: the
    # API links the display one once they are ready.
    deadline = time.monotonic() + RENDITIONS_WITHIN
    for token, product in flows:
        while True:
            listed = requests.get(
                f"{url}/api/products/{product}/",
                headers={"Authorization": f"Token {token}"},
                timeout=10,
            ).json()
            if listed["image_state"] != "pending" or time.monotonic() > deadline:
                break
            time.sleep(0.2)
        assert listed["image_state"] == "ready", listed
        assert listed["image_url"], listed
