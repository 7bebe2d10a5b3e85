"""
Hostile or broken input to any API operation answers the API's JSON error
with the right status, never a 500 or an HTML page; a database that does not
answer is a 503 a client can retry.

The operations are read from the published OpenAPI schema when the tests are
collected, so a new endpoint is swept without being listed here.
"""

import json
import logging
import os
import shutil
import socket
import subprocess
import sys
import time

import pytest
from django.conf import settings
from django.db import OperationalError, connection
from django.test import Client
from django.urls import URLResolver, get_resolver
from drf_spectacular.renderers import OpenApiJsonRenderer
from rest_framework.authtoken.models import Token

from inventory.models import Product
from project.api.schema import SchemaGenerator
from project.seaweedfs import free_weed_ports
from tests.support.processes import BASE_DIR, environment, stop
from uploads import services

pytestmark = pytest.mark.django_db


def published_schema():
    generated = SchemaGenerator().get_schema(request=None, public=True)
    return json.loads(OpenApiJsonRenderer().render(generated))


SCHEMA = published_schema()
OPERATIONS = [
    (method.upper(), path, "requestBody" in operation)
    for path, methods in SCHEMA["paths"].items()
    for method, operation in methods.items()
]
WITH_BODY = [(method, path) for method, path, has_body in OPERATIONS if has_body]


def api_routes(patterns=None, prefix=""):
    """The URLconf's plain routes under api/ (the router's regexes aside:
    the schema has those)."""
    for pattern in get_resolver().url_patterns if patterns is None else patterns:
        route = prefix + str(pattern.pattern)
        if isinstance(pattern, URLResolver):
            yield from api_routes(pattern.url_patterns, route)
        elif route.startswith("api/") and not set("<(^$") & set(route):
            yield f"/{route}"


# The schema and its docs are not in the schema.
OUTSIDE_SCHEMA = sorted(set(api_routes()) - set(SCHEMA["paths"]))
IN_SCHEMA = [(method, path) for method, path, _ in OPERATIONS]
ALL = IN_SCHEMA + [("GET", path) for path in OUTSIDE_SCHEMA]
assert len(WITH_BODY) >= 5 and len(ALL) >= 10, "the schema lost its operations"
assert OUTSIDE_SCHEMA == ["/api/docs/", "/api/schema/"], OUTSIDE_SCHEMA


def too_large():
    return b'{"name": "' + b"x" * settings.DATA_UPLOAD_MAX_MEMORY_SIZE + b'"}'


def too_many_fields():
    return "&".join(f"f{i}=x" for i in range(settings.DATA_UPLOAD_MAX_NUMBER_FIELDS + 1))


# name: (body, content type, status, code)
BAD_BODIES = {
    "deeply nested arrays": (b"[" * 1000, "application/json", 400, "invalid"),
    "deeply nested objects": (b'{"a": ' * 1000, "application/json", 400, "invalid"),
    "over DATA_UPLOAD_MAX_MEMORY_SIZE": (too_large, "application/json", 413, "request_too_large"),
    "not JSON": (b"name=Riz", "application/json", 400, "invalid"),
    "invalid UTF-8": (b'{"name": "\xff\xfe"}', "application/json", 400, "invalid"),
    "a charset that decompresses": (
        b"x\x9c\xab\xae\x05\x00\x01u\x00\xf9",
        "application/json; charset=zlib",
        400,
        "invalid",
    ),
    "NaN": (b'{"quantity": NaN}', "application/json", 400, "invalid"),
    "an integer of 5000 digits": (
        b'{"quantity": ' + b"9" * 5000 + b"}",
        "application/json",
        400,
        "invalid",
    ),
    # Valid JSON, but no UTF-8 string: refused by each field, not a 500
    # where it is used before (the token endpoint's throttle key).
    "a lone surrogate": (
        b'{"name": "\\ud800", "site_name": "\\ud800", "username": "\\ud800",'
        b' "password": "\\udfff", "filename": "\\ud800"}',
        "application/json",
        400,
        "invalid",
    ),
    "XML": (b"<product/>", "application/xml", 415, "unsupported_media_type"),
    "no content type": (b"{}", "", 415, "unsupported_media_type"),
}


