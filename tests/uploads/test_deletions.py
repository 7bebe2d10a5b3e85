"""Objects nothing refers to any more are deleted after the commit, and a
delete that fails is never forgotten: it is recorded, retried by the task
with backoff and by purge_uploads, and shown to operators until it works.
Both storage modes; in S3 mode the store refuses deletes as AWS does for a
key without s3:DeleteObject."""

import uuid
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db import DatabaseError, transaction
from django.utils import timezone

from inventory.models import Product
from tests.support import clock
from tests.support.faults import failing_updates_of
from tests.support.iam import readme_policy, without
from tests.support.image_changes import change_image
from tests.support.images import jpeg
from tests.support.renditions import name_after_stem
from tests.support.stores import S3Store, is_rendition
from tests.support.tickets import confirm, issue
from uploads import deletions, services, tasks
from uploads.backends import get_backend
from uploads.backends.local import LocalUploadBackend
from uploads.errors import StorageUnavailable
from uploads.keys import object_key
from uploads.models import PendingDeletion, RenditionSet, UploadTicket
from uploads.renditions import DEFAULT_RENDITIONS

# Deletes run after the commit (on_commit): real commits.
pytestmark = pytest.mark.django_db(transaction=True)


def upload(store, api, product, body):
    ticket = issue(api, product, body)
    assert store.post(ticket["upload"], body) in (200, 201, 204)
    return ticket


def incoming(ticket):
    return ticket["upload"]["fields"]["key"]


def purge(stderr=None):
    out = StringIO()
    call_command("purge_uploads", stdout=out, stderr=stderr or StringIO())
    return out.getvalue()


class Deletes:
    """Turns the store's deletes off and on: in S3 mode through an IAM gate
    whose policy lacks s3:DeleteObject (the store answers 403), on disk by
    making removal fail as a read-only file system would."""

    def __init__(self, store, request, monkeypatch):
        self.store = store
        self.request = request
        self.monkeypatch = monkeypatch
        if store.mode == "s3":
            self.gate = request.getfixturevalue("aws_key")
            self.gate(readme_policy(store.bucket))

    def refuse(self):
        if self.store.mode == "s3":
            self.gate(without(readme_policy(self.store.bucket), "s3:DeleteObject"))
        else:

            def read_only(backend, key):
                raise PermissionError(30, "Read-only file system", backend.path(key))

            self.monkeypatch.setattr(LocalUploadBackend, "delete", read_only)

    def allow(self):
        if self.store.mode == "s3":
            self.gate(readme_policy(self.store.bucket))
        else:
            self.monkeypatch.setattr(LocalUploadBackend, "delete", ORIGINAL_LOCAL_DELETE)


ORIGINAL_LOCAL_DELETE = LocalUploadBackend.delete


@pytest.fixture
def deletes(store, request, monkeypatch):
    return Deletes(store, request, monkeypatch)


@pytest.mark.renditions
def test_a_failed_delete_of_the_replaced_image_is_retried_by_purge_uploads(
    store, deletes, api, product
):
    first = confirm(api, upload(store, api, product, jpeg(color=(1, 2, 3)))).json()
    first_renditions = set(store.rendition_keys())
    deletes.refuse()
    ticket = upload(store, api, product, jpeg(color=(200, 2, 3)))

    second = confirm(api, ticket)

    assert second.status_code == 200, second.json()
    second = second.json()
    product.refresh_from_db()
    assert "media/" + product.image.name == second["key"]
    assert store.keys() == sorted([first["key"], second["key"], incoming(ticket)])
    records = {
        record.key: record
        for record in PendingDeletion.objects.all()
        if not is_rendition(record.key)
    }
    assert set(records) == {first["key"], incoming(ticket)}
    recorded = PendingDeletion.objects.count()  # and the old image's renditions
    replaced = records[first["key"]]
    assert (replaced.reason, replaced.attempts) == ("replaced", 1)
    assert replaced.last_error
    assert replaced.next_attempt_at > timezone.now()

    errors = StringIO()
    with pytest.raises(CommandError, match=rf"{recorded} recorded deletion\(s\) keep failing"):
        purge(stderr=errors)
    assert f"Still not deleted: {first['key']} (replaced, 2 failed attempt(s) since" in (
        errors.getvalue()
    )
    assert store.read(first["key"]), "the old image is still there"

    deletes.allow()
    output = purge()

    assert f"Retried {recorded} recorded deletion(s): {recorded} deleted, 0 still" in output
    assert store.keys() == [second["key"]]
    assert first_renditions and not first_renditions & set(store.rendition_keys())
    assert not PendingDeletion.objects.exists()
    assert "Retried" not in purge(), "nothing is left to retry"


