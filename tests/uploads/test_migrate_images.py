"""migrate_images_to_multisite on a legacy dataset, on SeaweedFS and on
local disk: the layout, the database, and not one image lost."""

import io
import os
import signal
import sqlite3
import subprocess
import sys
import time

import pytest
from django.conf import settings as django_settings
from django.core.management import CommandError, call_command
from django.db import OperationalError, connection

from inventory.models import Configuration, Product
from legacy_media import plan
from legacy_media.models import MigratedSource
from legacy_media.stores import Bucket, Folder
from tests.support import legacy
from tests.support.iam import readme_policy
from tests.support.images import jpeg
from uploads.backends.s3 import S3UploadBackend


@pytest.fixture
def files(store, settings):
    if store.mode == "s3":
        return legacy.BucketFiles(store.client, store.bucket)
    return legacy.FolderFiles(settings.MEDIA_ROOT)


@pytest.fixture
def dataset(files, sites):
    return legacy.build(files, *sites)


def migrate(*args):
    out, err = io.StringIO(), io.StringIO()
    try:
        call_command("migrate_images_to_multisite", *args, stdout=out, stderr=err)
        failed = False
    except CommandError:
        failed = True
    return failed, out.getvalue(), err.getvalue()


def report_value(output, label):
    for line in output.splitlines():
        if line.startswith(label + ":"):
            return int(line.split(":")[1].split()[0])
    raise AssertionError(f"{label!r} not in the report:\n{output}")


def expected_folder(dataset, label):
    obj, _ = dataset.rows[label]
    if isinstance(obj, Configuration):
        return f"sites/{obj.pk}/config/"
    site = obj.site_configuration_id
    return f"sites/{site if site is not None else 'default'}/products/"


def test_every_image_moves_to_its_sites_folder_and_none_is_lost(dataset, files):
    failed, output, errors = migrate()

    assert failed, "a missing file makes the exit status non-zero"
    assert "products/gone.jpg is missing" in errors
    for label, (_, body) in dataset.rows.items():
        name = dataset.name_of(label)
        if body is None:
            assert name == "products/gone.jpg", "a row whose file is missing is left alone"
            continue
        assert name.startswith(expected_folder(dataset, label)), (label, name)
        assert files.read(name) == body, f"{label}: bytes differ"
    copied = [body for label, (_, body) in dataset.rows.items() if body and label != "in-place"]
    assert report_value(output, "Migrated") == len(copied) == 7
    assert report_value(output, "Already in place") == 1
    assert report_value(output, "Missing") == 1
    assert report_value(output, "Failed") == 0
    assert report_value(output, "Bytes copied") == sum(len(body) for body in copied)


def test_a_shared_old_key_ends_up_in_each_sites_folder(dataset, files):
    migrate()

    one, two = dataset.name_of("shared-one"), dataset.name_of("shared-two")
    assert one.startswith(f"sites/{dataset.site_one.pk}/products/")
    assert two.startswith(f"sites/{dataset.site_two.pk}/products/")
    assert files.read(one) == files.read(two) == dataset.rows["shared-one"][1]


def test_a_second_run_copies_nothing(dataset, files):
    migrate()
    names = {label: dataset.name_of(label) for label in dataset.rows}
    before = files.snapshot()

    failed, output, _ = migrate()

    assert failed  # the missing file is still missing
    assert report_value(output, "Migrated") == 0
    assert report_value(output, "Bytes copied") == 0
    assert report_value(output, "Already in place") == 8
    assert {label: dataset.name_of(label) for label in dataset.rows} == names
    assert files.snapshot() == before


def test_dry_run_writes_nothing(dataset, files):
    before = files.snapshot()
    rows = sorted(Product.objects.values_list("pk", "image"))
    logos = sorted(Configuration.objects.values_list("pk", "logo"))

    failed, output, _ = migrate("--dry-run")

    assert failed
    assert "products/a.jpg -> sites/" in output
    assert report_value(output, "Would migrate") == 7
    assert files.snapshot() == before
    assert sorted(Product.objects.values_list("pk", "image")) == rows
    assert sorted(Configuration.objects.values_list("pk", "logo")) == logos


