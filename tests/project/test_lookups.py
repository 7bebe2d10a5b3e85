"""An integer beyond its column's range, in any lookup the admin's query
string can name (``project.lookups``): the same rows as Django's own
integer lookups give, never the value sent to the database, where SQLite
failed on it (a 500 in the admin) and PostgreSQL compared the column as
``numeric`` (a full scan)."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from inventory.models import Product

pytestmark = pytest.mark.django_db

HUGE = 99999999999999999999  # beyond 64 bits


@pytest.fixture
def products(sites):
    one, two = sites
    return (
        Product.objects.create(site_configuration=one, name="Riz", cug="R-1"),
        Product.objects.create(site_configuration=two, name="Mil", cug="M-1"),
    )


def rows(**lookup):
    """The names ``lookup`` selects, and whether an out-of-range value
    reached the database."""
    with CaptureQueriesContext(connection) as queries:
        names = sorted(Product.objects.filter(**lookup).values_list("name", flat=True))
    return names, any(str(HUGE) in query["sql"] for query in queries)


def test_in_leaves_out_the_values_beyond_the_range(products):
    riz, mil = products
    assert rows(pk__in=[riz.pk, HUGE]) == (["Riz"], False)
    assert rows(pk__in=[-HUGE, HUGE]) == ([], False)
    assert rows(pk__in=[riz.pk, mil.pk]) == (["Mil", "Riz"], False)


@pytest.mark.parametrize(
    ("lookup", "value", "names"),
    [
        ("site_configuration", HUGE, []),
        ("site_configuration__exact", -HUGE, []),
        ("site_configuration__gt", -HUGE, ["Mil", "Riz"]),
        ("site_configuration__gte", HUGE, []),
        ("site_configuration__lt", HUGE, ["Mil", "Riz"]),
        ("site_configuration__lte", -HUGE, []),
    ],
)
def test_a_foreign_key_compared_with_a_value_beyond_the_range(products, lookup, value, names):
    assert rows(**{lookup: value}) == (names, False)


def test_a_foreign_key_in_leaves_out_the_values_beyond_the_range(products, sites):
    assert rows(site_configuration__in=[sites[0].pk, HUGE]) == (["Riz"], False)
    assert rows(site_configuration__in=[sites[0], HUGE]) == (["Riz"], False)
    assert rows(site_configuration__in=[HUGE]) == ([], False)


def test_values_within_the_range_are_compared_as_before(products, sites):
    assert rows(site_configuration=sites[1].pk) == (["Mil"], False)
    assert rows(site_configuration__gt=sites[0].pk) == (["Mil"], False)
    assert rows(
        site_configuration__in=Product.objects.filter(name="Riz").values("site_configuration")
    ) == (["Riz"], False)
