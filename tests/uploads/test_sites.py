"""The site of a user: ``UPLOADS["SITE_RESOLVER"]`` names a function once,
in the settings; without one, a user's ``site_id``. The site of a request:
``UPLOADS["REQUEST_SITE_RESOLVER"]``, else its user's. And the names of sites,
for people: ``UPLOADS["SITE_NAMES"]``, else their ids."""

from types import SimpleNamespace

import pytest

from uploads.conf import upload_settings
from uploads.sites import get_request_site_id, get_site_names, get_user_site_id

calls = []


def resolve_to_seven(user):
    calls.append(user)
    return 7


def test_the_resolver_is_imported_once_and_called_for_each_user(settings):
    settings.UPLOADS = {**settings.UPLOADS, "SITE_RESOLVER": f"{__name__}.resolve_to_seven"}
    calls.clear()

    assert upload_settings.SITE_RESOLVER is resolve_to_seven
    one, two = SimpleNamespace(site_id=1), SimpleNamespace(site_id=2)
    assert [get_user_site_id(one), get_user_site_id(two)] == [7, 7]
    assert calls == [one, two]


def test_a_function_may_be_given_itself(settings):
    settings.UPLOADS = {**settings.UPLOADS, "SITE_RESOLVER": lambda user: user.shop}

    assert get_user_site_id(SimpleNamespace(shop=4)) == 4


def test_without_a_resolver_the_users_site_id(settings):
    settings.UPLOADS = {**settings.UPLOADS, "SITE_RESOLVER": None}

    assert get_user_site_id(SimpleNamespace(site_id=3)) == 3
    assert get_user_site_id(SimpleNamespace()) is None


def test_a_request_acts_for_the_projects_answer_else_its_users_site(settings):
    request = SimpleNamespace(user=SimpleNamespace(site_id=3), chosen=5)
    settings.UPLOADS = {**settings.UPLOADS, "SITE_RESOLVER": None, "REQUEST_SITE_RESOLVER": None}
    assert get_request_site_id(request) == 3

    settings.UPLOADS = {**settings.UPLOADS, "REQUEST_SITE_RESOLVER": lambda r: r.chosen}
    assert get_request_site_id(request) == 5


def test_a_wrong_path_names_the_setting(settings):
    settings.UPLOADS = {**settings.UPLOADS, "SITE_RESOLVER": "inventory.sites.nothing_here"}

    with pytest.raises(ImportError, match="for UPLOADS setting 'SITE_RESOLVER'"):
        get_user_site_id(SimpleNamespace())


def test_sites_are_named_by_the_projects_function_in_one_call(settings, sites):
    asked = []

    def names(site_ids):
        asked.append(set(site_ids))
        return {site_id: "Uno" for site_id in site_ids if site_id == sites[0].pk}

    settings.UPLOADS = {**settings.UPLOADS, "SITE_NAMES": names}

    assert get_site_names([sites[0].pk, sites[1].pk, sites[0].pk, None]) == {
        sites[0].pk: "Uno",
        sites[1].pk: str(sites[1].pk),
    }
    assert asked == [{sites[0].pk, sites[1].pk}]


def test_the_project_names_its_sites(sites):
    assert get_site_names([site.pk for site in sites]) == {
        sites[0].pk: "Site One",
        sites[1].pk: "Site Two",
    }


def test_without_a_namer_sites_are_shown_by_their_ids(settings):
    settings.UPLOADS = {**settings.UPLOADS, "SITE_NAMES": None}

    assert get_site_names([3, 4]) == {3: "3", 4: "4"}
