"""A page open while the server makes an image's renditions picks them up
without a reload (inventory/static/inventory/renditions.js)."""

import io

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from PIL import Image

from tests.support.browser import log_in
from tests.support.images import jpeg
from tests.support.renditions import set_renditions


def webp(size):
    buffer = io.BytesIO()
    Image.new("RGB", size, (20, 120, 60)).save(buffer, "WEBP")
    return buffer.getvalue()


@pytest.mark.parametrize("site_mode", ["local"], indirect=True)
def test_placeholders_turn_into_the_renditions_or_a_message(site_mode, page, live_server, shop):
    product = shop["product"]
    product.image.save("riz.jpg", ContentFile(jpeg()))
    rendition_set = set_renditions(product.image.name, "ready")
    for variant in rendition_set.variants.values():
        default_storage.save(
            variant["name"], ContentFile(webp((variant["width"], variant["height"])))
        )
    set_renditions(product.image.name, "pending")
    log_in(page, live_server, "staff")

    page.goto(f"{live_server.url}/")
    page.locator(".products .rendition.pending").wait_for()
    set_renditions(product.image.name, "ready")
    thumbnail = page.locator(".products img.thumbnail")
    thumbnail.wait_for(timeout=15000)
    page.wait_for_function(
        "img => img.complete && img.naturalWidth > 0", arg=thumbnail.element_handle()
    )
    assert "renditions/" in thumbnail.get_attribute("srcset")

    set_renditions(product.image.name, "pending")
    page.goto(f"{live_server.url}/products/{product.pk}/")
    page.locator(".picker .rendition.pending").wait_for()
    set_renditions(product.image.name, "failed")
    page.locator(".picker .rendition.failed").wait_for(timeout=15000)
    assert page.locator(".picker .rendition.pending").count() == 0
    assert "n'a pas pu être lue" in page.locator(".picker .rendition.failed").inner_text()