def test_the_task_retries_a_failed_delete_after_a_backoff(
    store, deletes, task_worker, settings, api, product
):
    settings.UPLOADS = {**settings.UPLOADS, "DELETE_RETRY_DELAY": 60}
    first = confirm(api, upload(store, api, product, jpeg(color=(1, 2, 3)))).json()
    task_worker()
    deletes.refuse()
    second = confirm(api, upload(store, api, product, jpeg(color=(200, 2, 3)))).json()
    assert first["key"] in store.keys(), "the request left the delete to the worker"

    task_worker()

    record = PendingDeletion.objects.get(key=first["key"])
    assert record.attempts == 1
    assert first["key"] in store.keys()
    deletes.allow()
    task_worker()
    assert PendingDeletion.objects.get(key=first["key"]).attempts == 1, "not before its time"
    assert first["key"] in store.keys()

    with clock.shifted((record.next_attempt_at - timezone.now()).total_seconds() + 1):
        task_worker()

    assert store.keys() == [second["key"]]
    assert not PendingDeletion.objects.exists()


def test_failing_deletes_are_shown_read_only_in_the_admin(
    store, deletes, api, product, admin_client
):
    first = confirm(api, upload(store, api, product, jpeg(color=(1, 2, 3)))).json()
    deletes.refuse()
    confirm(api, upload(store, api, product, jpeg(color=(200, 2, 3))))
    record = PendingDeletion.objects.get(key=first["key"])

    listing = admin_client.get(
        "/admin/uploads/pendingdeletion/?failed=yes", HTTP_ACCEPT_LANGUAGE="en"
    )

    assert listing.status_code == 200
    page = listing.content.decode()
    assert record.key in page
    assert record.last_error.split(":")[0] in page
    assert "/admin/uploads/pendingdeletion/add/" not in page
    detail = admin_client.get(f"/admin/uploads/pendingdeletion/{record.pk}/change/")
    assert detail.status_code == 200
    assert 'name="_save"' not in detail.content.decode(), "read only"


def test_a_copy_that_can_be_neither_attached_nor_deleted_is_recorded(
    store, deletes, api, product, monkeypatch
):
    """The database fails after the copy, and so does the store's delete:
    the copy is recorded, the old image stays attached, and purge_uploads
    deletes the copy once the store accepts."""
    first = confirm(api, upload(store, api, product, jpeg(color=(1, 2, 3)))).json()
    ticket = upload(store, api, product, jpeg(color=(200, 2, 3)))
    deletes.refuse()

    api.raise_request_exception = False
    with failing_updates_of(Product, DatabaseError("connection lost")):
        response = confirm(api, ticket)

    assert response.status_code == 500
    product.refresh_from_db()
    assert "media/" + product.image.name == first["key"]
    (record,) = PendingDeletion.objects.all()
    assert record.reason == "unattached"
    assert store.keys() == sorted([first["key"], incoming(ticket), record.key])

    deletes.allow()
    purge()

    assert store.keys() == sorted([first["key"], incoming(ticket)])
    assert confirm(api, ticket).status_code == 200, "the ticket is still usable"


def test_a_copy_whose_answer_was_lost_is_deleted_in_the_background(
    store, task_worker, api, product, monkeypatch
):
    """The store made the copy but its answer never came (a timeout): the
    confirm answers 503 at once, and the copy is deleted by the worker."""
    backend_class = type(get_backend())
    real_copy = backend_class.copy

    def copy_then_time_out(self, *args):
        real_copy(self, *args)
        raise StorageUnavailable(retry_after=5)

    ticket = upload(store, api, product, jpeg())
    with monkeypatch.context() as patch:
        patch.setattr(backend_class, "copy", copy_then_time_out)
        response = confirm(api, ticket)

    assert (response.status_code, response.json()["code"]) == (503, "storage_unavailable")
    assert response["Retry-After"] == "5"
    (record,) = PendingDeletion.objects.all()
    assert (record.reason, record.attempts) == ("unattached", 0)
    assert record.key in store.keys()
    assert UploadTicket.objects.get(pk=ticket["id"]).final_key == "", "the claim is released"

    task_worker()

    assert store.keys() == [incoming(ticket)]
    assert not PendingDeletion.objects.exists()
    data = confirm(api, ticket).json()
    assert data["status"] == "confirmed"
    task_worker()
    assert store.keys() == [data["key"]]


@pytest.fixture
def aws_store(s3_bucket, s3_client):
    return S3Store(s3_client, s3_bucket)