def test_sources_are_deleted_only_when_asked_and_no_row_needs_them(dataset, files):
    migrate("--site", str(dataset.site_one.pk), "--delete-source")

    assert files.exists("shared/e.jpg"), "site two's product still refers to it"
    assert not files.exists("products/a.jpg")
    assert not files.exists(f"assets/products/site-{dataset.site_one.pk}/c.jpg")
    assert not files.exists("assets/logos/site-default/logo.png")
    assert files.exists("media/products/d.jpg"), "no-site rows were not in this run"
    assert dataset.name_of("shared-two") == "shared/e.jpg"

    migrate("--delete-source")

    assert not files.exists("shared/e.jpg")
    assert files.read(dataset.name_of("shared-two")) == dataset.rows["shared-two"][1]
    assert not files.exists("media/products/d.jpg")


OLD_KEYS = {
    "bare": "products/a.jpg",
    "site-folder": "assets/products/site-{one}/b.jpg",
    "doubled": "assets/products/site-{one}/c.jpg",
    "no-site": "media/products/d.jpg",
    "shared-one": "shared/e.jpg",
    "logo": "assets/logos/site-default/logo.png",
}


def old_keys(dataset):
    return {label: key.format(one=dataset.site_one.pk) for label, key in OLD_KEYS.items()}


def test_delete_source_on_a_later_run_deletes_what_earlier_runs_moved(dataset, files):
    migrate()
    sources = old_keys(dataset)
    assert all(files.exists(key) for key in sources.values())

    _, output, _ = migrate("--dry-run", "--delete-source")

    assert report_value(output, "Sources that would be deleted") == len(sources) == 6
    assert all(files.exists(key) for key in sources.values())

    failed, output, errors = migrate("--delete-source")

    assert report_value(output, "Sources deleted") == 6
    assert not [key for key in sources.values() if files.exists(key)]
    for label, (_, body) in dataset.rows.items():
        if body is not None:
            assert files.read(dataset.name_of(label)) == body, label
    assert failed and "products/gone.jpg is missing" in errors, "only the missing file"

    _, output, _ = migrate("--delete-source")

    assert report_value(output, "Sources deleted") == 0


def test_a_later_delete_source_keeps_to_its_site_and_to_what_nothing_needs(dataset, files):
    one, two = dataset.site_one.pk, dataset.site_two.pk
    sources = old_keys(dataset)
    migrate("--site", str(one))

    migrate("--site", str(two), "--delete-source")

    assert not files.exists("shared/e.jpg"), "copied for both sites, needed by neither"
    assert files.exists(sources["bare"]), "copied by the first run for another site"
    assert files.exists(sources["no-site"]), "not copied yet"

    migrate("--delete-source")

    assert not [key for key in sources.values() if files.exists(key)]


def test_a_later_delete_source_keeps_sources_whose_copy_is_gone_or_differs(dataset, files):
    sources = old_keys(dataset)
    migrate()
    # A confirm replaced the image: the copy is deleted, the row names another.
    product, _ = dataset.rows["bare"]
    files.delete(dataset.name_of("bare"))
    files.put(f"media/sites/{dataset.site_one.pk}/products/fresh.jpg", b"new photo")
    legacy.set_name(product, f"sites/{dataset.site_one.pk}/products/fresh.jpg")
    # The old file changed after it was copied.
    files.put(sources["site-folder"], b"changed since")

    _, output, _ = migrate("--delete-source")

    assert report_value(output, "Sources deleted") == 4
    assert report_value(output, "Sources kept (a copy is gone or differs)") == 2
    assert files.exists(sources["bare"]) and files.exists(sources["site-folder"])


def test_without_list_bucket_every_copy_is_made_and_missing_files_are_named(
    s3_bucket, s3_client, sites, aws_key
):
    # AWS answers 403, not 404, to a HEAD of a missing key (a copy not made
    # yet, an old name tried in the wrong place) without s3:ListBucket.
    aws_key(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Action": ["s3:GetObject", "s3:PutObject", "s3:DeleteObject"],
                    "Resource": f"arn:aws:s3:::{s3_bucket}/*",
                }
            ],
        }
    )
    files = legacy.BucketFiles(s3_client, s3_bucket)
    dataset = legacy.build(files, *sites)

    failed, output, errors = migrate("--delete-source")

    assert failed
    assert report_value(output, "Migrated") == 7
    assert report_value(output, "Failed") == 0
    assert report_value(output, "Missing") == 1
    assert "products/gone.jpg is missing or not readable (403)" in errors
    assert "without which a missing key reads as refused" in errors
    for label, (_, body) in dataset.rows.items():
        if body is not None:
            assert files.read(dataset.name_of(label)) == body, label
    assert report_value(output, "Sources deleted") == 6


