"""Attacks on every path that deletes or copies objects: no change to one
row deletes an image, or a rendition, that another row still shows, in
either storage mode."""

from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db import transaction

from inventory.models import Configuration, Product
from tests.support.image_changes import change_image
from tests.support.images import jpeg
from tests.support.stores import S3Store
from tests.support.tickets import confirm, issue
from uploads import deletions, renditions, services, tasks
from uploads.models import PendingDeletion, RenditionSet

# Deletes run after the commit (on_commit): real commits.
pytestmark = pytest.mark.django_db(transaction=True)


def upload(store, api, product, body):
    ticket = issue(api, product, body)
    assert store.post(ticket["upload"], body) in (200, 201, 204)
    return ticket


def purge():
    out = StringIO()
    call_command("purge_uploads", stdout=out, stderr=StringIO())
    return out.getvalue()


def shown(obj, field="image"):
    """The bytes a row's image reads as, through the media storage."""
    with getattr(obj, field).open("rb") as handle:
        return handle.read()


# Spellings of one name that the media storages resolve to the same object
# (uploads.media: backslashes are slashes, a leading / and media/ go,
# ``.``, ``..`` and ``//`` are resolved): a row edited by hand, or left so
# by the old app, shows the same photo as the row that names it plainly.
SPELLINGS = [
    "./{name}",
    "/{name}",
    "media/{name}",
    "{folder}//{file}",
    "{folder}/./{file}",
    "{folder}/x/../{file}",
    "{back}",
]


@pytest.mark.parametrize("spelling", SPELLINGS)
@pytest.mark.parametrize("change", ["replace", "clear", "delete"])
def test_a_change_never_deletes_a_file_another_row_names_in_another_spelling(
    store, api, product, site, spelling, change
):
    key = confirm(api, upload(store, api, product, jpeg(color=(5, 90, 200)))).json()["key"]
    product.refresh_from_db()
    name = product.image.name
    folder, _, file = name.rpartition("/")
    spelt = spelling.format(name=name, folder=folder, file=file, back=name.replace("/", "\\"))
    other = Product.objects.create(site_configuration=site, name="Other", cug="O")
    Product.objects.filter(pk=other.pk).update(image=spelt)
    other.refresh_from_db()
    body = store.read(key)
    assert shown(other) == body, "the other row shows the photo"

    change_image(change, store, api, product)
    purge()

    assert store.read(key) == body
    assert shown(other) == body


@pytest.fixture
def photo(store, api, product):
    """``product``'s confirmed photo, with its renditions made: its key."""
    key = confirm(api, upload(store, api, product, jpeg(color=(5, 90, 200)))).json()["key"]
    product.refresh_from_db()
    assert RenditionSet.objects.get(original=product.image.name).state == "ready"
    return key


def renditions_of(name):
    variants = RenditionSet.objects.get(original=name).variants.values()
    return sorted(f"media/{variant['name']}" for variant in variants)


@pytest.mark.renditions
def test_purge_keeps_the_renditions_of_a_logo_a_product_names(store, api, product, site, photo):
    """A product's photo a site names as its logo too: replacing the photo
    keeps it (another row names it), but purge_uploads forgot its set, a
    product's, as no product named it any more, and deleted its renditions."""
    name = product.image.name
    rendered = renditions_of(name)
    Configuration.objects.filter(pk=site.pk).update(logo=name)

    change_image("replace", store, api, product)
    purge()

    assert store.read(photo)
    assert set(rendered) <= set(store.rendition_keys())
    assert RenditionSet.objects.get(original=name).state == "ready"


@pytest.mark.renditions
@pytest.mark.parametrize("change", ["replace", "clear", "delete"])
def test_a_row_naming_a_rendition_never_deletes_it(store, api, product, site, photo, change):
    """A row edited to show another's rendition: in its site's folder, so
    a change to that row deleted the rendition the first row shows."""
    rendered = renditions_of(product.image.name)
    other = Product.objects.create(site_configuration=site, name="Other", cug="O")
    Product.objects.filter(pk=other.pk).update(image=rendered[0].removeprefix("media/"))
    other.refresh_from_db()

    change_image(change, store, api, other)
    purge()

    assert set(rendered) <= set(store.rendition_keys())
    assert shown(product)


