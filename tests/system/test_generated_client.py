"""A client generated from ``/api/schema/`` by openapi-python-client, as a
mobile developer would generate theirs: the generator has nothing to warn
about, every module imports, and the client does the whole upload flow
against a live server (filesystem mode: the emulator stands in for the
bucket)."""

import base64
import hashlib
import importlib
import io
import os
import subprocess
import sys

import pytest
import requests
from PIL import Image

from tests.support.images import jpeg

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

PACKAGE = "inventory_api_client"


def generate(schema_url, directory):
    """Generate the client package into ``directory``: with nothing to warn
    about, since a warning means a piece left out of the client."""
    schema = directory / "schema.yml"
    schema.write_bytes(requests.get(schema_url, timeout=30).content)
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "openapi_python_client",
            "generate",
            "--path",
            str(schema),
            "--output-path",
            str(directory / PACKAGE),
            "--meta",
            "none",
            "--fail-on-warning",
        ],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=directory,
        # Its post-hooks run ruff, from this interpreter's environment.
        env={
            **os.environ,
            "PATH": os.path.dirname(sys.executable) + os.pathsep + os.environ["PATH"],
        },
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert output.split() == ["Generating", str(directory / PACKAGE)], output


@pytest.fixture
def generated(live_server, tmp_path, monkeypatch):
    """The generated package, every module of it imported."""
    generate(f"{live_server.url}/api/schema/", tmp_path)
    monkeypatch.syspath_prepend(str(tmp_path))
    for name in modules(tmp_path):
        importlib.import_module(name)
    yield importlib.import_module(PACKAGE)
    for name in [name for name in sys.modules if name.split(".")[0] == PACKAGE]:
        del sys.modules[name]


def modules(root):
    for path in sorted((root / PACKAGE).rglob("*.py")):
        parts = path.relative_to(root).with_suffix("").parts
        yield ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def test_the_generated_client_does_the_upload_flow(
    generated, live_server, settings, local_media, sites, make_user
):
    settings.DEBUG = True  # filesystem mode: the dev server serves /media/
    make_user("staff", sites[0])
    client, api, models = generated, generated.api, generated.models

    login = models.LoginRequest(username="staff", password="pw")
    token = api.auth.auth_token_create.sync(client=client.Client(live_server.url), body=login)
    assert isinstance(token, models.Token), token
    app = client.AuthenticatedClient(live_server.url, token=token.token, prefix="Token")

    product = api.products.products_create.sync(
        client=app, body=models.ProductRequest(name="Riz parfumé", cug="RIZ-25")
    )
    assert isinstance(product, models.Product), product
    assert product.image_url is None

    body = jpeg((640, 480))
    ticket = api.uploads.upload_ticket_create.sync(
        client=app,
        body=models.TicketRequestRequest(
            kind=models.KindEnum.PRODUCT,
            object_id=product.id,
            filename="riz.jpg",
            content_type=models.ContentTypeEnum.IMAGEJPEG,
            size=len(body),
            sha256=base64.b64encode(hashlib.sha256(body).digest()).decode(),
        ),
    )
    assert isinstance(ticket, models.Ticket), ticket
    assert ticket.status == models.TicketStatusEnum.ISSUED

    # The store is not this API: a plain multipart POST, the file last.
    stored = requests.post(
        ticket.upload.url,
        data=ticket.upload.fields.to_dict(),
        files={"file": ("riz.jpg", body, "image/jpeg")},
        timeout=30,
    )
    assert stored.status_code == 204, stored.text

    image = api.uploads.upload_ticket_confirm.sync(client=app, ticket_id=ticket.id)
    assert isinstance(image, models.ConfirmedImage), image
    assert (image.format_, image.width, image.height) == ("jpeg", 640, 480)

    status = api.uploads.upload_ticket_retrieve.sync(client=app, ticket_id=ticket.id)
    assert status.status == models.TicketStatusEnum.CONFIRMED

    # The API links the display rendition the server re-encoded (made once
    # the confirm committed), never the bytes as sent; staff get no original.
    shown = api.products.products_retrieve.sync(client=app, id=product.id)
    assert isinstance(shown, models.Product), shown
    assert shown.image_state == "ready"
    assert shown.original_url is None
    image_url = shown.image_url
    served = requests.get(image_url, timeout=10)
    assert served.status_code == 200
    with Image.open(io.BytesIO(served.content)) as rendition:
        assert (rendition.format, rendition.size) == ("WEBP", (640, 480))
    assert shown.thumbnail_url and shown.thumbnail_url != shown.image_url

    # Those who answer for the site also get the original, as sent.
    make_user("boss", sites[0], is_site_admin=True)
    login = models.LoginRequest(username="boss", password="pw")
    token = api.auth.auth_token_create.sync(client=client.Client(live_server.url), body=login)
    boss = client.AuthenticatedClient(live_server.url, token=token.token, prefix="Token")
    shown = api.products.products_retrieve.sync(client=boss, id=product.id)
    assert shown.image_url == image_url
    assert requests.get(shown.original_url, timeout=10).content == body