def test_old_keys_the_key_may_not_read_are_named(s3_bucket, s3_client, sites, aws_key):
    aws_key(readme_policy(s3_bucket))  # covers the old app's prefixes, not shared/
    files = legacy.BucketFiles(s3_client, s3_bucket)
    dataset = legacy.build(files, *sites)

    failed, output, errors = migrate()

    assert failed
    assert report_value(output, "Migrated") == 5
    assert (
        "product {}: shared/e.jpg is missing or not readable (403)".format(
            dataset.rows["shared-one"][0].pk
        )
        in errors
    )
    assert "s3:GetObject on the old keys" in errors
    assert dataset.name_of("shared-one") == "shared/e.jpg"


def test_without_delete_source_every_source_stays(dataset, files):
    sources = set(files.keys())

    migrate()

    assert sources < set(files.keys())


def test_limit_and_site_narrow_a_run(dataset, files):
    failed, output, _ = migrate(
        "--site", str(dataset.site_one.pk), "--limit", "2", "--workers", "1"
    )

    assert report_value(output, "Migrated") == 2
    assert report_value(output, "Left for a later run (--limit)") >= 3
    assert dataset.name_of("shared-two") == "shared/e.jpg"
    assert dataset.name_of("no-site") == "products/d.jpg"


def confirm_elsewhere(product):
    """Attach a new image to ``product`` as another process would, on this
    thread's connection. Another process on SQLite waits for the main
    thread's writes (busy timeout); in the tests' shared in-memory database
    a write meeting them fails at once ("table is locked"), so it waits here."""
    deadline = time.monotonic() + 5
    while True:
        try:
            Product.objects.filter(pk=product.pk).update(image="sites/1/products/fresh.jpg")
            break
        except OperationalError as error:
            if "locked" not in str(error) or time.monotonic() > deadline:
                raise
            time.sleep(0.01)
    connection.close()


@pytest.mark.django_db(transaction=True)
def test_a_confirm_during_the_migration_is_never_overwritten(dataset, files, monkeypatch):
    product, _ = dataset.rows["bare"]
    real_copy = plan.Migration.copy

    def copy_then_confirm(self, move):
        real_copy(self, move)
        if any(row.pk == product.pk for row in move.rows):
            confirm_elsewhere(product)

    monkeypatch.setattr(plan.Migration, "copy", copy_then_confirm)

    _, output, _ = migrate()

    product.refresh_from_db()
    assert product.image.name == "sites/1/products/fresh.jpg"
    assert "Changed during the migration (left alone): 1" in output


def test_local_files_go_to_the_bucket(s3_bucket, s3_client, sites, tmp_path):
    old = legacy.FolderFiles(tmp_path / "old-media")
    dataset = legacy.build(old, *sites)
    bucket = legacy.BucketFiles(s3_client, s3_bucket)

    failed, output, _ = migrate("--source-dir", str(tmp_path / "old-media"))

    # The in-place row's file was only on disk: the bucket lacks it.
    assert report_value(output, "Migrated") == 7
    for label, (_, body) in dataset.rows.items():
        if body is not None and label != "in-place":
            assert bucket.read(dataset.name_of(label)) == body, label


def test_dry_run_from_a_folder_needs_no_credentials(sites, tmp_path, settings):
    settings.AWS_STORAGE_BUCKET_NAME = "nowhere"
    settings.AWS_S3_ENDPOINT_URL = "http://127.0.0.1:9"
    settings.AWS_ACCESS_KEY_ID = settings.AWS_SECRET_ACCESS_KEY = ""
    old = legacy.FolderFiles(tmp_path / "old-media")
    legacy.build(old, *sites)

    failed, output, _ = migrate("--dry-run", "--source-dir", str(tmp_path / "old-media"))

    assert report_value(output, "Would migrate") == 7
    assert "Failed: 0" in output


# --- Killed midway ------------------------------------------------------------