@pytest.fixture
def api(sites, make_user, local_media):
    """A site admin's token client, and the path parameters of their
    product and ticket."""
    admin = make_user("boss", sites[0], is_site_admin=True)
    product = Product.objects.create(site_configuration=sites[0], name="Riz", cug="R-1")
    ticket = services.issue_ticket(
        admin, kind="product", object_id=product.pk, content_type="image/jpeg", size=1000
    ).ticket
    client = Client(
        raise_request_exception=False,
        HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=admin).key}",
    )
    client.parameters = {"id": product.pk, "ticket_id": ticket.id}
    return client


def call(client, method, path, body=b"", content_type="application/json", **extra):
    url = path.format(**getattr(client, "parameters", {}))
    return client.generic(method, url, body, content_type=content_type, **extra)


def assert_json_error(response, status, code=None):
    assert response["Content-Type"] == "application/json", response.content[:200]
    body = response.json()
    assert response.status_code == status, body
    assert isinstance(body.get("detail"), str) and body["detail"], body
    if code:
        assert body["code"] == code, body


def assert_documented(response, method, path):
    """The error ``response`` is documented for the operation: its status,
    with an example of its code."""
    if path in OUTSIDE_SCHEMA:
        return
    responses = SCHEMA["paths"][path][method.lower()]["responses"]
    assert str(response.status_code) in responses, (method, path, response.status_code)
    examples = responses[str(response.status_code)]["content"]["application/json"]["examples"]
    assert response.json()["code"] in [example["value"]["code"] for example in examples.values()]


def assert_never_a_crash(response):
    """Whatever the operation makes of the request: no 500, and an error is
    JSON with a code and a detail."""
    assert response.status_code < 500, response.content[:200]
    if response.status_code >= 400:
        assert response["Content-Type"] == "application/json", response.content[:200]
        assert {"code", "detail"} <= set(response.json())


@pytest.mark.parametrize("case", BAD_BODIES)
@pytest.mark.parametrize("method,path", WITH_BODY)
def test_a_bad_body_gets_a_json_error(api, method, path, case):
    body, content_type, status, code = BAD_BODIES[case]
    response = call(api, method, path, body() if callable(body) else body, content_type)
    assert_json_error(response, status, code)
    assert_documented(response, method, path)


@pytest.mark.parametrize("method,path", WITH_BODY)
def test_a_deeply_nested_body_is_refused_before_authentication(method, path, api):
    anonymous = Client(raise_request_exception=False)
    anonymous.parameters = api.parameters
    response = call(anonymous, method, path, b"[" * 1000)
    assert response.status_code in (400, 401), response.content[:200]
    assert_json_error(response, response.status_code)


def test_a_form_on_the_token_endpoint_gets_a_json_415_however_many_fields(api):
    # The token endpoint takes JSON only, like every operation.
    response = call(
        Client(raise_request_exception=False),
        "POST",
        "/api/auth/token/",
        too_many_fields(),
        "application/x-www-form-urlencoded",
    )
    assert_json_error(response, 415, "unsupported_media_type")


@pytest.mark.parametrize("method,path", ALL)
def test_a_huge_query_string_never_crashes(api, method, path):
    response = call(api, method, f"{path}?{too_many_fields()}", b"{}")
    assert_never_a_crash(response)
    if response.status_code >= 400:
        assert_documented(response, method, path)


#: Methods no operation is documented with: each path answers them with a
#: JSON 405 (OPTIONS a description, where the view gives one), never a 500.
UNDOCUMENTED_METHODS = ["OPTIONS", "TRACE", "PROPFIND"]
PATHS = sorted({path for _, path in ALL})


@pytest.mark.parametrize("method", UNDOCUMENTED_METHODS)
@pytest.mark.parametrize("path", PATHS)
def test_an_undocumented_method_never_crashes(api, method, path):
    """OPTIONS on /api/docs/ was a 500: DRF described the view through the
    page's HTML renderer, which has no template for that."""
    anonymous = Client(raise_request_exception=False)
    anonymous.parameters = api.parameters
    for client in (api, anonymous):
        response = call(client, method, path, b"{}")
        assert_never_a_crash(response)
        assert response.status_code in (200, 401, 405), (response.status_code, response.content)


