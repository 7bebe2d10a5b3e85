"""Data as the previous app left it: rows naming files the old ways, and the
files where the old storage put them, in a bucket or in a folder."""

import os
from contextlib import contextmanager
from dataclasses import dataclass

from inventory.models import Configuration, Product
from legacy_media.stores import Bucket
from tests.support.images import jpeg, png


@contextmanager
def store_requests():
    """The operations of every request the command's client sends within
    the block, in order: its ``before-send`` event, which botocore's calls
    and the storage's own (``S3Connection.store_call``) both emit."""
    operations = []

    def recorded(event_name, **kwargs):
        operations.append(event_name.rpartition(".")[2])

    events = Bucket().client.meta.events
    events.register("before-send.s3", recorded)
    try:
        yield operations
    finally:
        events.unregister("before-send.s3", recorded)


class BucketFiles:
    def __init__(self, client, bucket):
        self.client = client
        self.bucket = bucket

    def put(self, key, body):
        self.client.put_object(Bucket=self.bucket, Key=key, Body=body)

    def read(self, name):
        """A migrated file, by its name relative to the media root."""
        return self.client.get_object(Bucket=self.bucket, Key=f"media/{name}")["Body"].read()

    def delete(self, name):
        """A file, by its name relative to the media root."""
        self.client.delete_object(Bucket=self.bucket, Key=f"media/{name}")

    def exists(self, key):
        return key in self.keys()

    def keys(self):
        pages = self.client.get_paginator("list_objects_v2").paginate(Bucket=self.bucket)
        return sorted(item["Key"] for page in pages for item in page.get("Contents", []))

    def snapshot(self):
        return {
            key: self.client.get_object(Bucket=self.bucket, Key=key)["ETag"] for key in self.keys()
        }


class FolderFiles:
    def __init__(self, root):
        self.root = root

    def put(self, key, body):
        # The old app's bucket keys under media/ were files under MEDIA_ROOT.
        path = self.root / key.removeprefix("media/")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(body)

    def read(self, name):
        return (self.root / name).read_bytes()

    def delete(self, name):
        (self.root / name).unlink()

    def keys(self):
        if not self.root.exists():
            return []
        return sorted(
            p.relative_to(self.root).as_posix() for p in self.root.rglob("*") if p.is_file()
        )

    def exists(self, key):
        return key.removeprefix("media/") in self.keys()

    def snapshot(self):
        return {key: (self.root / key).read_bytes() for key in self.keys()}


@dataclass
class Legacy:
    """The dataset: ``rows`` maps a label to (model instance, original
    bytes or None when the file is missing)."""

    rows: dict
    site_one: Configuration
    site_two: Configuration

    def name_of(self, label):
        obj, _ = self.rows[label]
        obj.refresh_from_db()
        return (obj.logo if isinstance(obj, Configuration) else obj.image).name


def set_name(obj, name):
    field = "logo" if isinstance(obj, Configuration) else "image"
    type(obj).objects.filter(pk=obj.pk).update(**{field: name})


def build(files, site_one, site_two):
    """Every case the migration must handle, for two sites."""
    one, two = site_one.pk, site_two.pk
    rows = {}

    def product(label, site, name, key=None, body=None):
        obj = Product.objects.create(site_configuration=site, name=label, cug=label)
        set_name(obj, name)
        if key is not None:
            body = body or jpeg(color=(len(rows) * 20 % 255, 80, 160))
            files.put(key, body)
        rows[label] = (obj, body)

    # A bare name, the object at the bucket's root.
    product("bare", site_one, "products/a.jpg", "products/a.jpg")
    # The old per-site folder.
    product(
        "site-folder",
        site_one,
        f"assets/products/site-{one}/b.jpg",
        f"assets/products/site-{one}/b.jpg",
    )
    # The doubled prefix; the object under the single one.
    product(
        "doubled",
        site_one,
        f"assets/products/site-{one}/assets/products/site-{one}/c.jpg",
        f"assets/products/site-{one}/c.jpg",
    )
    # No site: goes to sites/default/; the object under media/.
    product("no-site", None, "products/d.jpg", "media/products/d.jpg")
    # A row whose file is gone.
    product("missing", site_one, "products/gone.jpg")
    # One old key shared by products of two sites.
    shared = jpeg((80, 60), color=(10, 200, 10))
    product("shared-one", site_one, "shared/e.jpg", "shared/e.jpg", shared)
    product("shared-two", site_two, "shared/e.jpg", "shared/e.jpg", shared)
    # Already in the new layout.
    product(
        "in-place", site_two, f"sites/{two}/products/f.jpg", f"media/sites/{two}/products/f.jpg"
    )
    # A logo of site one filed under the old default site.
    logo = png((120, 40))
    set_name(site_one, "assets/logos/site-default/logo.png")
    files.put("assets/logos/site-default/logo.png", logo)
    rows["logo"] = (site_one, logo)
    return Legacy(rows, site_one, site_two)


def many(files, site, count):
    """``count`` products of one site, each with its own old file."""
    for number in range(count):
        obj = Product.objects.create(site_configuration=site, name=f"P{number}", cug=f"P{number}")
        set_name(obj, f"products/{number}.jpg")
        files.put(f"products/{number}.jpg", os.urandom(64) + str(number).encode())
