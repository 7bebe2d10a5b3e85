"""Real responses validate against the published OpenAPI schema, so that
clients generated from it (Kotlin, Swift) read what the server sends."""

import base64
import hashlib
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
from uploads import services

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
    for header in documented.get("headers", {}):
        assert response.has_header(header), f"{method.upper()} {path}: no {header}"
    if "content" not in documented:
        assert not response.content, f"{method.upper()} {path}: an undocumented body"
        return
    body_schema = documented["content"]["application/json"]["schema"]
    jsonschema.validate(
        response.json(),
        {**body_schema, "components": schema["components"]},
        format_checker=jsonschema.FormatChecker(),
    )
    if response.status_code >= 400:
        examples = documented["content"]["application/json"]["examples"].values()
        codes = {example["value"]["code"] for example in examples}
        assert response.json()["code"] in codes, (method, path, response.json())


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


# --- Every operation of the schema, as each kind of caller meets it: the
# answer is one the operation documents (its status, its error code, its
# headers), and its body is the documented one. The callers are those a
# mobile app meets: signed out, with a revoked token, of no site, without
# the right, of another site, a superuser who named no site or a wrong one.


def request_example(operation):
    """The body /api/docs/ shows for ``operation``, or None."""
    request = operation.get("requestBody", {}).get("content", {}).get("application/json")
    return next(iter(request["examples"].values()))["value"] if request else None


def walk(schema, api, path_values, query=""):
    """Call every operation of ``schema`` with its example body, on the
    objects of ``path_values``, the deletes last (they would take the
    product from the others); each answer checked against the schema.
    Returns ``{"METHOD path": (status, code)}``."""
    answers = {}
    ordered = sorted(operations(schema), key=lambda each: each[0].startswith("DELETE"))
    for name, operation in ordered:
        method, path = name.split(" ")
        body = request_example(operation)
        if body is not None and "object_id" in body:
            body = {**body, "object_id": path_values["id"]}
        send = getattr(api, method.lower())
        url = path.format(**path_values) + query
        response = send(url, body, format="json") if body is not None else send(url)
        check(schema, path, method.lower(), response)
        code = response.json().get("code") if response.status_code >= 400 else None
        answers[name] = (response.status_code, code)
    return answers


@pytest.fixture
def objects(sites, make_user, local_media):
    """A site admin's product and ticket, on the first site, and the
    account the token example logs in with."""
    admin = make_user("boss", sites[0], is_site_admin=True)
    product = Product.objects.create(site_configuration=sites[0], name="Riz", cug="R-1")
    ticket = services.issue_ticket(
        admin, kind="product", object_id=product.pk, content_type="image/jpeg", size=1000
    ).ticket
    logs_in = make_user("dakar-staff", sites[0])
    logs_in.set_password("…")
    logs_in.save()
    return {"admin": admin, "path_values": {"id": product.pk, "ticket_id": str(ticket.id)}}


TOKEN = "POST /api/auth/token/"
LOGIN_REFUSED = (400, "invalid")


def test_every_operation_answers_a_site_admin_as_documented(schema, objects):
    api = APIClient()
    api.force_authenticate(objects["admin"])
    answers = walk(schema, api, objects["path_values"])
    assert answers == {
        TOKEN: (200, None),
        "GET /api/products/": (200, None),
        "POST /api/products/": (201, None),
        "GET /api/products/{id}/": (200, None),
        "PUT /api/products/{id}/": (400, "invalid"),  # the CUG POST took
        "PATCH /api/products/{id}/": (200, None),
        "DELETE /api/products/{id}/": (204, None),
        "GET /api/site/": (200, None),
        "PUT /api/site/": (200, None),
        "PATCH /api/site/": (200, None),
        "POST /api/uploads/tickets/": (201, None),
        "GET /api/uploads/tickets/{ticket_id}/": (200, None),
        "POST /api/uploads/tickets/{ticket_id}/confirm/": (409, "upload_missing"),
    }


def caller(name, sites, make_user, root):
    """An API client as ``name`` (one of ``REFUSED``), and the query it
    adds to every call."""
    api = APIClient()
    if name == "signed out":
        return api, ""
    if name == "a revoked token":
        api.credentials(HTTP_AUTHORIZATION="Token 9944b09199c62bcf9418ad846dd0e4bbdfc6ee4b")
        return api, ""
    users = {
        "a user of no site": lambda: make_user("drifter"),
        "a user without permissions": lambda: make_user("idle", sites[0], permissions=[]),
        "staff of another site": lambda: make_user("other", sites[1]),
        "a superuser who named no site": lambda: root,
        "a superuser who named no such site": lambda: root,
    }
    api.force_authenticate(users[name]())
    return api, "?site=999999" if name.endswith("no such site") else ""