def test_a_query_string_with_too_many_fields_gets_a_json_400(api):
    response = call(api, "GET", f"/api/products/?{too_many_fields()}")
    assert_json_error(response, 400, "invalid")


@pytest.mark.parametrize("method,path", ALL)
def test_huge_headers_never_crash(api, method, path):
    big = "x" * 64 * 1024
    response = call(
        api, method, path, b"{}", HTTP_X_FILLER=big, HTTP_ACCEPT_LANGUAGE=big, HTTP_COOKIE=big
    )
    assert_never_a_crash(response)


# A cookie's octal escape unquotes to a NUL, which PostgreSQL refuses in a
# parameter: the session's lookup failed on every request, signed in or not.
NUL_SESSION = 'sessionid="abcdefghijkl\\000mnop"'


@pytest.mark.parametrize("method,path", ALL)
def test_a_session_cookie_with_a_nul_never_crashes(api, method, path):
    anonymous = Client(raise_request_exception=False)
    anonymous.parameters = api.parameters
    for client in (api, anonymous):
        response = call(client, method, path, b"{}", HTTP_COOKIE=NUL_SESSION)
        assert_never_a_crash(response)


@pytest.mark.parametrize("path", ["/", "/accounts/login/", "/admin/", "/admin/login/"])
def test_a_session_cookie_with_a_nul_is_no_session_on_the_pages(path):
    client = Client(raise_request_exception=False, HTTP_COOKIE=NUL_SESSION)
    assert client.get(path).status_code in (200, 302)
    # The product list takes no POST (405), whoever sends it.
    posted = client.post(path, {"username": "x", "password": "y"}).status_code
    assert posted in (200, 302, 403, 405)


@pytest.mark.parametrize("debug", [False, True], ids=["", "DEBUG"])
@pytest.mark.parametrize("method,path", ALL)
def test_a_host_not_allowed_gets_a_json_400(api, settings, method, path, debug):
    """With DEBUG on too: Django answers a ``DisallowedHost`` with its HTML
    technical page, not handler400 (``project.views.ApiHostMiddleware``)."""
    settings.DEBUG = debug
    response = call(api, method, path, b"{}", HTTP_HOST="evil.example.com")
    assert_json_error(response, 400, "invalid")
    assert_documented(response, method, path)


@pytest.mark.parametrize("path", ["/api", "/api/nothing-here/", "/api/products"])
def test_a_host_not_allowed_on_an_unknown_api_path_gets_a_json_400(settings, path):
    settings.DEBUG = True
    client = Client(raise_request_exception=False, HTTP_HOST="evil.example.com")
    assert_json_error(client.post(path, b"{}", "application/json"), 400, "invalid")


def test_a_host_not_allowed_is_logged_as_django_logs_it(api, caplog):
    with caplog.at_level(logging.ERROR, logger="django.security.DisallowedHost"):
        call(api, "GET", "/api/products/", HTTP_HOST="evil.example.com")
    (record,) = [r for r in caplog.records if r.name == "django.security.DisallowedHost"]
    assert "evil.example.com" in record.getMessage() and record.status_code == 400


@pytest.mark.parametrize("path", ["/", "/admin/", "/apiary/"])
def test_a_host_not_allowed_on_a_page_keeps_djangos_debug_page(settings, path):
    """Only the API's paths answer JSON: a page keeps Django's technical 400
    with DEBUG on, and its plain 400 page with DEBUG off."""
    client = Client(raise_request_exception=False, HTTP_HOST="evil.example.com")
    for debug, marker in [(True, b"DisallowedHost"), (False, b"Bad Request (400)")]:
        settings.DEBUG = debug
        response = client.get(path, HTTP_ACCEPT="text/html")
        assert response.status_code == 400
        assert response["Content-Type"].startswith("text/html") and marker in response.content


@pytest.mark.parametrize("method,path", ALL)
def test_an_accept_without_json_gets_a_documented_406(api, method, path):
    response = call(api, method, path, b"{}", HTTP_ACCEPT="image/png")
    assert_json_error(response, 406, "not_acceptable")
    assert_documented(response, method, path)


