"""The Python reference client (frontend_snippets/upload_client.py), as a
command and as a module, against a live server in both storage modes."""

import importlib.util
import io
import json
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.test import override_settings

from inventory import logins
from inventory.models import Product
from tests.support import clock
from tests.support.images import jpeg, png
from uploads import services
from uploads.errors import StorageUnavailable
from uploads.models import UploadTicket

SNIPPET = Path(django_settings.BASE_DIR) / "frontend_snippets" / "upload_client.py"


def load_client_module():
    spec = importlib.util.spec_from_file_location("upload_client", SNIPPET)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


upload_client = load_client_module()


@pytest.fixture
def server(store, live_server, settings):
    settings.DEBUG = True  # filesystem mode: the dev server serves /media/
    return live_server.url


def run_command(*args, env=None):
    return subprocess.run(
        [sys.executable, str(SNIPPET), *args],
        capture_output=True,
        text=True,
        timeout=120,
        env={"PATH": "/usr/bin:/bin", **(env or {})},
    )


@pytest.mark.process
def test_command_logs_in_then_uploads_a_product_photo(server, store, staff, product, tmp_path):
    photo = tmp_path / "riz.jpg"
    photo.write_bytes(jpeg((640, 480)))

    login = run_command("login", "--server", server, "--username", "staff", "--password", "pw")
    assert login.returncode == 0, login.stderr
    token = login.stdout.strip()
    result = run_command(
        "upload",
        str(photo),
        "--product",
        str(product.pk),
        env={"INVENTORY_URL": server, "INVENTORY_TOKEN": token},
    )

    assert result.returncode == 0, result.stderr
    image = json.loads(result.stdout)
    assert (image["status"], image["kind"], image["object_id"]) == (
        "confirmed",
        "product",
        product.pk,
    )
    assert (image["width"], image["height"], image["format"]) == (640, 480, "jpeg")
    product.refresh_from_db()
    assert "media/" + product.image.name == image["key"]
    assert store.keys() == [image["key"]]
    assert store.read(image["key"]) == photo.read_bytes()


def test_module_uploads_a_logo_with_progress(server, store, make_user, site, tmp_path):
    make_user("boss", site, is_site_admin=True)
    logo = tmp_path / "logo.png"
    logo.write_bytes(png((300, 120)))
    seen = []

    client = upload_client.Client.login(server, "boss", "pw")
    image = client.upload(
        logo, kind="logo", progress=lambda sent, total: seen.append((sent, total))
    )

    size = logo.stat().st_size
    assert image["format"] == "png" and image["size"] == size
    assert seen[-1] == (size, size)
    assert [sent for sent, _ in seen] == sorted(sent for sent, _ in seen)
    site.refresh_from_db()
    assert "media/" + site.logo.name == image["key"]
    assert store.read(image["key"]) == logo.read_bytes()


@pytest.mark.process
def test_refusals_exit_non_zero_with_the_api_error(server, store, staff, product, sites, tmp_path):
    notes = tmp_path / "notes.jpg"
    notes.write_bytes(b"Liste des courses: riz, huile.\n")
    photo = tmp_path / "riz.jpg"
    photo.write_bytes(jpeg())
    theirs = Product.objects.create(site_configuration=sites[1], name="Mil", cug="M-1")
    login = ["--server", server, "--username", "staff", "--password", "pw", "--lang", "fr"]

    not_an_image = run_command("upload", str(notes), "--product", str(product.pk), *login)
    other_site = run_command("upload", str(photo), "--product", str(theirs.pk), *login)
    wrong_password = run_command(
        "upload", str(photo), "--logo", "--server", server, "--username", "staff", "--password", "x"
    )

    assert not_an_image.returncode == 1
    assert "(invalid_image)" in not_an_image.stderr or "(type_mismatch)" in not_an_image.stderr
    assert other_site.returncode == 1 and "(not_found)" in other_site.stderr
    assert wrong_password.returncode == 1 and "(invalid)" in wrong_password.stderr
    assert not_an_image.stdout == other_site.stdout == wrong_password.stdout == ""
    product.refresh_from_db()
    theirs.refresh_from_db()
    assert not product.image and not theirs.image
    assert store.keys() == []


@pytest.mark.process
def test_error_details_come_in_the_language_asked_for(server, staff, product, tmp_path):
    notes = tmp_path / "notes.jpg"
    notes.write_bytes(b"pas une image")
    login = ["--server", server, "--username", "staff", "--password", "pw"]

    french = run_command("upload", str(notes), "--product", str(product.pk), "--lang", "fr", *login)
    english = run_command(
        "upload", str(notes), "--product", str(product.pk), "--lang", "en", *login
    )

    assert french.returncode == english.returncode == 1
    assert french.stderr != english.stderr
    assert french.stderr.split("(")[-1] == english.stderr.split("(")[-1]  # same code


def test_an_unavailable_store_at_confirm_is_retried_without_a_second_upload(
    server, store, staff, product, tmp_path, monkeypatch, settings
):
    settings.UPLOADS = {**settings.UPLOADS, "RETRY_AFTER": 1}
    real_confirm = services.confirm_ticket
    confirms = []

    def flaky_confirm(user, ticket_id):
        confirms.append(ticket_id)
        if len(confirms) == 1:
            raise StorageUnavailable()
        return real_confirm(user, ticket_id)

    monkeypatch.setattr(services, "confirm_ticket", flaky_confirm)
    client = upload_client.Client.login(server, "staff", "pw", retry_delay=0.05)
    posts = count_calls(monkeypatch, client, "post_file")
    photo = tmp_path / "riz.jpg"
    photo.write_bytes(jpeg())

    image = client.upload(photo, object_id=product.pk)

    assert len(confirms) == 2 and len(posts) == 1
    assert UploadTicket.objects.count() == 1
    assert store.keys() == [image["key"]]


