"""Real responses validate against the published OpenAPI schema, so that
clients generated from it (Kotlin, Swift) read what the server sends."""

from urllib.parse import urlencode

import jsonschema
import pytest
import yaml
from rest_framework.test import APIClient

from inventory.models import Product
from inventory.search import SEARCH_MAX_CHARACTERS, SEARCH_MAX_WORDS
from tests.support.images import jpeg
from tests.support.stores import LocalStore
from tests.support.tickets import issue

pytestmark = pytest.mark.django_db(transaction=True)


def as_json_schema(node):
    """OpenAPI 3.0's ``nullable`` as JSON Schema's null type."""
    if isinstance(node, list):
        return [as_json_schema(item) for item in node]
    if not isinstance(node, dict):
        return node
    node = {key: as_json_schema(value) for key, value in node.items()}
    if node.pop("nullable", False):
        if "type" in node:
            node["type"] = [node["type"], "null"]
        else:
            node = {"anyOf": [node, {"type": "null"}]}
    return node


@pytest.fixture
def schema(client):
    return as_json_schema(yaml.safe_load(client.get("/api/schema/").content))


def check(schema, path, method, response):
    """Validate ``response`` against what the schema says ``method path``
    answers with that status."""
    operation = schema["paths"][path][method]
    documented = operation["responses"].get(str(response.status_code))
    assert documented, f"{method.upper()} {path} does not document {response.status_code}"
    body_schema = documented["content"]["application/json"]["schema"]
    jsonschema.validate(
        response.json(),
        {**body_schema, "components": schema["components"]},
        format_checker=jsonschema.FormatChecker(),
    )


def test_responses_match_the_schema(schema, sites, make_user, local_media):
    site = sites[0]
    api = APIClient()
    api.force_authenticate(make_user("staff", site))
    store = LocalStore(local_media)

    created = api.post(
        "/api/products/", {"name": "Riz", "cug": "R1", "price": "10.00"}, format="json"
    )
    check(schema, "/api/products/", "post", created)
    product_id = created.json()["id"]
    check(schema, "/api/products/", "get", api.get("/api/products/"))
    check(schema, "/api/products/{id}/", "get", api.get(f"/api/products/{product_id}/"))
    check(schema, "/api/site/", "get", api.get("/api/site/"))

    body = jpeg()
    request = {
        "kind": "product",
        "object_id": product_id,
        "content_type": "image/jpeg",
        "size": len(body),
    }
    issued = api.post("/api/uploads/tickets/", request, format="json")
    check(schema, "/api/uploads/tickets/", "post", issued)
    ticket = issued.json()
    path = "/api/uploads/tickets/{ticket_id}/"
    check(schema, path, "get", api.get(f"/api/uploads/tickets/{ticket['id']}/"))
    confirm_path = "/api/uploads/tickets/{ticket_id}/confirm/"
    early = api.post(f"/api/uploads/tickets/{ticket['id']}/confirm/")
    check(schema, confirm_path, "post", early)  # 409 upload_missing
    assert store.post(ticket["upload"], body) == 204
    confirmed = api.post(f"/api/uploads/tickets/{ticket['id']}/confirm/")
    check(schema, confirm_path, "post", confirmed)
    check(schema, path, "get", api.get(f"/api/uploads/tickets/{ticket['id']}/"))
    check(schema, "/api/products/{id}/", "get", api.get(f"/api/products/{product_id}/"))

    check(
        schema,
        "/api/uploads/tickets/",
        "post",
        api.post("/api/uploads/tickets/", {}, format="json"),
    )
    foreign = Product.objects.create(site_configuration=sites[1], name="X", cug="X")
    check(
        schema,
        "/api/uploads/tickets/",
        "post",
        api.post("/api/uploads/tickets/", {**request, "object_id": foreign.pk}, format="json"),
    )
    check(schema, "/api/uploads/tickets/", "post", APIClient().post("/api/uploads/tickets/", {}))


def test_a_confirm_refused_to_a_user_who_lost_the_right_is_documented(
    schema, sites, make_user, local_media
):
    """Confirm checks that the ticket's user may still change the object:
    one whose permission was taken away meanwhile gets 403."""
    user = make_user("staff", sites[0])
    product = Product.objects.create(site_configuration=sites[0], name="Riz", cug="R1")
    api = APIClient()
    api.force_authenticate(user)
    body = jpeg()
    ticket = issue(api, product, body)
    assert LocalStore(local_media).post(ticket["upload"], body) == 204
    user.user_permissions.clear()
    api.force_authenticate(type(user).objects.get(pk=user.pk))

    refused = api.post(f"/api/uploads/tickets/{ticket['id']}/confirm/")
    assert (refused.status_code, refused.json()["code"]) == (403, "permission_denied")
    check(schema, "/api/uploads/tickets/{ticket_id}/confirm/", "post", refused)


