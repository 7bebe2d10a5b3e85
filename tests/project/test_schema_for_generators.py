"""The OpenAPI schema as client generators (openapi-python-client,
openapi-generator's Kotlin and Swift targets) read it: one way to call each
operation, method names that do not move, and a named type for every body.

``tests/system/test_generated_client.py`` generates a client and uses it."""

import json
import re

import pytest
from django.apps import apps
from django.core.management import call_command
from django.utils import translation
from drf_spectacular.openapi import AutoSchema
from drf_spectacular.settings import spectacular_settings
from rest_framework import exceptions

from project.api.schema import SchemaGenerator

METHODS = ("get", "post", "put", "patch", "delete")

# Generated clients name their methods after these: renaming one breaks
# every app built on a client generated before.
OPERATION_IDS = {
    "POST /api/auth/token/": "auth_token_create",
    "GET /api/products/": "products_list",
    "POST /api/products/": "products_create",
    "GET /api/products/{id}/": "products_retrieve",
    "PUT /api/products/{id}/": "products_update",
    "PATCH /api/products/{id}/": "products_partial_update",
    "DELETE /api/products/{id}/": "products_destroy",
    "GET /api/site/": "site_retrieve",
    "PUT /api/site/": "site_update",
    "PATCH /api/site/": "site_partial_update",
    "POST /api/uploads/tickets/": "upload_ticket_create",
    "GET /api/uploads/tickets/{ticket_id}/": "upload_ticket_retrieve",
    "POST /api/uploads/tickets/{ticket_id}/confirm/": "upload_ticket_confirm",
}

# The types of generated clients, named after these. Not "Error": Swift's
# generators rename a type of Swift's own protocol's name.
COMPONENTS = {
    "ApiError",
    "ConfirmedImage",
    "ConfirmedImageStatusEnum",
    "ContentTypeEnum",
    "FormatEnum",
    "ImageStateEnum",
    "KindEnum",
    "LoginRequest",
    "PaginatedProductList",
    "PatchedProductRequest",
    "PatchedSiteRequest",
    "Product",
    "ProductRequest",
    "Site",
    "SiteRequest",
    "Ticket",
    "TicketRequestRequest",
    "TicketStatusEnum",
    "Token",
    "UploadForm",
}


@pytest.fixture
def schema(monkeypatch, db):
    """The schema, with every operationId that drf-spectacular would derive
    from the route (rather than read from ``extend_schema``) marked."""
    monkeypatch.setattr(AutoSchema, "get_operation_id", lambda self: f"derived {self.path}")
    return SchemaGenerator().get_schema(request=None, public=True)


def operations(schema):
    for path, methods in schema["paths"].items():
        for method, operation in methods.items():
            if method in METHODS:
                yield f"{method.upper()} {path}", operation


def bodies(operation):
    """Each request and response body schema of ``operation``."""
    for content in [
        operation.get("requestBody", {}).get("content", {}),
        *(response.get("content", {}) for response in operation["responses"].values()),
    ]:
        for media in content.values():
            yield media["schema"]


def places(node, where, *keys):
    """Where, below ``node``, a schema holds any of ``keys``."""
    if isinstance(node, dict):
        if any(key in node for key in keys):
            yield where
        for key, value in node.items():
            yield from places(value, f"{where}.{key}", *keys)
    elif isinstance(node, list):
        for value in node:
            yield from places(value, where, *keys)


def test_every_operation_has_its_own_written_operation_id(schema):
    found = {name: operation["operationId"] for name, operation in operations(schema)}
    assert found == OPERATION_IDS


def test_every_request_body_is_json_only(schema):
    for name, operation in operations(schema):
        if "requestBody" in operation:
            assert list(operation["requestBody"]["content"]) == ["application/json"], name


def test_the_named_types_are_these(schema):
    assert set(schema["components"]["schemas"]) == COMPONENTS


def test_every_body_is_a_named_component(schema):
    """An inline object becomes a class named after the operation (or
    nothing usable, in some generators): every body is a ``$ref``."""
    for name, operation in operations(schema):
        for body in bodies(operation):
            assert set(body) == {"$ref"}, f"{name}: {body}"


def test_every_enum_is_a_named_component(schema):
    """A generator names an inline enum after its field, and two fields of
    the same name then clash; drf-spectacular's enum hook names them all."""
    components = schema["components"]["schemas"]
    enums = {name for name, component in components.items() if "enum" in component}
    assert {"KindEnum", "ContentTypeEnum", "TicketStatusEnum"} <= enums
    for name, component in components.items():
        properties = component.get("properties", {})
        assert not list(places(properties, name, "enum")), name