def test_clean_up_never_asks_the_store_about_a_key_never_written(aws_store, aws_key, api, product):
    """The HEAD fails (here refused): no copy was made, so nothing is
    deleted or recorded, and the ticket stays usable."""
    aws_key(readme_policy(aws_store.bucket))
    body = jpeg()
    ticket = upload(aws_store, api, product, body)
    gate = aws_key(without(readme_policy(aws_store.bucket), "s3:GetObject"))

    response = confirm(api, ticket)

    assert (response.status_code, response.json()["code"]) == (503, "storage_unavailable")
    assert [action for action, _, _ in gate.requests] == ["s3:GetObject"], "one HEAD, no DELETE"
    assert not PendingDeletion.objects.exists()
    aws_key(readme_policy(aws_store.bucket))
    assert confirm(api, ticket).status_code == 200


@pytest.mark.renditions
def test_a_deleted_object_takes_its_file_with_it_whatever_deletes_it(
    store, deletes, api, product, site
):
    """The API, the admin and a cascade from the site all delete rows the
    same way: the file is recorded with the row and deleted after the
    commit; a store that refuses the delete loses nothing."""
    attached = confirm(api, upload(store, api, product, jpeg())).json()
    deletes.refuse()

    site.delete()  # cascades to the product, as the admin's site deletion does

    assert not Product.objects.filter(pk=product.pk).exists()
    record = PendingDeletion.objects.get(key=attached["key"])
    assert (record.reason, record.attempts) == ("deleted", 1)
    assert store.read(attached["key"]), "kept until a delete succeeds"

    assert store.rendition_keys(), "and its renditions"

    deletes.allow()
    assert f"{1 + len(DEFAULT_RENDITIONS)} deleted, 0 still failing" in purge()
    assert attached["key"] not in store.keys()
    assert not store.rendition_keys()


def test_a_rolled_back_delete_keeps_the_file(store, api, product):
    attached = confirm(api, upload(store, api, product, jpeg())).json()
    pk = product.pk

    with pytest.raises(DatabaseError), transaction.atomic():
        product.delete()
        raise DatabaseError("the rest of the request failed")

    assert Product.objects.filter(pk=pk).exists()
    assert not PendingDeletion.objects.exists()
    assert attached["key"] in store.keys()


def test_recording_keeps_the_record_of_a_key_recorded_already():
    """However many keys one call records (more than Django puts in one
    statement on SQLite), a key recorded already keeps its record: its
    reason, its failed attempts and their error."""
    Reason = PendingDeletion.Reason
    kept = PendingDeletion.objects.create(
        key="media/kept.jpg", reason=Reason.REPLACED, attempts=3, last_error="refused"
    )
    objects = {f"media/{number}.jpg": Reason.UPLOADED for number in range(400)}
    objects["media/kept.jpg"] = Reason.UPLOADED
    assert deletions.record(objects) == list(objects)
    assert set(PendingDeletion.objects.values_list("key", flat=True)) == set(objects)
    kept.refresh_from_db()
    assert (kept.reason, kept.attempts, kept.last_error) == (Reason.REPLACED, 3, "refused")
    assert PendingDeletion.objects.exclude(pk=kept.pk).filter(reason=Reason.UPLOADED).count() == 400


# An old app's name that rows of two sites share (until the migration moves
# them), and a name leading into another site's folder: neither file is the
# row's own to delete.
NOT_THE_ROWS_OWN = ["shared/e.jpg", "sites/{two}/products/live.jpg"]


def name_elsewhere(store, product, sites, name):
    """Point ``product`` (of site one) and a product of site two at
    ``name``, a file of site two's photo."""
    name = name.format(two=sites[1].pk)
    store.put(f"media/{name}", b"site two's photo")
    other = Product.objects.create(site_configuration=sites[1], name="Other", cug="O")
    Product.objects.filter(pk__in=[product.pk, other.pk]).update(image=name)
    product.refresh_from_db()
    return f"media/{name}"


@pytest.mark.parametrize("name", NOT_THE_ROWS_OWN)
def test_replacing_an_image_never_deletes_a_file_outside_the_sites_folder(
    store, api, product, sites, name
):
    key = name_elsewhere(store, product, sites, name)

    assert confirm(api, upload(store, api, product, jpeg())).status_code == 200
    purge()

    assert store.read(key) == b"site two's photo"
    assert not PendingDeletion.objects.exists()


@pytest.mark.parametrize("name", NOT_THE_ROWS_OWN)
def test_deleting_a_product_never_deletes_a_file_outside_its_sites_folder(
    store, product, sites, name
):
    key = name_elsewhere(store, product, sites, name)

    product.delete()
    purge()

    assert store.read(key) == b"site two's photo"


