"""
``migrate_images_to_multisite`` on many legacy objects, by server-side copy
(what the command does in a bucket) against download and re-upload (what a
copy through the server would do), for
tests/benchmarks/bench_migration.py and its smoke test.

For each row set (a number of old objects of one size, in a folder of
their own), each object is named by a product of two sites (four with the
link): the first site's rows move by download and re-upload, the second's
by the command as it is, into folders of their own; then the same again
through a ``tests.support.link.Link``, a network between this process and
the store. Image bytes through this process are
counted from botocore's calls (GET answers' bodies, PUT bodies); the bytes
through its sockets (``tests.support.socket_bytes``), headers included.
"""

import io
import json
import time
from collections import Counter
from contextlib import contextmanager
from unittest import mock
from urllib.parse import urlsplit

from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext

from inventory.models import Configuration, Product
from legacy_media.stores import Bucket, Found, content_type_of
from tests.support import socket_bytes
from tests.support.bench_output import write_report
from tests.support.legacy import set_name, store_requests
from tests.support.link import Link
from tests.support.modes import use_storages
from uploads.conf import upload_settings

GOALS = {"server_side_over_download_objects_per_s": 10, "server_side_image_bytes": 0}
# A network between the server and the bucket: 100 Mbit/s each way, 2 ms
# round trip (tests.support.link).
LINK = (100e6 / 8, 0.001)
# The row sets (objects, bytes each): issue 17's 2,000 objects of 100 KB,
# and objects the size of a phone's photo as the old app stored it, sent
# as taken: 2 MB, about the 12 MP JPEG of the renditions benchmark
# (1.8 MiB), in the 1-4 MB phones save. Fewer of them, so that the row set
# takes under two minutes: its slowest run, download and re-upload through
# the link (2 MB each way per object, 6 objects/s at most), about 70 s.
ROW_SETS = ((2000, 100_000), (300, 2_000_000))


def legacy_objects(client, bucket, sites, count, size):
    """``count`` old objects of ``size`` bytes in a folder of their own,
    each the image of one product of each of ``sites``."""
    filler = bytes(size - 8)
    for number in range(count):
        key = f"products/{size}/{number}.jpg"
        client.put_object(Bucket=bucket, Key=key, Body=f"{number:08d}".encode() + filler)
        for site in sites:
            product = Product.objects.create(
                site_configuration=site, name=f"P{number}", cug=f"P{number}"
            )
            set_name(product, key)


def download_and_upload(self, source, found, key):
    """``Bucket.copy`` as a copy through the server would make it: the
    PUT's answer (its ETag, the MD5 of the bytes received) verifies the
    copy, as it does for a local file's PUT."""
    client, bucket = self.client, self.storage.bucket_name
    body = client.get_object(Bucket=bucket, Key=found.name, IfMatch=f'"{found.etag}"')["Body"]
    with body:
        data = body.read()
    response = client.put_object(
        Bucket=bucket, Key=key, Body=data, **self.backend.object_headers(content_type_of(key))
    )
    return Found(key, len(data), response["ETag"].strip('"'))


@contextmanager
def image_bytes_counted():
    """A dict whose ``image`` is the image bytes that went through the
    store's client meanwhile (GET answers' bodies, PUT bodies),
    ``requests`` the requests it sent, by operation, and ``socket`` all
    bytes through this process's sockets."""
    counted = {"image": 0, "socket": 0, "requests": {}}
    events = Bucket().client.meta.events

    def got(parsed, **kwargs):
        counted["image"] += parsed.get("ContentLength", 0)

    def putting(params, **kwargs):
        counted["image"] += len(params["Body"])

    events.register("after-call.s3.GetObject", got)
    events.register("provide-client-params.s3.PutObject", putting)
    before = dict(socket_bytes.counts)
    try:
        with store_requests() as operations:
            yield counted
    finally:
        counted["requests"] = dict(Counter(operations))
        events.unregister("after-call.s3.GetObject", got)
        events.unregister("provide-client-params.s3.PutObject", putting)
        counted["socket"] = sum(socket_bytes.counts[k] - before[k] for k in before)


def timed_migration(site, count):
    """Migrate ``site``'s rows; objects per second and bytes through here."""
    out = io.StringIO()
    with image_bytes_counted() as counted, CaptureQueriesContext(connection) as queries:
        started = time.perf_counter()
        call_command("migrate_images_to_multisite", "--site", str(site.pk), stdout=out)
        seconds = time.perf_counter() - started
    assert f"Migrated: {count} row(s)" in out.getvalue(), out.getvalue()
    return {
        "seconds": seconds,
        "objects_per_s": count / seconds,
        "image_bytes": counted["image"],
        "socket_bytes_per_object": counted["socket"] / count,
        "store_requests_per_object": round(sum(counted["requests"].values()) / count, 2),
        "store_requests": counted["requests"],
        "db_queries_per_object": round(len(queries) / count, 2),
    }