@pytest.mark.parametrize("change", ["replace", "clear", "delete"])
def test_a_row_naming_an_upload_waiting_for_its_confirm_never_deletes_it(
    store, api, product, site, change
):
    """Below the site's folder are uploads waiting for their confirm, never
    a row's own image: a row edited to name one took it from its ticket."""
    ticket = upload(store, api, product, jpeg())
    waiting = ticket["upload"]["fields"]["key"]
    other = Product.objects.create(site_configuration=site, name="Other", cug="O")
    Product.objects.filter(pk=other.pk).update(image=waiting.removeprefix("media/"))
    other.refresh_from_db()

    change_image(change, store, api, other)
    purge()

    assert waiting in store.keys()
    assert confirm(api, ticket).status_code == 200


def migrate(*args):
    out, err = StringIO(), StringIO()
    try:
        call_command("migrate_images_to_multisite", "--no-progress", *args, stdout=out, stderr=err)
    except CommandError:
        pass
    return out.getvalue() + err.getvalue()


@pytest.mark.parametrize("spelling", ["media/{name}", "/media/{name}", "media\\{back}"])
@pytest.mark.parametrize("what", ["renditions/a-thumb-200q80m4.webp", "incoming/b.jpg"])
def test_the_migration_never_deletes_a_live_object_a_row_names_with_media(
    store, product, site, spelling, what
):
    """A row of site one naming, with a ``media/`` prefix, a rendition of
    another row's photo or an upload waiting for its confirm: the storages
    read it in the row's own folder, but the migration took it for an old
    file, copied it, and --delete-source deleted it."""
    folder = f"sites/{site.pk}/products"
    store.put(f"media/{folder}/a.jpg", b"a photo")
    store.put(f"media/{folder}/{what}", b"live")
    Product.objects.filter(pk=product.pk).update(image=f"{folder}/a.jpg")
    other = Product.objects.create(site_configuration=site, name="Other", cug="O")
    name = f"{folder}/{what}"
    spelt = spelling.format(name=name, back=name.replace("/", "\\"))
    Product.objects.filter(pk=other.pk).update(image=spelt)
    other.refresh_from_db()
    assert shown(other) == b"live"

    output = migrate("--delete-source")

    assert store.read(f"media/{folder}/{what}") == b"live", output
    other.refresh_from_db()
    assert shown(other) == b"live"


@pytest.mark.parametrize("spelling", ["media/{name}", "./{name}", "{back}"])
def test_rows_naming_one_copy_in_place_in_two_spellings_each_get_their_own(
    store, product, site, spelling
):
    name = f"sites/{site.pk}/products/shared.jpg"
    store.put(f"media/{name}", b"the photo")
    Product.objects.filter(pk=product.pk).update(image=name)
    other = Product.objects.create(site_configuration=site, name="Other", cug="O")
    spelt = spelling.format(name=name, back=name.replace("/", "\\"))
    Product.objects.filter(pk=other.pk).update(image=spelt)

    output = migrate("--delete-source")

    other.refresh_from_db()
    assert other.image.name.startswith(f"sites/{site.pk}/products/shared-"), output
    with transaction.atomic():
        services.remove_file(product, kind="product")
    purge()
    assert shown(other) == b"the photo"


def test_a_recorded_image_a_row_names_in_another_spelling_is_kept_with_its_renditions(
    product, site
):
    """What purge_uploads keeps of the records a replace left, when another
    row names the image in another spelling: the image and its renditions,
    not another image's whose name begins alike."""
    folder = f"sites/{site.pk}/products"
    Product.objects.filter(pk=product.pk).update(image=f"./{folder}//old-photo.jpg")
    image = f"media/{folder}/old-photo.jpg"
    kept = {image, *renditions.rendition_keys([f"{folder}/old-photo.jpg"])}
    others = {f"media/{folder}/old.jpg", *renditions.rendition_keys([f"{folder}/old.jpg"])}

    assert deletions.keys_in_use([*kept, *others]) == kept