@pytest.mark.parametrize("name", NOT_THE_ROWS_OWN)
def test_clearing_an_image_never_deletes_a_file_outside_the_sites_folder(
    store, product, sites, name
):
    key = name_elsewhere(store, product, sites, name)

    with transaction.atomic():
        services.remove_file(product, kind="product")  # the admin's "clear"
    purge()

    product.refresh_from_db()
    assert product.image.name == ""
    assert store.read(key) == b"site two's photo"


# A name in the site's folder to a plain reading, that the media storages
# (uploads.media.MediaRootNames: backslashes are slashes) resolve into
# another site's folder: in local mode, the delete removed that file.
BACKSLASHED = "sites/{one}/products/..\\..\\..\\sites\\{two}\\products\\live.jpg"


@pytest.mark.parametrize("change", ["replace", "clear", "delete"])
def test_a_name_with_backslashes_never_deletes_another_sites_file(
    store, api, product, sites, change
):
    key = f"media/sites/{sites[1].pk}/products/live.jpg"
    store.put(key, b"site two's photo")
    name = BACKSLASHED.format(one=sites[0].pk, two=sites[1].pk)
    Product.objects.filter(pk=product.pk).update(image=name)
    product.refresh_from_db()

    if change == "replace":
        assert confirm(api, upload(store, api, product, jpeg())).status_code == 200
    elif change == "clear":
        with transaction.atomic():
            services.remove_file(product, kind="product")
    else:
        product.delete()
    purge()

    assert store.read(key) == b"site two's photo"


# Two rows of one site naming one file of its folder: what the first release
# of migrate_images_to_multisite left for products that shared an old file,
# or a row edited by hand. A change to one row never deletes the other's.


@pytest.fixture
def shared_photo(store, api, product, site):
    """``product``'s confirmed photo, with its renditions, named by a second
    product of its site too: ``(key, the second product)``."""
    key = confirm(api, upload(store, api, product, jpeg(color=(5, 90, 200)))).json()["key"]
    product.refresh_from_db()
    other = Product.objects.create(site_configuration=site, name="Other", cug="O")
    Product.objects.filter(pk=other.pk).update(image=key.removeprefix("media/"))
    other.refresh_from_db()
    assert len(store.rendition_keys()) == len(DEFAULT_RENDITIONS)
    return key, other


@pytest.mark.renditions
@pytest.mark.parametrize("change", ["replace", "clear", "delete"])
def test_a_change_to_one_row_never_deletes_a_file_another_row_names(
    store, api, product, shared_photo, change
):
    key, other = shared_photo
    body, renditions = store.read(key), store.rendition_keys()

    change_image(change, store, api, product)
    purge()

    assert store.read(key) == body
    assert set(renditions) <= set(store.rendition_keys()), "and its renditions"
    assert RenditionSet.objects.get(original=other.image.name).state == "ready"
    assert not PendingDeletion.objects.exists(), "nothing left for a later purge to delete"

    # Once no row names it, it goes as any other.
    change_image("clear", store, api, other)
    purge()

    assert key not in store.keys()
    assert not set(renditions) & set(store.rendition_keys())


@pytest.mark.renditions
def test_purge_before_the_task_keeps_the_renditions_of_a_replaced_image_a_row_names(
    store, api, product, shared_photo, task_worker
):
    """Confirm records the replaced image and its renditions; should
    purge_uploads run before the worker (a backlog, or a queue that failed),
    the renditions are kept with the image, not deleted under the set of the
    row that still names it."""
    key, other = shared_photo
    renditions = store.rendition_keys()

    change_image("replace", store, api, product)  # its task waits in the queue
    purge()
    task_worker()

    assert key in store.keys()
    assert set(renditions) <= set(store.rendition_keys())
    assert RenditionSet.objects.get(original=other.image.name).state == "ready"
    assert not PendingDeletion.objects.exists()