def test_a_search_too_long_is_documented_as_refused(schema, sites, make_user):
    """Mobile clients generated from the schema learn the limit: the
    parameter's ``maxLength``, and the list's 400 that a longer search
    gets (``inventory.search``), whose answer validates against it."""
    api = APIClient()
    api.force_authenticate(make_user("staff", sites[0]))
    operation = schema["paths"]["/api/products/"]["get"]
    (search,) = [each for each in operation["parameters"] if each["name"] == "search"]
    assert search["schema"] == {"type": "string", "maxLength": SEARCH_MAX_CHARACTERS}
    assert f"At most {SEARCH_MAX_WORDS} words" in search["description"]
    examples = operation["responses"]["400"]["content"]["application/json"]["examples"]
    assert any("search" in example["value"].get("errors", {}) for example in examples.values())

    refused = api.get("/api/products/", {"search": "r" * (SEARCH_MAX_CHARACTERS + 1)})
    assert refused.status_code == 400
    check(schema, "/api/products/", "get", refused)


def test_a_products_own_url_ignores_the_lists_search(schema, sites, make_user):
    """``?search=`` narrows the list; a product's own URL names it, and the
    schema documents the search on the list alone. DRF filters the
    queryset a detail operation finds its row in with the list's filter
    backends too: ``/api/products/<id>/?search=`` answered a 400 the
    schema does not list to a search too long, and a 404 to one the
    product does not match, a change or deletion refused as if the product
    were gone. Each answers as without it, true to the schema."""
    api = APIClient()
    api.force_authenticate(make_user("staff", sites[0], is_site_admin=True))
    product = Product.objects.create(site_configuration=sites[0], name="Riz", cug="R1")
    path = "/api/products/{id}/"
    for method, operation in schema["paths"][path].items():
        if method in ("get", "put", "patch", "delete"):
            assert "search" not in [each["name"] for each in operation.get("parameters", [])]

    for search in ["sel", "r" * (SEARCH_MAX_CHARACTERS + 1)]:
        url = f"/api/products/{product.pk}/?{urlencode({'search': search})}"
        read = api.get(url)
        assert read.status_code == 200, search[:20]
        check(schema, path, "get", read)
        changed = api.patch(url, {"name": "Riz parfumé"}, format="json")
        assert changed.status_code == 200
        check(schema, path, "patch", changed)
    assert api.delete(f"/api/products/{product.pk}/?search=sel").status_code == 204
    assert not Product.objects.filter(pk=product.pk).exists()


def operations(schema):
    for path, methods in schema["paths"].items():
        for method, operation in methods.items():
            if method in ("get", "post", "put", "patch", "delete"):
                yield f"{method.upper()} {path}", operation


def validate_example(schema, body_schema, example):
    jsonschema.validate(
        example["value"],
        {**body_schema, "components": schema["components"]},
        format_checker=jsonschema.FormatChecker(),
    )


def test_every_body_in_the_schema_has_examples_that_match_it(schema):
    """What /api/docs/ shows for each endpoint: a request example, an
    example of each answer, errors included, all true to the schema."""
    checked = 0
    for name, operation in operations(schema):
        bodies = []
        request = operation.get("requestBody", {}).get("content", {}).get("application/json")
        if request:
            bodies.append((f"{name} request", request))
        for status, response in operation["responses"].items():
            if "content" in response:
                bodies.append((f"{name} {status}", response["content"]["application/json"]))
        for where, body in bodies:
            assert body.get("examples"), f"{where}: no example"
            for example in body["examples"].values():
                validate_example(schema, body["schema"], example)
                checked += 1
        error_statuses = [status for status in operation["responses"] if status >= "400"]
        assert error_statuses, f"{name}: no error documented"
    assert checked > 50


def test_every_error_example_has_a_code_and_a_detail(schema):
    for name, operation in operations(schema):
        for status, response in operation["responses"].items():
            if status >= "400":
                for example in response["content"]["application/json"]["examples"].values():
                    assert set(example["value"]) >= {"code", "detail"}, f"{name} {status}"
                    assert example["value"]["detail"], f"{name} {status}"
