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
