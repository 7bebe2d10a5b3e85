"""get_current_site_storage resolves the site of the requesting user at call
time."""

import pytest
from django.contrib.auth.models import AnonymousUser
from django.core.files.base import ContentFile
from django.test import RequestFactory

from inventory.storage import (
    ProductImageStorage,
    SiteLogoStorage,
    get_current_site_storage,
)
from tests.support.stores import bucket_keys, disk_files


def request_for(user):
    request = RequestFactory().get("/")
    request.user = user
    return request


@pytest.mark.parametrize(
    "kind, storage_class, folder",
    [("product", ProductImageStorage, "products"), ("logo", SiteLogoStorage, "config")],
)
def test_each_user_gets_the_storage_of_their_own_site(
    sites, make_user, kind, storage_class, folder
):
    one, two = sites
    alice, bob = make_user("alice", one), make_user("bob", two)
    loner = make_user("loner")

    for user, site_folder in [(alice, one.pk), (bob, two.pk), (loner, "default")]:
        storage = get_current_site_storage(request_for(user), kind)
        assert isinstance(storage, storage_class)
        assert storage.folder == f"sites/{site_folder}/{folder}"


def test_site_is_resolved_at_call_time(sites, make_user):
    one, two = sites
    user = make_user("mover", one)
    assert get_current_site_storage(request_for(user), "product").site_id == one.pk

    user.site_configuration = two
    user.save()
    assert get_current_site_storage(request_for(user), "product").site_id == two.pk


def test_anonymous_user_gets_the_default_folder(db):
    storage = get_current_site_storage(request_for(AnonymousUser()), "logo")
    assert storage.folder == "sites/default/config"


def test_unknown_kind_is_refused(db):
    with pytest.raises(ValueError, match="Unknown storage kind 'avatar'"):
        get_current_site_storage(request_for(AnonymousUser()), "avatar")


def test_files_of_two_sites_stay_apart(storage_mode, sites, make_user, local_media, request):
    one, two = sites
    for user in (make_user("alice", one), make_user("bob", two)):
        get_current_site_storage(request_for(user), "product").save(
            "same-name.jpg", ContentFile(user.username.encode())
        )

    expected = [
        f"sites/{one.pk}/products/same-name.jpg",
        f"sites/{two.pk}/products/same-name.jpg",
    ]
    if storage_mode == "s3":
        bucket = request.getfixturevalue("s3_bucket")
        client = request.getfixturevalue("s3_client")
        assert bucket_keys(client, bucket) == [f"media/{name}" for name in expected]
    else:
        assert disk_files(local_media) == expected