def test_an_unknown_api_path_with_a_bad_body_gets_a_json_404(api):
    response = call(api, "POST", "/api/nothing-here/", too_large())
    assert_json_error(response, 404, "not_found")


@pytest.mark.parametrize("method,path", ALL)
def test_a_path_without_its_trailing_slash_gets_a_json_404_not_a_redirect(api, method, path):
    """Django's APPEND_SLASH would answer 301 (an empty HTML page), which
    clients follow with a GET: a POST, PUT or DELETE would be lost, the
    client reading the list or the object as if it had succeeded."""
    response = call(api, method, path.rstrip("/"), b"{}")
    assert_json_error(response, 404, "not_found")


UNKNOWN_API_PATHS = ["/api", "/api/nothing-here/", "/api/products", "/api/uploads/tickets"]


@pytest.mark.parametrize("debug", [False, True], ids=["", "DEBUG"])
@pytest.mark.parametrize("method", ["GET", "POST", "DELETE"])
@pytest.mark.parametrize("path", UNKNOWN_API_PATHS)
def test_an_unknown_api_path_gets_the_json_404_even_with_debug(api, settings, path, method, debug):
    """``/api`` itself is an API path; and with DEBUG on, Django answers an
    unknown URL with its HTML technical page, not handler404, which
    developers' apps cannot parse either."""
    settings.DEBUG = debug
    api.cookies["sessionid"] = "a" * 32  # a POST without a CSRF token: still a 404
    api.handler.enforce_csrf_checks = True
    response = call(api, method, path, b"{}")
    assert_json_error(response, 404, "not_found")


@pytest.mark.parametrize("debug", [False, True], ids=["", "DEBUG"])
def test_a_page_path_that_only_starts_like_the_api_gets_the_html_404(settings, debug):
    settings.DEBUG = debug
    response = Client(raise_request_exception=False).get("/apiary/")
    assert response.status_code == 404
    assert response["Content-Type"].startswith("text/html")


def test_the_errors_speak_french(api):
    response = call(api, "POST", "/api/products/", b"[" * 1000, HTTP_ACCEPT_LANGUAGE="fr")
    assert response.json()["detail"] == "Le corps de la requête n'est pas du JSON valide."
    response = call(api, "POST", "/api/products/", too_large(), HTTP_ACCEPT_LANGUAGE="fr")
    assert response.json()["detail"] == "La requête est trop volumineuse."


@pytest.mark.parametrize("method,path", WITH_BODY)
def test_a_null_body_is_refused_in_the_users_language(api, method, path):
    """JSON ``null`` is valid JSON but no object: DRF's serializers answer it
    with a message they hard-code in English."""
    response = call(api, method, path, b"null", HTTP_ACCEPT_LANGUAGE="fr")
    assert_json_error(response, 400, "invalid")
    assert response.json()["errors"] == {
        "non_field_errors": ["Aucune donnée fournie : envoyez un objet JSON."]
    }
    response = call(api, method, path, b"null", HTTP_ACCEPT_LANGUAGE="en")
    assert response.json()["errors"] == {
        "non_field_errors": ["No data provided: send a JSON object."]
    }


def locked(execute, sql, params, many, context):
    # What SQLite raises once a writer held the lock past the timeout; a
    # PostgreSQL server that is down raises OperationalError as well.
    raise OperationalError("database is locked")


@pytest.mark.parametrize("method,path", IN_SCHEMA)
def test_a_database_that_does_not_answer_gets_a_documented_503(api, method, path, caplog):
    # The login authenticates no one: it reads the database for a body it can try.
    body = b'{"username": "boss", "password": "pw"}' if path == "/api/auth/token/" else b"{}"
    # Asked in English, the schema's language: the answer is its example.
    with connection.execute_wrapper(locked), caplog.at_level(logging.ERROR):
        response = call(api, method, path, body, HTTP_ACCEPT_LANGUAGE="en")
    assert_json_error(response, 503, "database_unavailable")
    assert int(response["Retry-After"]) > 0
    assert any("database is locked" in record.getMessage() for record in caplog.records)
    documented = SCHEMA["paths"][path][method.lower()]["responses"]["503"]
    examples = documented["content"]["application/json"]["examples"].values()
    assert response.json() in [example["value"] for example in examples]
    assert "Retry-After" in documented["headers"]


