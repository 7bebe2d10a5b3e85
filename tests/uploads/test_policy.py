"""The upload policy, proven by real multipart POSTs: to SeaweedFS in S3
mode, to the emulator view in filesystem mode."""

import base64
import json
import re

import pytest

from tests.support import clock
from tests.support.images import jpeg
from tests.support.tickets import issue, sha256_b64

INCOMING = r"media/sites/{site}/products/incoming/[0-9a-f]{{32}}\.{ext}"


def test_ticket_names_one_exact_key_in_the_site_folder(store, api, product, site):
    body = jpeg()
    ticket = issue(api, product, body)

    assert ticket["status"] == "issued"
    assert ticket["kind"] == "product"
    assert ticket["object_id"] == product.pk
    assert ticket["max_size"] == 10 * 1024 * 1024
    fields = ticket["upload"]["fields"]
    assert re.fullmatch(INCOMING.format(site=site.pk, ext="jpg"), fields["key"])
    assert fields["Content-Type"] == "image/jpeg"

    assert store.post(ticket["upload"], body) in (200, 201, 204)
    assert store.keys() == [fields["key"]]


def test_policy_conditions_are_exact(store, api, product, settings):
    body = jpeg()
    ticket = issue(api, product, body, sha256=sha256_b64(body))
    policy = json.loads(base64.b64decode(ticket["upload"]["fields"]["policy"]))
    conditions = policy["conditions"]
    key = ticket["upload"]["fields"]["key"]

    assert {"key": key} in conditions
    assert {"Content-Type": "image/jpeg"} in conditions
    assert ["content-length-range", len(body), len(body)] in conditions
    assert {"x-amz-checksum-sha256": sha256_b64(body)} in conditions
    assert not any(isinstance(c, list) and c[0] == "starts-with" for c in conditions)
    if store.mode == "s3":
        assert {"bucket": settings.AWS_STORAGE_BUCKET_NAME} in conditions


@pytest.mark.parametrize(
    "filename",
    [
        "../../config/x.png",
        "%2e%2e/x.png",
        "..\\x.png",
        "\uff0e\uff0e\uff0fconfig\uff0fx.png",  # full-width dots and slashes
        "x\x00.png",
        "photo\u202egnp.exe",  # right-to-left override
        "a" * 5000 + ".png",
    ],
)
def test_client_filename_never_reaches_the_key(store, api, product, site, filename):
    body = jpeg()
    ticket = issue(api, product, body, filename=filename)
    key = ticket["upload"]["fields"]["key"]

    assert re.fullmatch(INCOMING.format(site=site.pk, ext="jpg"), key)
    assert store.post(ticket["upload"], body) in (200, 201, 204)
    assert store.keys() == [key]


@pytest.mark.parametrize(
    "content_type, extension",
    [("image/jpeg", "jpg"), ("image/png", "png"), ("image/webp", "webp")],
)
def test_extension_comes_from_the_content_type(store, api, product, site, content_type, extension):
    ticket = issue(api, product, b"x" * 10, content_type=content_type, filename="a.gif")
    assert ticket["upload"]["fields"]["key"].endswith("." + extension)


def tampered(ticket, **changes):
    fields = dict(ticket["upload"]["fields"])
    fields.update(changes)
    return fields


def edited_policy(ticket, new_size):
    fields = dict(ticket["upload"]["fields"])
    policy = json.loads(base64.b64decode(fields["policy"]))
    policy["conditions"] = [
        ["content-length-range", 0, new_size] if isinstance(c, list) else c
        for c in policy["conditions"]
    ]
    fields["policy"] = base64.b64encode(json.dumps(policy).encode()).decode()
    return fields


REFUSALS = {
    "larger body": lambda t, body: (None, body + b"\x00"),
    "smaller body": lambda t, body: (None, body[:-1]),
    "empty body": lambda t, body: (None, b""),
    "another key": lambda t, body: (
        tampered(t, key=t["upload"]["fields"]["key"].replace("incoming/", "")),
        body,
    ),
    "another site's key": lambda t, body: (
        tampered(t, key=re.sub(r"sites/\d+/", "sites/999/", t["upload"]["fields"]["key"])),
        body,
    ),
    "another content type": lambda t, body: (tampered(t, **{"Content-Type": "text/html"}), body),
    "svg": lambda t, body: (tampered(t, **{"Content-Type": "image/svg+xml"}), body),
    "two content types": lambda t, body: (
        tampered(t, **{"Content-Type": "image/jpeg,text/html"}),
        body,
    ),
    "policy edited after signing": lambda t, body: (edited_policy(t, 10**9), body + b"\x00" * 100),
    "extra metadata": lambda t, body: (tampered(t, **{"x-amz-meta-owner": "attacker"}), body),
    "website redirect": lambda t, body: (
        tampered(t, **{"x-amz-website-redirect-location": "https://evil.example/"}),
        body,
    ),
    "checksum mismatch": lambda t, body: (None, body[:-1] + bytes([body[-1] ^ 1])),
}


@pytest.mark.parametrize("case", list(REFUSALS))
def test_store_refuses_and_stores_nothing(store, api, product, case):
    body = jpeg()
    ticket = issue(api, product, body, sha256=sha256_b64(body))
    fields, sent = REFUSALS[case](ticket, body)

    status = store.post(ticket["upload"], sent, fields=fields)

    assert status in (400, 403), f"{case}: the store accepted it ({status})"
    assert store.keys() == []


def test_expired_policy_is_refused(store, api, product, settings):
    settings.UPLOADS = {**settings.UPLOADS, "TICKET_TTL": 1}
    body = jpeg()
    with clock.set_back(seconds=2):  # signed 2 s ago: its 1 s policy has expired
        ticket = issue(api, product, body)

    assert store.post(ticket["upload"], body) == 403
    assert store.keys() == []


def test_unsigned_form_is_refused(store, api, product):
    body = jpeg()
    ticket = issue(api, product, body)
    fields = {k: v for k, v in ticket["upload"]["fields"].items() if "signature" not in k.lower()}

    assert store.post(ticket["upload"], body, fields=fields) in (400, 403)
    assert store.keys() == []


def test_checksum_pin_can_be_turned_off(store, api, product, settings):
    settings.UPLOADS = {**settings.UPLOADS, "PIN_CHECKSUM": False}
    body = jpeg()
    ticket = issue(api, product, body, sha256=sha256_b64(body))

    assert not any("checksum" in name for name in ticket["upload"]["fields"])
    assert store.post(ticket["upload"], body) in (200, 201, 204)