PRODUCTS = [
    "GET /api/products/",
    "POST /api/products/",
    "GET /api/products/{id}/",
    "PUT /api/products/{id}/",
    "PATCH /api/products/{id}/",
    "DELETE /api/products/{id}/",
]
SITE = ["GET /api/site/", "PUT /api/site/", "PATCH /api/site/"]
TICKETS = [
    "POST /api/uploads/tickets/",
    "GET /api/uploads/tickets/{ticket_id}/",
    "POST /api/uploads/tickets/{ticket_id}/confirm/",
]
UNAUTHENTICATED = (401, "not_authenticated")
DENIED = (403, "permission_denied")
NOT_FOUND = (404, "not_found")
INVALID = (400, "invalid")
OK = (200, None)
CREATED = (201, None)
# Another user's ticket is not found, whoever asks.
OTHERS_TICKET = {TICKETS[1]: NOT_FOUND, TICKETS[2]: NOT_FOUND}


def answers(products, site, tickets, /, **others):
    """Every operation's expected answer: ``products`` for the products',
    ``site`` for the site's, ``tickets`` for the tickets'; then
    ``others``, by name."""
    expected = {TOKEN: OK}  # logging in takes no credentials
    expected |= dict.fromkeys(PRODUCTS, products) | dict.fromkeys(SITE, site)
    expected |= dict.fromkeys(TICKETS, tickets)
    return expected | {name: answer for name, answer in others.values()}


REFUSED = {
    "signed out": answers(UNAUTHENTICATED, UNAUTHENTICATED, UNAUTHENTICATED),
    "a revoked token": answers(UNAUTHENTICATED, UNAUTHENTICATED, UNAUTHENTICATED),
    # The product is another site's, to them.
    "a user of no site": answers(DENIED, DENIED, NOT_FOUND),
    "a user without permissions": answers(
        DENIED, DENIED, NOT_FOUND, site=(SITE[0], OK), ticket=(TICKETS[0], DENIED)
    ),
    "staff of another site": answers(
        NOT_FOUND,
        DENIED,
        NOT_FOUND,
        list=(PRODUCTS[0], OK),
        create=(PRODUCTS[1], CREATED),
        delete=(PRODUCTS[5], DENIED),  # staff may not delete, whose ever
        site=(SITE[0], OK),
    ),
    # A superuser's photo goes to the product's own site.
    "a superuser who named no site": answers(
        INVALID, INVALID, NOT_FOUND, ticket=(TICKETS[0], CREATED)
    ),
    "a superuser who named no such site": answers(
        NOT_FOUND, NOT_FOUND, NOT_FOUND, ticket=(TICKETS[0], CREATED)
    ),
}


@pytest.mark.parametrize("name", REFUSED)
def test_every_operation_answers_each_caller_as_documented(
    schema, objects, sites, make_user, root, name
):
    api, query = caller(name, sites, make_user, root)
    assert walk(schema, api, objects["path_values"], query) == REFUSED[name]


# --- A product's fields: what the schema lets a client send is what the
# server takes, and what it refuses the schema refuses.

# body: whether the server takes it
PRODUCT_BODIES = {
    "price 0": ({"price": "0"}, True),
    "price 0.00": ({"price": "0.00"}, True),
    "the largest price": ({"price": "9999999999.99"}, True),
    "a price ending in a point": ({"price": "5."}, True),
    "a price starting with a point": ({"price": ".5"}, True),
    "a negative price": ({"price": "-1"}, False),
    "a negative cent": ({"price": "-0.01"}, False),
    "an empty price": ({"price": ""}, False),
    "a lone point": ({"price": "."}, False),
    "three decimal places": ({"price": "1.234"}, False),
    "eleven whole digits": ({"price": "10000000000"}, False),
    # Stock sold before it was restocked.
    "a negative quantity": ({"quantity": -3}, True),
    "a blank name": ({"name": ""}, False),
    "a CUG too long": ({"cug": "C" * 51}, False),
}


def allowed(schema, component, body):
    try:
        jsonschema.validate(
            body, {"$ref": f"#/components/schemas/{component}", "components": schema["components"]}
        )
    except jsonschema.ValidationError:
        return False
    return True


@pytest.mark.parametrize("case", PRODUCT_BODIES)
def test_the_schema_allows_the_product_fields_the_server_takes(schema, sites, make_user, case):
    """A generated client checks a price against the schema's pattern
    before it sends it: a negative one, which the model refuses, must fail
    there too, and one the server takes must pass."""
    fields, taken = PRODUCT_BODIES[case]
    body = {"name": "Riz", "cug": "R-1", **fields}
    api = APIClient()
    api.force_authenticate(make_user("staff", sites[0]))
    for method, url, component in [
        ("post", "/api/products/", "ProductRequest"),
        ("patch", "/api/products/{id}/", "PatchedProductRequest"),
    ]:
        product = Product.objects.create(site_configuration=sites[0], name="Riz", cug="R-0")
        response = getattr(api, method)(url.format(id=product.pk), body, format="json")
        check(schema, url, method, response)
        assert (response.status_code < 400, allowed(schema, component, body)) == (taken, taken)
        if not taken:
            assert set(response.json()["errors"]) == set(fields)
        product.delete()
        Product.objects.filter(cug="R-1").delete()