def run_manage(args, env, **kwargs):
    return subprocess.Popen(
        [sys.executable, "manage.py", *args],
        cwd=django_settings.BASE_DIR,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        **kwargs,
    )


@pytest.mark.process
def test_killed_midway_then_rerun_completes(tmp_path):
    """SIGKILL while copying, with its own database and media folder: every
    row still points to a file that exists, and a rerun finishes the job."""
    database = tmp_path / "db.sqlite3"
    media = tmp_path / "media"
    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{database}",
        "DJANGO_MEDIA_ROOT": str(media),
        "AWS_STORAGE_BUCKET_NAME": "",
        "DJANGO_SECRET_KEY": "kill-test-secret-key-0123456789abcdefghijklmnopqrstuvwxyz",
        "PYTHONUNBUFFERED": "1",
    }
    count = 400
    setup = run_manage(["migrate", "--noinput"], env)
    assert setup.wait(timeout=120) == 0, setup.stderr.read()
    build = subprocess.run(
        [
            sys.executable,
            "-c",
            "import django; django.setup();"
            "from pathlib import Path; from django.conf import settings;"
            "from inventory.models import Configuration; from tests.support import legacy;"
            "site = Configuration.objects.create(site_name='Dakar');"
            f"legacy.many(legacy.FolderFiles(Path(settings.MEDIA_ROOT)), site, {count})",
        ],
        cwd=django_settings.BASE_DIR,
        env={**env, "DJANGO_SETTINGS_MODULE": "project.settings"},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert build.returncode == 0, build.stderr
    originals = {p.name: p.read_bytes() for p in (media / "products").iterdir()}

    first = run_manage(["migrate_images_to_multisite", "--workers", "1", "-v", "2"], env)
    moved = 0
    for line in first.stdout:
        moved += " -> " in line
        if moved == 25:
            first.send_signal(signal.SIGKILL)
            break
    first.wait(timeout=60)
    assert first.returncode == -signal.SIGKILL

    rows = sqlite3.connect(database).execute("select image from inventory_product").fetchall()
    names = [name for (name,) in rows]
    migrated = [name for name in names if name.startswith("sites/")]
    assert 25 <= len(migrated) < count, "killed midway"
    assert all((media / name).is_file() for name in names), "a row points to nothing"

    rerun = run_manage(["migrate_images_to_multisite"], env)
    output, errors = rerun.communicate(timeout=300)
    assert rerun.returncode == 0, output + errors
    rows = sqlite3.connect(database).execute("select image from inventory_product").fetchall()
    assert all(name.startswith("sites/") for (name,) in rows)
    for (name,) in rows:
        original = name.rsplit("/", 1)[1].split("-")[0] + ".jpg"
        assert (media / name).read_bytes() == originals[original]
    assert not list(media.rglob("*.partial")), "a cut copy is redone, not left behind"


def test_copies_within_the_bucket_are_server_side(s3_bucket, s3_client, sites):
    legacy.build(legacy.BucketFiles(s3_client, s3_bucket), *sites)
    with legacy.store_requests() as operations:
        migrate()

    assert operations.count("CopyObject") == 7
    assert set(operations) <= {"ListObjectsV2", "HeadObject", "CopyObject"}, (
        "no image bytes through here"
    )


def requests_of_a_run(*args):
    with legacy.store_requests() as operations:
        failed, _, errors = migrate(*args)
    assert not failed, errors
    return {name: operations.count(name) for name in set(operations)}


def test_with_list_bucket_a_copy_costs_one_request(s3_bucket, s3_client, sites):
    # One listing per folder tells which old files and which copies are
    # there, and each copy's answer verifies it: no HEAD of any object.
    legacy.many(legacy.BucketFiles(s3_client, s3_bucket), sites[0], 30)

    assert requests_of_a_run() == {"ListObjectsV2": 2, "CopyObject": 30}
    # A rerun finds every copy in one more listing, and copies nothing.
    assert requests_of_a_run() == {"ListObjectsV2": 1}


def test_without_list_bucket_each_object_gets_its_head(s3_bucket, s3_client, sites, aws_key):
    aws_key(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Action": ["s3:GetObject", "s3:PutObject"],
                    "Resource": f"arn:aws:s3:::{s3_bucket}/*",
                }
            ],
        }
    )
    legacy.many(legacy.BucketFiles(s3_client, s3_bucket), sites[0], 5)

    # Each refused listing (source, destination), then a HEAD of the old
    # file and of the copy's place, the copy; no HEAD after it.
    assert requests_of_a_run() == {"ListObjectsV2": 2, "HeadObject": 10, "CopyObject": 5}


