"""A site's name is a label for people, not a key: nothing finds a site by
its name (URLs, the session, media folders and the API name sites by id),
so two sites may bear the same one. Were names unique across sites, the
site settings (page, API, admin) would tell a site admin whether another
shop bears a name, which nothing else of another site shows them, and two
renames to the same name at once would fail on the constraint (a 500).
Superusers, who see every site, tell same-named ones apart by their city
in the site chooser and switcher."""

import threading

import pytest
from django.db import connection
from django.test import Client
from rest_framework.test import APIClient

from inventory.models import Configuration


@pytest.fixture
def boss(make_user, sites):
    return make_user("boss", sites[0], is_site_admin=True, is_staff=True)


def test_two_sites_may_bear_the_same_name(sites):
    Configuration.objects.create(site_name="Site Two")

    assert Configuration.objects.filter(site_name="Site Two").count() == 2


def test_a_site_admin_learns_nothing_of_other_sites_names(boss, sites):
    """Another shop's name is taken as any other name, on every path."""
    one = sites[0]
    api = APIClient()
    api.force_authenticate(boss)
    pages = Client(HTTP_ACCEPT_LANGUAGE="en")
    pages.force_login(boss)
    form = {"site_name": "Site Two", "currency": "XOF"}

    assert api.patch("/api/site/", {"site_name": "Site Two"}, format="json").status_code == 200
    assert api.put("/api/site/", form, format="json").status_code == 200
    assert pages.post("/site/", form).status_code == 302
    assert pages.post(f"/admin/inventory/configuration/{one.pk}/change/", form).status_code == 302
    one.refresh_from_db()
    assert one.site_name == "Site Two"


@pytest.mark.django_db(transaction=True)
def test_two_sites_renamed_to_the_same_name_at_once_both_succeed(make_user, sites):
    admins = [make_user(f"boss{i}", site, is_site_admin=True) for i, site in enumerate(sites)]
    barrier = threading.Barrier(len(admins))
    statuses = []

    def rename(admin):
        try:
            api = APIClient()
            api.force_authenticate(admin)
            barrier.wait()
            statuses.append(
                api.put(
                    "/api/site/", {"site_name": "Same", "currency": "XOF"}, format="json"
                ).status_code
            )
        finally:
            connection.close()  # the thread's own

    threads = [threading.Thread(target=rename, args=(admin,)) for admin in admins]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert statuses == [200, 200]
    assert Configuration.objects.filter(site_name="Same").count() == 2


def test_superusers_tell_same_named_sites_apart_by_city(django_user_model, sites):
    one, two = sites
    Configuration.objects.filter(pk=one.pk).update(site_name="Boutique", city="Dakar")
    Configuration.objects.filter(pk=two.pk).update(site_name="Boutique", city="Thiès")
    root = django_user_model.objects.create_superuser("root", password="pw")
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(root)

    chooser = client.get("/").content.decode()
    switcher = client.get(f"/?site={one.pk}").content.decode()

    for page in (chooser, switcher):
        assert "Boutique · Dakar" in page
        assert "Boutique · Thiès" in page


# --- Same-named sites in the admin ------------------------------------------------


@pytest.fixture
def namesakes(db):
    """Three shops named alike (letter case aside), and one named apart."""
    return {
        "dakar": Configuration.objects.create(site_name="Boutique", city="Dakar"),
        "thies": Configuration.objects.create(site_name="BOUTIQUE", city="Thiès"),
        "nowhere": Configuration.objects.create(site_name="Boutique"),
        "market": Configuration.objects.create(site_name="Marché", city="Dakar"),
    }


def labels_of(namesakes):
    """How the admin names each, in French."""
    d, t, n = namesakes["dakar"].pk, namesakes["thies"].pk, namesakes["nowhere"].pk
    return [
        f"Boutique (Dakar, n° {d})",
        f"BOUTIQUE (Thiès, n° {t})",
        f"Boutique (n° {n})",
        "Marché",
    ]


@pytest.fixture
def root(django_user_model):
    root = django_user_model.objects.create_superuser("root", "root@example.com", "pw")
    client = Client(HTTP_ACCEPT_LANGUAGE="fr")
    client.force_login(root)
    return client


def choice_labels(response, field="site_configuration"):
    return [label for value, label in response.context["adminform"].form.fields[field].choices][1:]


def filter_labels(response, title):
    (spec,) = [spec for spec in response.context["cl"].filter_specs if spec.title == title]
    return [label for value, label in spec.lookup_choices]


def test_site_labels_tell_only_same_named_sites_apart(namesakes):
    from django.utils import translation

    from inventory.sites import site_labels

    with translation.override("en"):
        labels = site_labels(Configuration.objects.all())
        assert labels[namesakes["dakar"].pk] == f"Boutique (Dakar, #{namesakes['dakar'].pk})"
        assert labels[namesakes["market"].pk] == "Marché"
        alone = site_labels([namesakes["dakar"], namesakes["market"]])
        assert alone[namesakes["dakar"].pk] == "Boutique"


def test_the_product_admins_site_field_and_filter_tell_namesakes_apart(root, namesakes):
    expected = labels_of(namesakes)

    add_form = root.get("/admin/inventory/product/add/")
    changelist = root.get("/admin/inventory/product/")

    assert sorted(choice_labels(add_form)) == sorted(expected)
    assert sorted(filter_labels(changelist, "site")) == sorted(expected)
    assert all(label in changelist.content.decode() for label in expected)


def test_the_user_admins_site_field_and_filter_tell_namesakes_apart(root, namesakes):
    from inventory.models import User

    expected = labels_of(namesakes)
    staff = User.objects.create_user("awa", password="pw", site_configuration=namesakes["dakar"])

    change_form = root.get(f"/admin/inventory/user/{staff.pk}/change/")
    changelist = root.get("/admin/inventory/user/")

    assert sorted(choice_labels(change_form)) == sorted(expected)
    assert sorted(filter_labels(changelist, "site")) == sorted(expected)


def test_the_ticket_admin_tells_namesakes_apart_to_superusers_only(root, namesakes, make_user):
    """A site admin sees their own site alone: its plain name, never a
    label that would say another shop bears it."""
    from uploads import services

    tickets = {}
    for key in ("dakar", "thies"):
        boss = make_user(f"boss-{key}", namesakes[key], is_site_admin=True, is_staff=True)
        tickets[key] = services.issue_ticket(
            boss, kind="logo", object_id=namesakes[key].pk, content_type="image/png", size=100
        ).ticket
    d, t = namesakes["dakar"].pk, namesakes["thies"].pk

    changelist = root.get("/admin/uploads/uploadticket/")

    expected = [f"Boutique (Dakar, n° {d})", f"BOUTIQUE (Thiès, n° {t})"]
    assert sorted(filter_labels(changelist, "site")) == sorted(expected)
    assert all(label in changelist.content.decode() for label in expected)

    site_admin = Client(HTTP_ACCEPT_LANGUAGE="fr")
    site_admin.force_login(tickets["dakar"].user)
    own = site_admin.get("/admin/uploads/uploadticket/")
    assert filter_labels(own, "site") == ["Boutique"]
    assert "Dakar, n°" not in own.content.decode()
