"""The inventory's upload targets find an object by its id alone, then
check its site (``inventory.upload_targets.SiteScopedTarget.find_object``):
that must say of one row what ``visible_to`` says of the table, or a
ticket could reach a row the rest of the app hides (another site's
product), or miss one it shows."""

import re

import pytest
from django.conf import settings

from inventory.models import Product, User
from uploads.errors import NotFound, PermissionDenied
from uploads.targets import UploadTarget, get_target, get_targets

USERS = ("root", "staff of one", "staff of two", "of no site", "inactive staff of one")


@pytest.fixture
def people(sites, make_user):
    one, two = sites
    return {
        "root": User.objects.create_superuser("root", "root@example.com", "pw"),
        "staff of one": make_user("one", one),
        "staff of two": make_user("two", two),
        "of no site": make_user("nobody", None),
        "inactive staff of one": make_user("gone", one, is_active=False),
    }


@pytest.fixture
def rows(sites):
    """Each target's objects, one per site."""
    one, two = sites
    return {
        "product": [
            Product.objects.create(site_configuration=one, name="Riz", cug="R1"),
            Product.objects.create(site_configuration=two, name="Mil", cug="M1"),
        ],
        "logo": list(sites),
    }


@pytest.mark.parametrize("kind", ["product", "logo"])
@pytest.mark.parametrize("who", USERS)
def test_find_object_says_of_one_row_what_the_queryset_says(kind, who, people, rows):
    target, user = get_target(kind), people[who]
    for obj in rows[kind]:
        listed = target.get_queryset(user).filter(pk=obj.pk).exists()
        found = target.find_object(user, obj.pk)
        assert found == (obj if listed else None), (who, obj)


@pytest.mark.parametrize("kind", ["product", "logo"])
@pytest.mark.parametrize("who", USERS)
def test_get_object_answers_as_the_queryset_and_the_permission(kind, who, people, rows):
    """Invisible: not found, whatever the permission; visible but not
    allowed: refused; the lookup by id and the locked one (``get_queryset``)
    agree."""
    target, user = get_target(kind), people[who]
    for obj in rows[kind]:
        outcomes = []
        for lock in (False, True):
            try:
                found = target.get_object(user, obj.pk, lock=lock)
            except NotFound:
                outcomes.append("not found")
            except PermissionDenied:
                outcomes.append("refused")
            else:
                assert found == obj and found.__dict__.keys() >= {"id", target.field_name}
                outcomes.append("found")
        listed = target.get_queryset(user).filter(pk=obj.pk).exists()
        expected = "not found" if not listed else None
        assert outcomes[0] == outcomes[1], (who, obj, outcomes)
        if expected:
            assert outcomes[0] == expected, (who, obj)
        else:
            allowed = target.has_permission(user, obj)
            assert outcomes[0] == ("found" if allowed else "refused"), (who, obj)


def test_an_object_is_read_by_id_in_one_query(people, rows, django_assert_num_queries):
    target, user = get_target("product"), people["staff of one"]
    mine = rows["product"][0]
    target.has_permission(user, mine)  # the permissions, loaded once per user
    with django_assert_num_queries(1):
        found = target.get_object(user, mine.pk)
    assert (found.pk, found.name, found.site_configuration_id) == (
        mine.pk,
        "Riz",
        mine.site_configuration_id,
    )
    assert found.image.name == "" and found._state.adding is False


@pytest.mark.parametrize("object_id", [0, -1, 2**63 - 1, "12abc", "", None, [1]])
def test_an_id_of_nothing_is_not_found(object_id, people, rows):
    """Missing, out of range, or not a number: 404, never an error."""
    with pytest.raises(NotFound):
        get_target("product").get_object(people["root"], object_id)


@pytest.mark.parametrize("kind", ["product", "logo"])
@pytest.mark.parametrize("object_id", [2**63, -(2**63) - 1, 2**64, "9" * 30])
def test_an_id_beyond_the_column_is_not_found(kind, object_id, people, rows):
    """An id no row's key can hold is not found, as the queryset says it
    (Django's lookups leave such a value out of the SQL): SQLite would
    raise ``OverflowError`` binding it. The API stops these at 2**63 - 1,
    but ``get_object`` is also called from Python (``uploads.uploader``)."""
    with pytest.raises(NotFound):
        get_target(kind).get_object(people["root"], object_id)


def test_the_uppy_plugins_kinds_are_these_targets():
    """frontend_snippets/uppy-direct-upload.js refuses, before anything is
    sent, options whose target the API would refuse: its table of kinds
    says what the targets do, whether a file needs its object's id (none
    when the target names a default object: a logo, the user's site) and
    whether it may go to an object not created yet."""
    source = (settings.BASE_DIR / "frontend_snippets" / "uppy-direct-upload.js").read_text()
    table = re.search(r"export const KINDS = \{\n(.*?)\n\};", source, re.S).group(1)
    plugin = {
        kind: {"needsObjectId": needs == "true", "newObjects": new == "true"}
        for kind, needs, new in re.findall(
            r"^  (\w+): \{ needsObjectId: (true|false), newObjects: (true|false) \},$", table, re.M
        )
    }
    assert len(plugin) == len(table.splitlines()), table
    assert plugin == {
        kind: {
            "needsObjectId": type(target).get_default_object_id
            is UploadTarget.get_default_object_id,
            "newObjects": target.new_objects,
        }
        for kind, target in get_targets().items()
    }