def test_a_copy_whose_answer_differs_from_its_source_is_not_followed(
    s3_bucket, s3_client, sites, monkeypatch
):
    dataset = legacy.build(legacy.BucketFiles(s3_client, s3_bucket), *sites)
    real_copy = S3UploadBackend.copy

    def copy_answering_another_etag(self, *args, **kwargs):
        real_copy(self, *args, **kwargs)
        return '"0123456789abcdef0123456789abcdef"'

    monkeypatch.setattr(S3UploadBackend, "copy", copy_answering_another_etag)

    failed, output, errors = migrate()

    assert failed
    assert report_value(output, "Migrated") == 0
    assert report_value(output, "Failed") == 8 - 1  # and the missing one
    assert "differs from its source" in errors
    assert dataset.name_of("bare") == "products/a.jpg"


def test_more_workers_than_the_store_guard_allows_are_refused(dataset, files, settings):
    settings.UPLOADS = {**getattr(settings, "UPLOADS", {}), "STORE_CONCURRENCY": 2}

    with pytest.raises(CommandError, match="STORE_CONCURRENCY"):
        call_command("migrate_images_to_multisite", "--workers", "3", stdout=io.StringIO())
    failed, output, _ = migrate("--workers", "2")

    assert report_value(output, "Migrated") == 7


def test_rows_follow_their_copies_in_batches(store, files, sites, monkeypatch):
    monkeypatch.setattr(plan.Migration, "BATCH", 3)
    legacy.many(files, sites[0], 10)

    failed, output, errors = migrate()

    assert not failed, errors
    assert report_value(output, "Migrated") == 10
    for product in Product.objects.all():
        assert product.image.name.startswith(f"sites/{sites[0].pk}/products/")
        assert files.read(product.image.name)[64:] == product.name[1:].encode()  # its own


def test_the_copy_of_an_object_uploaded_in_parts_is_checked_with_a_head(
    s3_bucket, s3_client, sites
):
    # Its copy's ETag is not the source's: the copy's answer proves nothing.
    parts = [b"a" * (5 * 1024 * 1024), b"b" * 1000]
    upload = s3_client.create_multipart_upload(Bucket=s3_bucket, Key="products/big.jpg")
    etags = [
        s3_client.upload_part(
            Bucket=s3_bucket,
            Key="products/big.jpg",
            UploadId=upload["UploadId"],
            PartNumber=number,
            Body=body,
        )["ETag"]
        for number, body in enumerate(parts, 1)
    ]
    s3_client.complete_multipart_upload(
        Bucket=s3_bucket,
        Key="products/big.jpg",
        UploadId=upload["UploadId"],
        MultipartUpload={
            "Parts": [{"ETag": etag, "PartNumber": n} for n, etag in enumerate(etags, 1)]
        },
    )
    product = Product.objects.create(site_configuration=sites[0], name="Big", cug="BIG")
    legacy.set_name(product, "products/big.jpg")

    # A HEAD of the old key and of the copy's place (one key in each folder:
    # no listing), the copy, and the HEAD that checks its size.
    assert requests_of_a_run() == {"HeadObject": 3, "CopyObject": 1}
    product.refresh_from_db()
    assert product.image.name.startswith(f"sites/{sites[0].pk}/products/big-")


# --- Rows that name the per-site layout --------------------------------------


def live_image(files, site):
    """A product of ``site`` whose image is in place, in its site's folder."""
    product = Product.objects.create(site_configuration=site, name="Live", cug="LIVE")
    legacy.set_name(product, f"sites/{site.pk}/products/live.jpg")
    files.put(f"media/sites/{site.pk}/products/live.jpg", b"site one's photo")
    return product