@pytest.mark.parametrize("path", OUTSIDE_SCHEMA)
def test_the_schema_and_its_docs_need_no_database(api, path):
    """The same for every user, they read nobody's credentials
    (``SERVE_AUTHENTICATION``): a developer reads them while the database
    is down, a token in hand or not."""
    with connection.execute_wrapper(locked):
        response = call(api, "GET", path)
    assert response.status_code == 200, response.content[:200]


@pytest.mark.parametrize("method,path", WITH_BODY)
def test_413_is_documented_for_every_operation_with_a_body(method, path):
    documented = SCHEMA["paths"][path][method.lower()]["responses"]["413"]
    examples = documented["content"]["application/json"]["examples"].values()
    assert [example["value"]["code"] for example in examples] == ["request_too_large"]


@pytest.fixture
def gunicorn(tmp_path):
    """gunicorn with the production configuration (gunicorn.conf.py); its
    address."""
    (port,) = free_weed_ports(1)
    env = environment(
        tmp_path,
        DJANGO_ALLOWED_HOSTS="127.0.0.1",
        GUNICORN_BIND=f"127.0.0.1:{port}",
        GUNICORN_WORKERS="1",
        GUNICORN_THREADS="2",
    )
    binary = shutil.which("gunicorn", path=os.path.dirname(sys.executable))
    with open(tmp_path / "app.log", "wb") as log:
        app = subprocess.Popen(
            [binary, "project.wsgi", "--config", "gunicorn.conf.py"],
            cwd=BASE_DIR,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + 60
        while True:
            assert app.poll() is None, (tmp_path / "app.log").read_text()
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                assert time.monotonic() < deadline, "gunicorn did not start"
                time.sleep(0.2)
        yield ("127.0.0.1", port)
    finally:
        stop(app)


def raw_request(address, request):
    """The status line, headers and body gunicorn answers to ``request``."""
    with socket.create_connection(address, timeout=30) as connection:
        connection.sendall(request)
        answer = b""
        while chunk := connection.recv(65536):
            answer += chunk
    head, _, body = answer.partition(b"\r\n\r\n")
    status_line, *headers = head.decode("latin-1").split("\r\n")
    return status_line, [header.lower() for header in headers], body


@pytest.mark.process
@pytest.mark.parametrize(
    "request_bytes,status",
    [
        (
            b"GET /api/products/?search=" + b"x" * 8000 + b" HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n",
            414,
        ),
        (
            b"GET /api/products/ HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Big: "
            + b"x" * 9000
            + b"\r\n\r\n",
            431,
        ),
        (
            b"GET /api/products/ HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            + b"".join(b"X-H%d: x\r\n" % n for n in range(200))
            + b"\r\n",
            431,
        ),
        (b"GET /api/products/ HTTP/9.9\r\nHost: 127.0.0.1\r\n\r\n", 400),
    ],
    ids=["request line over the limit", "header over the limit", "200 headers", "bad version"],
)
def test_what_gunicorn_refuses_gets_a_json_error(gunicorn, request_bytes, status):
    status_line, headers, body = raw_request(gunicorn, request_bytes)
    assert status_line.split()[1] == str(status), status_line
    assert "content-type: application/json" in headers, headers
    error = json.loads(body)
    assert error["code"] == ("invalid" if status == 400 else "request_too_large"), error
    assert error["detail"] in ("La requête n'est pas valide.", "La requête est trop volumineuse.")


def reads_the_session(get_response):
    """A middleware that needs the database before any view runs, as a
    session or a login lockout does."""

    def middleware(request):
        request.session.get("site")
        return get_response(request)

    return middleware


def test_a_database_that_fails_in_a_middleware_gets_a_json_503(api, settings):
    settings.MIDDLEWARE = [*settings.MIDDLEWARE, f"{__name__}.reads_the_session"]
    api.cookies["sessionid"] = "a" * 32
    with connection.execute_wrapper(locked):
        response = call(api, "GET", "/api/products/")
    assert_json_error(response, 503, "database_unavailable")
    assert int(response["Retry-After"]) > 0