# Keys of one file, ``media/sites/<site>/products/photo.jpg``, other than
# its own, that the disk, and SeaweedFS for some, resolve to it.
KEY_SPELLINGS = [
    "media/{folder}/./photo.jpg",
    "media/{folder}//photo.jpg",
    "media/{folder}/x/../photo.jpg",
    "media//{folder}/photo.jpg",
    "media/{folder}\\photo.jpg",
    "media/media/{folder}/photo.jpg",
    "/media/{folder}/photo.jpg",
]


@pytest.mark.parametrize("spelling", KEY_SPELLINGS)
@pytest.mark.parametrize("by", ["purge", "task"])
def test_a_record_naming_a_rows_photo_in_another_spelling_never_deletes_it(
    store, product, site, spelling, by
):
    """A record edited to name a row's photo in a spelling the store
    resolves: only the row's plain name was looked for among the rows, so
    the task and purge_uploads deleted the photo, in either mode."""
    folder = f"sites/{site.pk}/products"
    store.put(f"media/{folder}/photo.jpg", b"the photo")
    Product.objects.filter(pk=product.pk).update(image=f"{folder}/photo.jpg")
    key = spelling.format(folder=folder)
    PendingDeletion.objects.create(key=key, reason=PendingDeletion.Reason.REPLACED)

    if by == "purge":
        assert "Left 1 key(s) recorded for deletion alone" in purge()
    else:
        tasks.delete_objects.enqueue([key])

    assert store.read(f"media/{folder}/photo.jpg") == b"the photo"
    assert not PendingDeletion.objects.exists()


def test_a_record_naming_a_key_out_of_the_media_root_never_deletes_it(s3_client, s3_bucket):
    """The bucket holds the static files beside ``media/``."""
    store = S3Store(s3_client, s3_bucket)
    store.put("static/admin/css/base.css", b"body {}")
    PendingDeletion.objects.create(
        key="static/admin/css/base.css", reason=PendingDeletion.Reason.REPLACED
    )

    purge()

    assert store.read("static/admin/css/base.css") == b"body {}"
    assert not PendingDeletion.objects.exists()


def test_a_record_naming_an_old_apps_file_a_row_names_never_deletes_it(store, product, site):
    """An old app's name, shared by rows of several sites until the
    migration moves them, is in no site's folder: it was not looked for."""
    store.put("media/products/photo.jpg", b"the old photo")
    Product.objects.filter(pk=product.pk).update(image="products/photo.jpg")
    PendingDeletion.objects.create(
        key="media/products/photo.jpg", reason=PendingDeletion.Reason.REPLACED
    )

    purge()

    assert store.read("media/products/photo.jpg") == b"the old photo"
    assert not PendingDeletion.objects.exists()


@pytest.mark.parametrize("spelling", ["{name}", "./{name}", "{folder}//{file}", "media/{name}"])
@pytest.mark.parametrize("change", ["replace", "clear", "delete"])
def test_a_rendition_set_naming_another_rows_photo_never_deletes_it(
    store, api, product, site, spelling, change
):
    """A set edited to record another row's photo as a rendition: the
    delete of what the set records once its image goes asked about the
    name as the set spelled it, and deleted the photo."""
    confirm(api, upload(store, api, product, jpeg()))
    product.refresh_from_db()
    folder = f"sites/{site.pk}/products"
    store.put(f"media/{folder}/other.jpg", b"the other photo")
    other = Product.objects.create(site_configuration=site, name="Other", cug="O")
    Product.objects.filter(pk=other.pk).update(image=f"{folder}/other.jpg")
    name = spelling.format(name=f"{folder}/other.jpg", folder=folder, file="other.jpg")
    RenditionSet.objects.update_or_create(
        original=product.image.name,
        defaults={"kind": "product", "state": "ready", "variants": {"thumb": {"name": name}}},
    )

    change_image(change, store, api, product)
    purge()

    assert store.read(f"media/{folder}/other.jpg") == b"the other photo"