def test_delete_source_never_deletes_a_file_a_row_in_place_names(store, files, sites):
    one, two = sites
    live_image(files, one)
    # An earlier run copied that file for a row of site two that named it,
    # since replaced: the journal names it as a source.
    prefix = "media/" if store.mode == "s3" else ""  # a folder's keys are its paths
    source = f"{prefix}sites/{one.pk}/products/live.jpg"
    files.put(f"media/sites/{two.pk}/products/live-0123456789.jpg", b"site one's photo")
    origin = (Bucket() if store.mode == "s3" else Folder(django_settings.MEDIA_ROOT)).describe()
    MigratedSource.objects.create(
        origin=origin, source=source, destination=f"sites/{two.pk}/products/live-0123456789.jpg"
    )

    migrate("--delete-source")

    assert files.read(f"sites/{one.pk}/products/live.jpg") == b"site one's photo"


@pytest.mark.parametrize(
    "name",
    [
        "sites/{one}/products/live.jpg",
        "media/sites/{one}/products/live.jpg",
        "/sites/{one}/products/live.jpg",
        "assets/../sites/{one}/products/live.jpg",
        # In site two's folder by its first characters, in site one's once resolved.
        "sites/{two}/products/../../{one}/products/live.jpg",
        # The site's own layout, but another folder: an upload not yet checked.
        "sites/{two}/config/incoming/0123456789abcdef0123456789abcdef.jpg",
    ],
)
def test_a_row_naming_another_folder_of_the_layout_is_left_alone(store, files, sites, name):
    one, two = sites
    live_image(files, one)
    files.put(f"media/sites/{two.pk}/config/incoming/0123456789abcdef0123456789abcdef.jpg", b"?")
    hostile = Product.objects.create(site_configuration=two, name="Hostile", cug="H")
    name = name.format(one=one.pk, two=two.pk)
    legacy.set_name(hostile, name)
    before = files.keys()

    failed, output, errors = migrate("--delete-source")

    assert failed
    assert f"product {hostile.pk}: {name} is in the per-site layout, outside sites/" in errors
    assert report_value(output, "Refused (in the per-site layout, outside the row's folder)") == 1
    hostile.refresh_from_db()
    assert hostile.image.name == name
    assert files.keys() == before, "nothing copied, nothing deleted"


@pytest.mark.parametrize("site", ["abc", "-1", "1.5"])
def test_a_site_option_that_is_no_site_id_is_refused(dataset, files, site):
    before = files.snapshot()

    with pytest.raises(CommandError, match="not a site id"):
        call_command("migrate_images_to_multisite", "--site", site, "--delete-source")

    assert files.snapshot() == before


def test_rows_of_one_site_that_shared_a_file_each_get_their_own_copy(
    store, files, sites, django_capture_on_commit_callbacks
):
    """A copy the two shared would go with the first photo replaced or
    cleared: a site's change deletes its image from the site's folder."""
    from uploads import services

    one, _ = sites
    rice, millet = (
        Product.objects.create(site_configuration=one, name=name, cug=name) for name in "AB"
    )
    for product in (rice, millet):
        legacy.set_name(product, "products/same.jpg")
    files.put(("media/" if store.mode == "s3" else "") + "products/same.jpg", b"the old photo")
    migrate()
    rice.refresh_from_db()
    millet.refresh_from_db()
    assert rice.image.name != millet.image.name

    with django_capture_on_commit_callbacks(execute=True):
        services.remove_file(rice, kind="product")

    assert files.read(millet.image.name) == b"the old photo"


@pytest.fixture
def sharing_copy(store, files, sites):
    """What the first release of the command left for two products of one
    site that named one old file: one copy in the site's folder, named by
    both rows (and a third row naming it in another spelling that resolves
    to it). The ``Legacy`` dataset, and the copy's bytes."""
    one, _ = sites
    name = f"sites/{one.pk}/products/same-0123456789.jpg"
    body = jpeg(color=(10, 200, 30))
    files.put(f"media/{name}", body)
    rows = {}
    for label, spelling in (
        ("first", name),
        ("second", name),
        ("third", f"sites/{one.pk}/products/./same-0123456789.jpg"),
    ):
        product = Product.objects.create(site_configuration=one, name=label, cug=label)
        legacy.set_name(product, spelling)
        rows[label] = (product, body)
    return legacy.Legacy(rows, *sites), name, body