def both_ways(sites, count):
    """The first site's rows by download and re-upload, the second's by the
    command as it is; the same command, the same workers."""
    with mock.patch.object(Bucket, "copy", download_and_upload):
        download = timed_migration(sites[0], count)
    server_side = timed_migration(sites[1], count)
    return {
        "download_and_upload": download,
        "server_side_copy": server_side,
        "server_side_over_download_objects_per_s": round(
            server_side["objects_per_s"] / download["objects_per_s"], 2
        ),
    }


@contextmanager
def through_link(settings, rate, delay):
    """The store's clients made now go through a ``Link`` to the store."""
    endpoint = settings.AWS_S3_ENDPOINT_URL
    store = urlsplit(endpoint)
    link = Link((store.hostname, store.port), rate=rate, delay=delay).serve_in_background()
    settings.AWS_S3_ENDPOINT_URL = link.url
    use_storages(settings)
    try:
        yield link
    finally:
        settings.AWS_S3_ENDPOINT_URL = endpoint
        use_storages(settings)
        link.stop()


def row_set(client, bucket, count, size, settings, link):
    """One row set both ways on loopback, and, given the test's
    ``settings``, both ways again through a ``Link`` of ``link`` (bytes per
    second, one-way delay); each way on the rows of a site of its own."""
    wheres = ("loopback", "link") if settings is not None else ("loopback",)
    sites = [
        Configuration.objects.create(site_name=f"{size} {where} {how}")
        for where in wheres
        for how in ("download", "server-side")
    ]
    legacy_objects(client, bucket, sites, count, size)
    figures = {"objects": count, "object_size": size}
    figures["loopback"] = both_ways(sites[:2], count)
    if settings is not None:
        rate, delay = link
        with through_link(settings, rate, delay):
            figures["link"] = {
                "mbit_per_s": rate * 8 / 1e6,
                "round_trip_ms": 2 * delay * 1000,
                **both_ways(sites[2:], count),
            }
    return figures


def migration_cost(client, bucket, *, row_sets=ROW_SETS, settings=None, link=LINK):
    """Each of ``row_sets`` (objects, bytes each) in turn (see ``row_set``)."""
    figures = {"workers": upload_settings.STORE_CONCURRENCY, "goals": GOALS}
    socket_bytes.install()
    try:
        figures["row_sets"] = [
            row_set(client, bucket, count, size, settings, link) for count, size in row_sets
        ]
    finally:
        socket_bytes.uninstall()
    figures["server_side_image_bytes"] = sum(
        rows[where]["server_side_copy"]["image_bytes"]
        for rows in figures["row_sets"]
        for where in ("loopback", "link")
        if where in rows
    )
    return figures


def table_of(figures):
    lines = [f"Migration of legacy objects, {figures['workers']} copies at a time"]
    for rows in figures["row_sets"]:
        lines.extend(row_set_lines(rows))
    lines.append(f"  image bytes through the server: {figures['server_side_image_bytes']} (goal 0)")
    return "\n".join(lines)


def row_set_lines(figures):
    lines = [
        f"{figures['objects']} objects of {figures['object_size']:,} bytes",
        f"{'where':>22} | {'how':>20} | {'objects/s':>9} | {'requests/object':>15} | "
        f"{'image bytes here':>16} | {'socket bytes/object':>19}",
    ]
    goal = GOALS["server_side_over_download_objects_per_s"]
    for where in ("loopback", "link"):
        if where not in figures:
            continue
        run = figures[where]
        label = (
            f"link {run['mbit_per_s']:.0f} Mbit/s {run['round_trip_ms']:.0f} ms"
            if where == "link"
            else "loopback"
        )
        for name in ("download_and_upload", "server_side_copy"):
            row = run[name]
            lines.append(
                f"{label:>22} | {name.replace('_', ' '):>20} | {row['objects_per_s']:>9.1f} | "
                f"{row['store_requests_per_object']:>15} | "
                f"{row['image_bytes']:>16,} | {row['socket_bytes_per_object']:>19,.0f}"
            )
        ratio = run["server_side_over_download_objects_per_s"]
        lines.append(
            f"  {label}: server-side copy {ratio}× the objects per second (goal ≥ {goal}×)"
        )
    return lines


def report(figures, folder, name="migration"):
    """Print the table, write ``folder``/``name``.json; its path."""
    return write_report(table_of(figures), json.dumps(figures, indent=2), folder, name)
