"""A superuser attached to no site uploads for the site they chose, as the
pages' picker does it: the page gives the object, the session authenticates
the ticket API, and the files land in that site's folders."""

import re

from django.test import Client

from inventory.models import Product
from tests.support.images import jpeg, png
from tests.support.tickets import sha256_b64


def picker_object_id(page, kind):
    """The object the page's picker uploads to, as image-picker.js reads it."""
    found = re.search(rf'class="picker" data-kind="{kind}" data-object-id="(\d+)"', page)
    assert found, f"no {kind} picker on the page"
    return int(found.group(1))


def test_a_superuser_uploads_a_photo_and_a_logo_of_the_chosen_site(store, sites, django_user_model):
    one, two = sites
    product = Product.objects.create(site_configuration=two, name="Igname", cug="I1")
    root = django_user_model.objects.create_superuser("root", "root@example.com", "pw")
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(root)
    browser.get("/")  # the site chooser, which sets the CSRF cookie
    csrf = browser.cookies["csrftoken"].value
    chosen = browser.post("/sites/", {"site": two.pk, "csrfmiddlewaretoken": csrf})
    assert chosen.status_code == 302

    uploads = [
        (f"/products/{product.pk}/", "product", jpeg(), "image/jpeg", "products"),
        ("/site/", "logo", png(), "image/png", "config"),
    ]
    for page_url, kind, body, content_type, folder in uploads:
        page = browser.get(page_url)
        assert page.status_code == 200, page_url
        ticket = browser.post(
            "/api/uploads/tickets/",
            {
                "kind": kind,
                "object_id": picker_object_id(page.content.decode(), kind),
                "filename": f"{kind}.img",
                "content_type": content_type,
                "size": len(body),
                "sha256": sha256_b64(body),
            },
            content_type="application/json",
            HTTP_X_CSRFTOKEN=csrf,
        )
        assert ticket.status_code == 201, ticket.json()
        ticket = ticket.json()
        assert store.post(ticket["upload"], body, file_type=content_type) == 204
        confirmed = browser.post(
            f"/api/uploads/tickets/{ticket['id']}/confirm/",
            content_type="application/json",
            HTTP_X_CSRFTOKEN=csrf,
        )
        assert confirmed.status_code == 200, confirmed.json()
        assert confirmed.json()["key"].startswith(f"media/sites/{two.pk}/{folder}/")
        assert store.read(confirmed.json()["key"]) == body

    product.refresh_from_db()
    two.refresh_from_db()
    assert product.image.name.startswith(f"sites/{two.pk}/products/")
    assert two.logo.name.startswith(f"sites/{two.pk}/config/")
    one.refresh_from_db()
    assert not one.logo