def test_rows_already_sharing_a_copy_in_place_are_given_one_each(
    sharing_copy, files, django_capture_on_commit_callbacks
):
    """The first release gave rows of one site that shared an old file one
    copy: replacing or clearing the first photo deleted the others'. A run
    of today's command gives each of the others its own copy, within the
    store, and leaves the first where it is."""
    from uploads import services

    dataset, name, body = sharing_copy

    failed, output, errors = migrate("--delete-source")

    assert not failed, errors
    names = {label: dataset.name_of(label) for label in dataset.rows}
    assert names["first"] == name, "the first row keeps the copy it had"
    assert len(set(names.values())) == 3
    assert all(files.read(new) == body for new in names.values())
    assert all(new.startswith(f"sites/{dataset.site_one.pk}/products/") for new in names.values())
    assert report_value(output, "Migrated") == 2
    assert report_value(output, "Of them, rows that shared a copy in place, given their own") == 2
    assert report_value(output, "Already in place") == 1
    assert report_value(output, "Sources deleted") == 0
    assert not MigratedSource.objects.exists(), "a live image is never a source to delete"

    with django_capture_on_commit_callbacks(execute=True):
        services.remove_file(dataset.rows["first"][0], kind="product")

    assert not files.exists(f"media/{name}")
    assert files.read(names["second"]) == files.read(names["third"]) == body


def test_of_rows_sharing_a_copy_one_naming_it_plainly_keeps_it(store, files, sites):
    one, _ = sites
    name = f"sites/{one.pk}/products/same-0123456789.jpg"
    files.put(f"media/{name}", b"the photo")
    spelt, plain = (
        Product.objects.create(site_configuration=one, name=label, cug=label) for label in "AB"
    )
    legacy.set_name(spelt, f"sites/{one.pk}/products/./same-0123456789.jpg")
    legacy.set_name(plain, name)

    migrate()

    plain.refresh_from_db()
    spelt.refresh_from_db()
    assert plain.image.name == name
    assert spelt.image.name not in (name, f"sites/{one.pk}/products/./same-0123456789.jpg")


def test_a_second_run_after_separating_rows_changes_nothing(sharing_copy, files):
    dataset, _, _ = sharing_copy
    migrate()
    names = {label: dataset.name_of(label) for label in dataset.rows}
    before = files.snapshot()

    failed, output, _ = migrate()

    assert not failed
    assert report_value(output, "Migrated") == 0
    assert report_value(output, "Already in place") == 3
    assert {label: dataset.name_of(label) for label in dataset.rows} == names
    assert files.snapshot() == before


def test_a_dry_run_names_the_rows_it_would_separate_and_writes_nothing(sharing_copy, files):
    dataset, name, _ = sharing_copy
    before = files.snapshot()

    failed, output, _ = migrate("--dry-run")

    assert not failed
    second, third = dataset.rows["second"][0], dataset.rows["third"][0]
    assert f"(product {second.pk})" in output and f"(product {third.pk})" in output
    assert report_value(output, "Would migrate") == 2
    assert report_value(output, "Of them, rows that shared a copy in place, given their own") == 2
    assert files.snapshot() == before
    assert {dataset.name_of(label) for label in ("first", "second")} == {name}


def test_separating_rows_follows_the_limit(sharing_copy):
    dataset, name, _ = sharing_copy

    _, output, _ = migrate("--limit", "1")

    assert report_value(output, "Migrated") == 1
    assert report_value(output, "Left for a later run (--limit)") == 1
    assert [dataset.name_of(label) == name for label in ("first", "second")] == [True, False]


def test_a_negative_limit_is_refused(sharing_copy, files):
    """The plan slices the rows with it: ``--limit -1`` moved all of them
    but one."""
    dataset, _, _ = sharing_copy
    names = {label: dataset.name_of(label) for label in dataset.rows}
    before = files.snapshot()

    with pytest.raises(CommandError, match="not a number of rows"):
        call_command("migrate_images_to_multisite", "--limit", "-1")

    assert {label: dataset.name_of(label) for label in dataset.rows} == names
    assert files.snapshot() == before


def test_rows_sharing_a_copy_that_is_gone_are_each_reported_missing(sharing_copy, files):
    dataset, name, _ = sharing_copy
    files.delete(name)

    failed, output, errors = migrate()

    assert failed
    assert report_value(output, "Missing") == 3
    for label in dataset.rows:
        assert f"product {dataset.rows[label][0].pk}: " in errors
    assert report_value(output, "Migrated") == 0