@pytest.mark.renditions
@pytest.mark.parametrize("named_again", [False, True], ids=["alone", "named-by-another-row"])
def test_a_replace_queued_by_the_previous_release_runs_as_it_did(
    store, product, site, shared_photo, task_worker, named_again
):
    """The previous release named renditions after the original's stem, and
    its confirm recorded the replaced image with those names and queued
    image_attached with four arguments (the replaced image's name last).
    Run after the upgrade (or its records retried by purge_uploads), the
    task deletes them all, or keeps them all while a row still names the
    image: not only the renditions today's names give, which its set
    records none of."""
    key, other = shared_photo
    old_name = key.removeprefix("media/")
    if not named_again:
        Product.objects.filter(pk=other.pk).update(image="")
    older = name_after_stem(store, old_name)
    new_key = object_key(site.pk, "products", uuid.uuid4().hex, "image/jpeg")
    store.put(new_key, jpeg(color=(200, 10, 10)))
    new_name = new_key.removeprefix("media/")
    Product.objects.filter(pk=product.pk).update(image=new_name)
    keys = deletions.record(dict.fromkeys({key, *older}, PendingDeletion.Reason.REPLACED))

    tasks.image_attached.enqueue(new_name, keys, "product", old_name)
    task_worker()

    assert RenditionSet.objects.get(original=new_name).is_ready
    assert not PendingDeletion.objects.exists()
    if named_again:
        assert key in store.keys()
        assert older <= set(store.rendition_keys()), "the renditions its set records"
        assert RenditionSet.objects.get(original=old_name).is_ready
    else:
        assert key not in store.keys()
        assert not older & set(store.rendition_keys())
        assert not RenditionSet.objects.filter(original=old_name).exists()


def test_a_recorded_deletion_of_a_file_a_row_names_again_is_kept(store, product, site):
    """Whatever recorded it (an earlier release, a row pointed at the file
    since), purge_uploads and the task delete no file a row names: the
    record is dropped, and the file kept."""
    name = f"sites/{site.pk}/products/named.jpg"
    store.put(f"media/{name}", b"a photo")
    Product.objects.filter(pk=product.pk).update(image=name)
    PendingDeletion.objects.create(key=f"media/{name}", reason=PendingDeletion.Reason.REPLACED)
    PendingDeletion.objects.create(key="media/unused.jpg", reason=PendingDeletion.Reason.REPLACED)

    output = purge()

    assert "Retried 1 recorded deletion(s): 1 deleted, 0 still failing." in output
    assert (
        "Kept 1 object(s) recorded for deletion: images a row names again, and their renditions."
    ) in output
    assert store.read(f"media/{name}") == b"a photo"
    assert not PendingDeletion.objects.exists()


@pytest.mark.parametrize("products", [3, 12])
def test_a_sites_cascade_reads_its_products_once_whatever_their_number(site, products):
    """Whether another row names a deleted object's image is asked in the
    worker, for all its keys at once: asked per object in the delete's
    transaction, it read the products once per product, and a site of
    2,000 took 6 times as long to delete."""
    Product.objects.bulk_create(
        Product(
            site_configuration=site,
            name=f"P{n}",
            cug=f"C{n}",
            image=f"sites/{site.pk}/products/{n}.jpg",
        )
        for n in range(products)
    )
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with transaction.atomic():
        with CaptureQueriesContext(connection) as queries:
            site.delete()  # the delete's own statements; the task runs after the commit
        recorded = PendingDeletion.objects.count()

    reads = [
        q["sql"]
        for q in queries
        if q["sql"].startswith("SELECT") and "inventory_product" in q["sql"]
    ]
    assert len(reads) <= 2, reads
    assert recorded == products * (1 + len(DEFAULT_RENDITIONS))


def test_only_images_are_looked_for_among_the_rows(site, django_assert_num_queries):
    """Every confirm records its upload, which no row's image can be (a
    row's image is right in a site's folder): its delete reads no table."""
    folder = f"media/sites/{site.pk}/products"
    with django_assert_num_queries(0):
        deletions.keys_in_use([f"{folder}/incoming/x.jpg", f"{folder}/renditions/x-thumb.webp"])
    with django_assert_num_queries(2):  # a product's image, a site's logo
        deletions.keys_in_use([f"{folder}/x.jpg"])


def test_an_image_a_row_names_is_kept_whatever_the_depth_of_its_targets_folder(
    store, product, site, monkeypatch
):
    """A project's target may keep its images in a folder of more than one
    level (``catalog/photos``): deleting a row keeps the image another row
    names there as anywhere else."""
    from uploads.targets import get_target

    monkeypatch.setattr(get_target("product"), "folder", "catalog/products")
    name = f"sites/{site.pk}/catalog/products/shared.jpg"
    store.put(f"media/{name}", b"a photo two rows show")
    other = Product.objects.create(site_configuration=site, name="Other", cug="O")
    Product.objects.filter(pk__in=[product.pk, other.pk]).update(image=name)
    product.refresh_from_db()

    product.delete()
    purge()

    assert store.read(f"media/{name}") == b"a photo two rows show"
    assert not PendingDeletion.objects.exists()
