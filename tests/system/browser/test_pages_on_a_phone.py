"""The pages' controls as shop staff reach them on a phone: each a target
for a finger, at least 44 px high (WCAG 2.5.5)."""

import pytest

from inventory.models import Product
from tests.support.browser import log_in

# What the page shows does not depend on the storage mode.
local_only = pytest.mark.parametrize("site_mode", ["local"], indirect=True)

# Every control that a finger taps, and the links that stand alone (in the
# header, the pagination, a button-like link); not those within a sentence.
CONTROLS = (
    "button, select, input:not([type=hidden]):not([type=file]), a.button, header nav a, "
    ".pagination a"
)
SMALL = f"""() => [...document.querySelectorAll({CONTROLS!r})]
    .filter(element => element.offsetParent !== null)
    .map(element => [element.outerHTML.slice(0, 80), element.getBoundingClientRect().height])
    .filter(([, height]) => height < 44)"""


@local_only
def test_every_control_is_a_target_for_a_finger(site_mode, phone, live_server, shop):
    # Two pages of products: the list has its pagination.
    Product.objects.bulk_create(
        Product(site_configuration=shop["site"], name=f"Produit {n}", cug=f"P-{n}")
        for n in range(25)
    )
    log_in(phone, live_server, "boss")
    for path in ["/", f"/products/{shop['product'].pk}/", "/products/new/", "/site/"]:
        phone.goto(f"{live_server.url}{path}")
        assert phone.evaluate(SMALL) == [], path
    phone.goto(live_server.url)
    assert phone.locator(".pagination a").count() == 1