def test_a_login_refused_while_another_is_at_work_is_tried_again(server, staff, monkeypatch):
    """A phone that sends its login again after a timeout finds its first
    try still being checked (login_in_progress, Retry-After: 1)."""
    real_lock = logins.take_login_lock
    locks = []

    def busy_once(connection, username):
        locks.append(username)
        return len(locks) > 1 and real_lock(connection, username)

    monkeypatch.setattr(logins, "take_login_lock", busy_once)

    client = upload_client.Client.login(server, "staff", "pw", retry_delay=0.05)

    assert client.token and locks == ["staff", "staff"]


def test_an_expired_ticket_is_replaced(server, store, staff, product, tmp_path, monkeypatch):
    client = upload_client.Client.login(server, "staff", "pw", retry_delay=0.05)
    real_request_ticket = client.request_ticket
    real_post = client.post_file
    posts = []

    def first_ticket_already_expired(**request):
        if posts:
            return real_request_ticket(**request)
        # Signed 2 s ago, its policy of 1 s has expired. Only the first: a
        # replacement of 1 s, its expiry whole seconds, could lapse too
        # before its post on a busy machine (seen in CI).
        with override_settings(UPLOADS={**django_settings.UPLOADS, "TICKET_TTL": 1}):
            with clock.set_back(seconds=2):
                return real_request_ticket(**request)

    def counted_post(*args, **kwargs):
        posts.append(args)
        return real_post(*args, **kwargs)

    monkeypatch.setattr(client, "request_ticket", first_ticket_already_expired)
    monkeypatch.setattr(client, "post_file", counted_post)
    photo = tmp_path / "riz.jpg"
    photo.write_bytes(jpeg())

    image = client.upload(photo, object_id=product.pk)

    assert len(posts) == 2
    assert UploadTicket.objects.count() == 2
    product.refresh_from_db()
    assert "media/" + product.image.name == image["key"]


def test_a_failure_that_may_pass_is_resumed_without_a_second_upload(
    server, store, staff, product, tmp_path, monkeypatch
):
    """The file is in the bucket, then every confirm is lost on the way: the
    error's resume goes on with the confirm alone, on the same ticket."""
    client = upload_client.Client.login(server, "staff", "pw", retries=1, retry_delay=0.01)
    real_api, real_post = client.api, client.post_file
    calls = []

    def api(method, path, data=None):
        calls.append(path.rsplit("/", 2)[-2])
        if path.endswith("/confirm/") and network_down:
            raise upload_client.UploadError("network_error", "Connection reset")
        return real_api(method, path, data)

    def post(*args, **kwargs):
        calls.append("post")
        return real_post(*args, **kwargs)

    monkeypatch.setattr(client, "api", api)
    monkeypatch.setattr(client, "post_file", post)
    photo = tmp_path / "riz.jpg"
    photo.write_bytes(jpeg())
    network_down = True

    with pytest.raises(upload_client.UploadError) as caught:
        client.upload(photo, object_id=product.pk)
    assert calls == ["tickets", "post", "confirm", "confirm"]
    assert caught.value.resume

    network_down = False
    calls.clear()
    image = client.upload(photo, resume=caught.value.resume)

    assert calls == ["confirm"]
    product.refresh_from_db()
    assert "media/" + product.image.name == image["key"]
    assert UploadTicket.objects.count() == 1


def test_a_refusal_has_nothing_to_resume(server, staff, product, tmp_path):
    notes = tmp_path / "notes.jpg"
    notes.write_bytes(b"\xff\xd8\xff" + b"riz, huile" * 20)
    client = upload_client.Client.login(server, "staff", "pw")

    with pytest.raises(upload_client.UploadError) as caught:
        client.upload(notes, object_id=product.pk, content_type="image/jpeg")

    assert caught.value.code == "invalid_image"
    assert not hasattr(caught.value, "resume")


def test_an_unreachable_server_is_a_network_error_after_retries(tmp_path):
    photo = tmp_path / "riz.jpg"
    photo.write_bytes(jpeg())
    client = upload_client.Client("http://127.0.0.1:9", "token", retries=2, retry_delay=0.01)

    with pytest.raises(upload_client.UploadError) as caught:
        client.upload(photo, object_id=1)

    assert caught.value.code == "network_error"


def test_progress_bar_draws_on_one_line_and_ends_it():
    stream = io.StringIO()
    bar = upload_client.ProgressBar(stream, width=10)

    for sent in (0, 512 * 1024, 1024 * 1024):
        bar(sent, 1024 * 1024)

    frames = stream.getvalue().split("\r")[1:]
    assert frames[0].startswith("[..........]   0%")
    assert frames[1].startswith("[#####.....]  50%")
    assert frames[2] == "[##########] 100%  1.0 MiB / 1.0 MiB\n"


def count_calls(monkeypatch, obj, name):
    calls = []
    real = getattr(obj, name)

    def counted(*args, **kwargs):
        calls.append(args)
        return real(*args, **kwargs)

    monkeypatch.setattr(obj, name, counted)
    return calls
