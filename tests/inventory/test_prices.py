"""A product's price is never below zero, whichever way it is entered: the
product page, the admin, the API, or code that writes the row itself (the
database refuses it). Zero stays allowed: a product whose price is not set
yet, or one given away."""

from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.core.management import CommandError
from django.db import IntegrityError, connection, transaction
from django.db.migrations.recorder import MigrationRecorder
from rest_framework.test import APIClient

from inventory.models import Product
from tests.support.migrations import migrate, migrate_to_the_latest

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
    assert (picker.status_code, picker.json()["errors"]) == (400, {"price": [NEGATIVE]})
    assert NEGATIVE in picker.json()["fields"]  # what the picker shows in place of the form's
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


# The migration that adds the constraint, and the one before it.
BEFORE = [("inventory", "0003_site_name_not_unique")]
CONSTRAINT = [("inventory", "0004_price_not_negative")]


@pytest.fixture
def migrator(transactional_db):
    yield migrate
    # The negative prices a test left corrected first, which the constraint's
    # migration would refuse; by an update of that column alone, which the
    # schema of a migration older than the model's has (the flush that
    # follows drops the products anyway).
    Product.objects.filter(price__lt=0).update(price=0)
    migrate_to_the_latest()


def applied(migration):
    return migration[0] in MigrationRecorder(connection).applied_migrations()


def test_migrating_over_negative_prices_names_them_and_applies_nothing(migrator):
    """A database holding negative prices (saved before the rule): the
    constraint's migration stops with the products to correct, and what to
    do, where the database said only that some row breaks the constraint.
    Corrected, it migrates."""
    old = migrator(BEFORE)
    Site, Product = (
        old.get_model("inventory", "Configuration"),
        old.get_model("inventory", "Product"),
    )
    awa = Site.objects.create(site_name="Boutique Awa")
    millet = Product.objects.create(site_configuration=awa, name="Mil", cug="M-1", price=-500)
    Product.objects.create(site_configuration=awa, name="Riz", cug="R-1", price=1200)
    salt = Product.objects.create(name="Sel", cug="S-1", price=Decimal("-0.01"))

    with pytest.raises(CommandError) as refused:
        migrator(CONSTRAINT)

    message = str(refused.value)
    assert message.startswith(
        "2 product(s) have a negative price, which the constraint price_not_negative of "
        "migration inventory.0004 refuses:\n"
    )
    assert f"\n  site {awa.pk} (Boutique Awa), product {millet.pk} (CUG M-1): -500.00\n" in message
    assert f"\n  no site, product {salt.pk} (CUG S-1): -0.01\n" in message
    assert "R-1" not in message
    assert "then run migrate again. Nothing of this migration was applied." in message
    assert not applied(CONSTRAINT)
    Product.objects.filter(pk=salt.pk).update(price=-1)  # no constraint yet

    Product.objects.filter(price__lt=0).update(price=0)
    new = migrator(CONSTRAINT)

    assert applied(CONSTRAINT)
    with pytest.raises(IntegrityError), transaction.atomic():
        new.get_model("inventory", "Product").objects.filter(pk=salt.pk).update(price=-1)


def test_migrating_over_many_negative_prices_names_thirty_and_counts_the_rest(migrator):
    old = migrator(BEFORE)
    site = old.get_model("inventory", "Configuration").objects.create(site_name="Boutique Awa")
    old.get_model("inventory", "Product").objects.bulk_create(
        old.get_model("inventory", "Product")(
            site_configuration=site, name=f"P{n}", cug=f"P-{n}", price=-n
        )
        for n in range(1, 36)
    )

    with pytest.raises(CommandError) as refused:
        migrator(CONSTRAINT)

    lines = str(refused.value).splitlines()
    assert lines[0].startswith("35 product(s) have a negative price")
    assert len([line for line in lines if line.startswith(f"  site {site.pk} ")]) == 30
    assert "  ... and 5 more." in lines
    assert not applied(CONSTRAINT)
