"""Renditions made by a real task worker: the dev server confirms an upload,
and ``manage.py db_worker``, a process of its own on the same SQLite file,
makes the renditions within seconds, as in ``make run``."""

import io
import json
import os
import sqlite3
import time

import pytest
import requests
from PIL import Image

from project.seaweedfs import free_weed_ports
from tests.support.images import photo_with_exif
from tests.support.processes import dev_environment, manage, running, task_worker, wait_for

SETUP = """
from inventory.models import Configuration, Product, User
from inventory.permissions import STAFF_PERMISSIONS, permissions_named
from rest_framework.authtoken.models import Token
site = Configuration.objects.create(site_name="Boutique")
user = User.objects.create_user("staff", password="pw", site_configuration=site)
user.user_permissions.set(permissions_named(STAFF_PERMISSIONS))
product = Product.objects.create(site_configuration=site, name="Riz", cug="R-1")
print("made", Token.objects.create(user=user).key, product.pk)
"""


@pytest.fixture
def dev_server(tmp_path):
    """runserver and the worker on one SQLite file, in filesystem mode."""
    (port,) = free_weed_ports(1)
    env = dev_environment(tmp_path)
    output = manage(env, "shell", "-c", SETUP).split()
    token, product = output[output.index("made") + 1 :][:2]
    url = f"http://127.0.0.1:{port}"
    runserver = ("runserver", f"127.0.0.1:{port}", "--noreload")
    with running(env, tmp_path / "runserver.log", *runserver) as server:
        wait_for(f"{url}/healthz", process=server)
        with task_worker(env, tmp_path / "worker.log") as worker:
            yield url, token, int(product), worker


def rendition_sets(database):
    with sqlite3.connect(database) as connection:
        rows = connection.execute("SELECT original, state, variants FROM uploads_renditionset")
        return [(original, state, json.loads(variants)) for original, state, variants in rows]


def test_the_worker_makes_the_renditions_after_a_confirm(dev_server, tmp_path):
    url, token, product, worker = dev_server
    api = requests.Session()
    api.headers["Authorization"] = f"Token {token}"
    body = photo_with_exif(size=(2000, 1500))
    ticket = api.post(
        f"{url}/api/uploads/tickets/",
        json={
            "kind": "product",
            "object_id": product,
            "content_type": "image/jpeg",
            "size": len(body),
            "filename": "photo.jpg",
        },
        timeout=30,
    ).json()
    upload = ticket["upload"]
    posted = requests.post(
        upload["url"] if upload["url"].startswith("http") else url + upload["url"],
        data=upload["fields"],
        files={"file": ("photo.jpg", body, "image/jpeg")},
        timeout=30,
    )
    assert posted.status_code in (200, 201, 204)

    started = time.monotonic()
    confirmed = api.post(f"{url}/api/uploads/tickets/{ticket['id']}/confirm/", timeout=30)
    assert confirmed.status_code == 200, confirmed.text

    deadline = started + 20
    # The worker makes the set (none until then), then its renditions.
    while not (sets := rendition_sets(tmp_path / "db.sqlite3")) or sets[0][1] == "pending":
        assert worker.poll() is None, (tmp_path / "worker.log").read_text()
        assert time.monotonic() < deadline, (tmp_path / "worker.log").read_text()
        time.sleep(0.2)
    ((original, state, variants),) = sets
    assert "media/" + original == confirmed.json()["key"]
    assert state == "ready", (tmp_path / "worker.log").read_text()
    display = tmp_path / "media" / variants["display"]["name"]
    image = Image.open(io.BytesIO(display.read_bytes()))
    assert (image.format, image.size) == ("WEBP", (1600, 1200))
    assert not image.getexif()


KILLED_SETUP = """
from inventory.models import Configuration, Product
from uploads import tasks
site = Configuration.objects.create(site_name="Boutique")
name = f"sites/{site.pk}/products/photo.jpg"
Product.objects.create(site_configuration=site, name="Riz", cug="R-1", image=name)
# What a confirm queues once it commits: the set made, then its renditions.
tasks.image_attached.enqueue(name, [], "product")
print("made", name)
"""

# The hour of UPLOADS["RENDITION_LEASE"] passes: the set was last touched
# two hours ago.
AN_HOUR_PASSES = """
from datetime import timedelta
from django.utils import timezone
from uploads.models import RenditionSet
RenditionSet.objects.update(updated_at=timezone.now() - timedelta(hours=2))
"""


def makings(database):
    with sqlite3.connect(database) as connection:
        rows = connection.execute("SELECT state, unfinished_makings FROM uploads_renditionset")
        return rows.fetchall()


def test_renditions_a_killed_worker_left_pending_are_made_once_purge_uploads_queues_them(
    tmp_path,
):
    """``db_worker`` SIGKILLed in the middle of a making (as the kernel's
    OOM killer or a container stop past its grace period does): its task
    is never run again, and the set stayed pending for good. The hourly
    ``purge_uploads`` queues the making again, and the next worker makes
    it. The original is a FIFO until the worker is killed: the making
    stands still reading it, wherever the machine's speed would have put
    the kill."""
    env = dev_environment(tmp_path)
    output = manage(env, "shell", "-c", KILLED_SETUP).split()
    name = output[output.index("made") + 1]
    original = tmp_path / "media" / name
    original.parent.mkdir(parents=True)
    os.mkfifo(original)
    database = tmp_path / "db.sqlite3"

    with task_worker(env, tmp_path / "worker.log") as worker:
        deadline = time.monotonic() + 30
        while makings(database) != [("pending", 1)]:
            assert worker.poll() is None, (tmp_path / "worker.log").read_text()
            assert time.monotonic() < deadline, (tmp_path / "worker.log").read_text()
            time.sleep(0.1)
        worker.kill()
        worker.wait()
    original.unlink()
    original.write_bytes(photo_with_exif(size=(800, 600)))

    assert "Queued" not in manage(env, "purge_uploads"), "within the hour: under way, maybe"
    manage(env, "db_worker", "--batch", "--no-startup-delay", "--no-reload")
    assert makings(database) == [("pending", 1)], "the killed task is not run again"

    manage(env, "shell", "-c", AN_HOUR_PASSES)
    purged = manage(env, "purge_uploads")
    assert f"Queued again: {name} (1 making(s) stopped)" in purged
    manage(env, "db_worker", "--batch", "--no-startup-delay", "--no-reload")

    ((_, state, variants),) = rendition_sets(database)
    assert state == "ready"
    display = Image.open(tmp_path / "media" / variants["display"]["name"])
    assert (display.format, display.size) == ("WEBP", (800, 600))