def test_the_schema_says_a_quantity_may_be_below_zero(schema):
    quantity = schema["components"]["schemas"]["ProductRequest"]["properties"]["quantity"]
    assert quantity["minimum"] < 0
    assert "below zero" in quantity["description"]


def test_a_product_and_a_site_answer_every_field(schema, sites, make_user):
    """The row holds every field, those a request may leave out too: a
    generated client reads none of them as optional."""
    api = APIClient()
    api.force_authenticate(make_user("staff", sites[0]))
    created = api.post("/api/products/", {"name": "Riz", "cug": "R-1"}, format="json")
    for component, answer in [("Product", created), ("Site", api.get("/api/site/"))]:
        documented = schema["components"]["schemas"][component]
        assert set(documented["required"]) == set(documented["properties"]) == set(answer.json())


# --- Every 429 says when to come back, and the schema says it does.


def refused_twice(api, url, body):
    api.post(url, body, format="json")
    return api.post(url, body, format="json")


@pytest.mark.parametrize("limit", ["ticket rate", "open tickets", "login rate"])
def test_every_429_carries_the_retry_after_the_schema_documents(
    schema, settings, sites, make_user, limit
):
    user = make_user("staff", sites[0])
    product = Product.objects.create(site_configuration=sites[0], name="Riz", cug="R-1")
    rates = settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]
    api = APIClient()
    url, body = (
        "/api/uploads/tickets/",
        {
            "kind": "product",
            "object_id": product.pk,
            "content_type": "image/jpeg",
            "size": 1000,
        },
    )
    if limit == "ticket rate":
        settings.REST_FRAMEWORK = {
            **settings.REST_FRAMEWORK,
            "DEFAULT_THROTTLE_RATES": {**rates, "upload_tickets": "1/hour"},
        }
    elif limit == "open tickets":
        settings.UPLOADS = {**settings.UPLOADS, "MAX_OPEN_TICKETS": 1}
    else:
        settings.REST_FRAMEWORK = {
            **settings.REST_FRAMEWORK,
            "DEFAULT_THROTTLE_RATES": {**rates, "login": "1/min"},
        }
        url, body = "/api/auth/token/", {"username": "staff", "password": "wrong"}
    api.force_authenticate(user)

    refused = refused_twice(api, url, body)
    assert (refused.status_code, refused.json()["code"]) == (429, "throttled")
    assert int(refused["Retry-After"]) > 0
    documented = schema["paths"][url]["post"]["responses"]["429"]
    assert "Retry-After" in documented["headers"]
    check(schema, url, "post", refused)


DIGEST = base64.b64encode(hashlib.sha256(b"photo").digest()).decode()
# A ticket's fields: body, whether the server takes it.
TICKET_BODIES = {
    "a SHA-256": ({"sha256": DIGEST}, True),
    "no SHA-256": ({"sha256": ""}, True),
    "a SHA-256 in hex": ({"sha256": hashlib.sha256(b"photo").hexdigest()[:44]}, False),
    "a SHA-1": ({"sha256": base64.b64encode(hashlib.sha1(b"photo").digest()).decode()}, False),
    "a SHA-256 without its padding": ({"sha256": DIGEST.rstrip("=")}, False),
    # What Kotlin's Base64.getUrlEncoder() writes ("_" for its "/").
    "a SHA-256 in URL-safe base64": ({"sha256": DIGEST.replace("/", "_")}, False),
    "a size of 0": ({"size": 0}, False),
    "an unknown kind": ({"kind": "avatar"}, False),
    "a GIF": ({"content_type": "image/gif"}, False),
    "an object id of 0": ({"object_id": 0}, False),
}


@pytest.mark.parametrize("case", TICKET_BODIES)
def test_the_schema_allows_the_ticket_fields_the_server_takes(schema, sites, make_user, case):
    fields, taken = TICKET_BODIES[case]
    product = Product.objects.create(site_configuration=sites[0], name="Riz", cug="R-1")
    body = {
        "kind": "product",
        "object_id": product.pk,
        "content_type": "image/jpeg",
        "size": 1000,
        **fields,
    }
    api = APIClient()
    api.force_authenticate(make_user("staff", sites[0]))
    response = api.post("/api/uploads/tickets/", body, format="json")
    check(schema, "/api/uploads/tickets/", "post", response)
    assert (response.status_code < 400, allowed(schema, "TicketRequestRequest", body)) == (
        taken,
        taken,
    )
    if not taken:
        assert set(response.json()["errors"]) == set(fields)