def test_no_field_is_a_union(schema):
    """Generators make a type of each ``oneOf``/``anyOf``, named after the
    field's translated title: for an email that may be blank, an empty
    Kotlin class that cannot read the string (``project.api.schema``)."""
    assert not list(places(schema["components"]["schemas"], "components", "oneOf", "anyOf"))
    email = schema["components"]["schemas"]["SiteRequest"]["properties"]["email"]
    assert email == {
        "type": "string",
        "maxLength": 254,
        "description": "Empty, or in format `email`.",
    }


def test_logging_in_needs_no_credentials(schema):
    """Generators add the token to operations that document security: the
    one that gives the token documents none."""
    token = schema["paths"]["/api/auth/token/"]["post"]
    assert "security" not in token
    tickets = schema["paths"]["/api/uploads/tickets/"]["post"]
    assert {"tokenAuth": []} in tickets["security"]


# What only a maintainer writes: reST's literals and roles.
REST_MARKUP = re.compile(r"``|:(?:func|class|meth|mod|attr|data):`")
DOTTED = re.compile(r"\b[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)+")


def texts(node, where="schema"):
    """Each description and summary below ``node``, with where it stands."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key in ("description", "summary") and isinstance(value, str):
                yield f"{where}.{key}", value
            else:
                yield from texts(value, f"{where}.{key}")
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from texts(value, f"{where}[{index}]")


def code_paths(text):
    """The dotted paths in ``text`` into the code this project runs: its
    apps' modules, and their packages' (``inventory.logins``,
    ``django.contrib.auth``)."""
    packages = {config.name.split(".")[0] for config in apps.get_app_configs()}
    return [path for path in DOTTED.findall(text) if path.split(".")[0] in packages]


def test_no_description_is_written_for_maintainers(schema):
    """Client developers read the descriptions in /api/docs/ and in their
    generated clients' doc comments: a class's or a view's docstring
    written for maintainers (reST, paths into the code) must not become
    one; ``extend_schema(description=...)`` says what a client needs."""
    found = list(texts(schema))
    assert len(found) > 100  # the walk reaches them
    leaks = [(where, text) for where, text in found if REST_MARKUP.search(text) or code_paths(text)]
    assert not leaks


def test_the_maintainers_markup_is_recognised():
    assert REST_MARKUP.search("Subclasses say which field (``image_of``).")
    assert code_paths("A username locked out (inventory.logins) gets login_locked.")
    assert code_paths("see `uploads.api.schema.error_response`")
    assert not code_paths("`Authorization: Token <key>` at https://media.example.com/")
    assert not code_paths("`image_state` is `ready`. Then `page_size`, e.g. 20.")


# --- One schema, whatever the reader's language. Two developers generating
# clients from /api/schema/ get the same bytes, so that their generated code
# does not differ by their browsers' language; and it is in one language,
# English, as its descriptions are, not half translated.

# How a reader's language reaches the server: a browser's Accept-Language,
# the language switcher's cookie, drf-spectacular's ``?lang=``.
READERS = {
    "no Accept-Language": ("", {}),
    "Accept-Language: fr": ("", {"HTTP_ACCEPT_LANGUAGE": "fr"}),
    "a French browser": ("", {"HTTP_ACCEPT_LANGUAGE": "fr-CI,fr;q=0.9,en;q=0.5"}),
    "a language the site lacks": ("", {"HTTP_ACCEPT_LANGUAGE": "de"}),
    "the switcher's French cookie": ("", {"HTTP_COOKIE": "django_language=fr"}),
    "?lang=fr": ("?lang=fr", {"HTTP_ACCEPT_LANGUAGE": "en"}),
    "?lang=en": ("?lang=en", {"HTTP_ACCEPT_LANGUAGE": "fr"}),
    "?lang=de": ("?lang=de", {}),
}


def vary(response):
    return {header.strip().lower() for header in response.get("Vary", "").split(",")}


def english_schema(client, query=""):
    """What a developer whose browser asks for English gets."""
    return client.get(f"/api/schema/{query}", HTTP_ACCEPT_LANGUAGE="en").content


def test_the_schema_is_in_english(client, db):
    """Its error examples' ``detail`` too, DRF's own messages, which the
    French catalogs translate."""
    content = client.get("/api/schema/", HTTP_ACCEPT_LANGUAGE="fr").content.decode()
    assert "Could not satisfy the request Accept header." in content
    with translation.override("fr"):
        french = str(exceptions.NotAcceptable.default_detail)
    assert french != "Could not satisfy the request Accept header."
    assert french not in content


@pytest.mark.parametrize("fmt", ["", "?format=json"])
@pytest.mark.parametrize("reader", READERS)
def test_every_reader_gets_the_same_schema(client, db, settings, reader, fmt):
    assert settings.LANGUAGE_COOKIE_NAME == "django_language"
    query, headers = READERS[reader]
    if fmt:
        query = f"{query}&{fmt[1:]}" if query else fmt
    response = client.get(f"/api/schema/{query}", **headers)
    assert response.status_code == 200
    assert response.content == english_schema(client, fmt)


def test_a_signed_in_reader_gets_the_same_schema(client, make_user, sites):
    anonymous = english_schema(client)
    client.force_login(make_user("staff", sites[0]))
    assert english_schema(client) == anonymous


def test_the_schemas_headers_say_it_is_the_same_for_every_reader(client, make_user, sites):
    """``Content-Language`` says the schema's language, not the reader's;
    a cache keeps one copy for every language and user: ``Vary`` names
    ``Accept`` (YAML or JSON), neither ``Accept-Language`` nor ``Cookie``."""
    client.force_login(make_user("staff", sites[0]))
    response = client.get("/api/schema/", HTTP_ACCEPT_LANGUAGE="fr")
    assert response["Content-Language"] == "en"
    assert "accept" in vary(response)
    assert not {"accept-language", "cookie"} & vary(response)


def test_the_schema_views_errors_are_in_the_readers_language(client, db):
    """Only the schema is in English: an error of its view is the API's,
    in the reader's language."""
    response = client.get("/api/schema/", HTTP_ACCEPT="text/html", HTTP_ACCEPT_LANGUAGE="fr")
    with translation.override("fr"):
        detail = str(exceptions.NotAcceptable.default_detail)
    assert (response.status_code, response.json()) == (
        406,
        {"code": "not_acceptable", "detail": detail},
    )
    assert response["Content-Language"] == "fr"
    assert "accept-language" in vary(response)


