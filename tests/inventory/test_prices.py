"""A product's price is never below zero, whichever way it is entered: the
product page, the admin, the API, or code that writes the row itself (the
database refuses it). Zero stays allowed: a product whose price is not set
yet, or one given away."""

from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from rest_framework.test import APIClient

from inventory.models import Product

NEGATIVE = "Le prix ne peut pas être négatif."
FORM = {"name": "Mil", "cug": "M1", "price": "-500", "quantity": "2"}


@pytest.fixture
def staff(sites, make_user):
    return make_user("awa", sites[0], is_staff=True)


def test_the_model_refuses_a_negative_price_and_takes_zero(sites):
    product = Product(site_configuration=sites[0], name="Mil", cug="M1", price=Decimal("-0.01"))
    with pytest.raises(ValidationError) as refused:
        product.full_clean()
    assert refused.value.message_dict == {"price": [NEGATIVE]}

    product.price = Decimal(0)
    product.full_clean()


def test_the_database_refuses_a_negative_price(sites):
    """Code that saves without validating (an update(), a script) too."""
    product = Product.objects.create(site_configuration=sites[0], name="Mil", cug="M1", price=10)
    with pytest.raises(IntegrityError), transaction.atomic():
        Product.objects.filter(pk=product.pk).update(price=-1)
    with pytest.raises(IntegrityError), transaction.atomic():
        Product.objects.create(site_configuration=sites[0], name="Sel", cug="S1", price=-1)


def test_the_product_page_shows_the_error_on_the_price(client, staff):
    client.force_login(staff)

    page = client.post("/products/new/", FORM)
    picker = client.post("/products/new/", FORM, HTTP_ACCEPT="application/json")

    assert page.status_code == 200
    assert page.context["form"].errors == {"price": [NEGATIVE]}
    assert NEGATIVE in page.content.decode()
    assert (picker.status_code, picker.json()) == (400, {"errors": {"price": [NEGATIVE]}})
    assert not Product.objects.exists()


def test_the_admin_shows_the_error_on_the_price(client, staff):
    client.force_login(staff)

    page = client.post("/admin/inventory/product/add/", FORM)

    assert page.status_code == 200
    assert page.context["adminform"].form.errors == {"price": [NEGATIVE]}
    assert not Product.objects.exists()


def test_the_api_answers_400_invalid_with_the_price_error(staff, sites):
    product = Product.objects.create(site_configuration=sites[0], name="Riz", cug="R1", price=10)
    api = APIClient()
    api.force_authenticate(staff)

    created = api.post("/api/products/", {**FORM, "quantity": 2}, format="json")
    changed = api.patch(f"/api/products/{product.pk}/", {"price": "-0.01"}, format="json")

    for response in (created, changed):
        assert response.status_code == 400
        body = response.json()
        assert body["code"] == "invalid"
        assert body["errors"] == {"price": [NEGATIVE]}
    product.refresh_from_db()
    assert product.price == 10
    assert Product.objects.count() == 1