@pytest.mark.parametrize("options", [[], ["--lang", "fr"]])
def test_manage_py_spectacular_writes_the_schema_every_reader_gets(client, db, tmp_path, options):
    """For a schema committed beside the apps, or generated in CI: the same
    bytes, run in the site's language, French, or asked for French."""
    with translation.override("fr"):
        call_command("spectacular", "--file", str(tmp_path / "schema.yml"), *options)
    assert (tmp_path / "schema.yml").read_bytes() == english_schema(client)


@pytest.mark.parametrize("query", ["", "?lang=fr"])
def test_the_docs_page_shows_the_schema_every_reader_gets(client, db, query):
    """/api/docs/ (Swagger UI, in English) passes ``?lang=`` on to the
    schema it loads, in the reader's language: the schema it shows is the
    one generators get."""
    page = client.get(f"/api/docs/{query}", HTTP_ACCEPT_LANGUAGE="fr")
    assert page["Content-Language"] == "en"
    assert "accept-language" not in vary(page)
    escaped = re.search(r'\burl: "([^"]*)"', page.content.decode()).group(1)
    url = json.loads(f'"{escaped}"')
    assert url == f"/api/schema/{query}"
    assert client.get(url, HTTP_ACCEPT_LANGUAGE="fr").content == english_schema(client)


# --- Fetched again for nothing: Swagger UI and a generator that kept the
# schema ask with If-None-Match and get a bodiless 304 while it is unchanged.


@pytest.mark.parametrize("encoding", ["", "gzip"])
@pytest.mark.parametrize("fmt", ["", "?format=json"])
def test_the_schema_fetched_again_unchanged_is_a_304_without_a_body(client, db, fmt, encoding):
    first = client.get(f"/api/schema/{fmt}", HTTP_ACCEPT_ENCODING=encoding)
    assert first.status_code == 200
    assert {"no-cache", "public"} <= {each.strip() for each in first["Cache-Control"].split(",")}
    assert first.has_header("ETag")

    again = client.get(
        f"/api/schema/{fmt}", HTTP_ACCEPT_ENCODING=encoding, HTTP_IF_NONE_MATCH=first["ETag"]
    )
    assert (again.status_code, again.content) == (304, b"")
    # The same, weakly: gzip weakens the 200's, and a 304 is not gzipped.
    assert again["ETag"].removeprefix("W/") == first["ETag"].removeprefix("W/")


def test_the_yaml_schemas_etag_does_not_answer_for_the_json_one(client, db):
    yaml_etag = client.get("/api/schema/")["ETag"]
    json = client.get("/api/schema/?format=json", HTTP_IF_NONE_MATCH=yaml_etag)
    assert json.status_code == 200 and json.content


def test_a_changed_schema_is_sent_whole(client, db, monkeypatch):
    """A client's ETag of the schema before a deploy changed it."""
    before = client.get("/api/schema/")["ETag"]
    monkeypatch.setattr(spectacular_settings, "VERSION", "1.0.1")
    after = client.get("/api/schema/", HTTP_IF_NONE_MATCH=before)
    assert after.status_code == 200
    assert b"1.0.1" in after.content
