"""Schemathesis against a live server: for any input the published schema
allows, and for inputs it does not, the API never answers 500, answers only
what the schema documents, and every error body has ``code`` and ``detail``.

One test per operation and generation mode. The operations are read from
the schema when the tests are collected; the calls go over HTTP to a live
server, as an app's would.
"""

import json

import pytest
import schemathesis
from drf_spectacular.renderers import OpenApiJsonRenderer
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from rest_framework.authtoken.models import Token
from schemathesis import GenerationMode
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)

from inventory.models import Product
from project.api.schema import SchemaGenerator
from uploads import services

EXAMPLES_PER_OPERATION = 30


def error_has_code_and_detail(ctx, response, case):
    if response.status_code < 400:
        return None
    body = response.json()
    assert isinstance(body, dict), f"{response.status_code}: not a JSON object: {body!r}"
    assert isinstance(body.get("code"), str) and body["code"], f"no code: {body!r}"
    assert isinstance(body.get("detail"), str) and body["detail"], f"no detail: {body!r}"
    return None


CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    error_has_code_and_detail,
]


def published_schema():
    """The schema as /api/schema/ serves it (JSON, lazy texts rendered)."""
    generated = SchemaGenerator().get_schema(request=None, public=True)
    return schemathesis.openapi.from_dict(json.loads(OpenApiJsonRenderer().render(generated)))


SCHEMA = published_schema()
OPERATIONS = [result.ok().label for result in SCHEMA.get_all_operations()]


@pytest.fixture
def fuzz_target(live_server, transactional_db, sites, make_user, settings):
    """A live server, a site admin's token and a product of theirs; the
    throttles opened so that the generated calls reach the views."""
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {"upload_tickets": "100000/hour", "login": "100000/min"},
    }
    settings.UPLOADS = {**settings.UPLOADS, "MAX_OPEN_TICKETS": 100000}
    admin = make_user("boss", sites[0], is_site_admin=True)
    product = Product.objects.create(site_configuration=sites[0], name="Riz", cug="R-1")
    ticket = services.issue_ticket(
        admin, kind="product", object_id=product.pk, content_type="image/jpeg", size=1000
    ).ticket
    return {
        "url": live_server.url,
        "token": Token.objects.create(user=admin).key,
        "path_parameters": {"id": product.pk, "ticket_id": str(ticket.id)},
    }


def test_schema_lists_every_operation():
    assert len(OPERATIONS) == 13, OPERATIONS


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE], ids=str)
@pytest.mark.parametrize("label", OPERATIONS)
def test_api_holds_its_contract_for_generated_input(label, mode, fuzz_target):
    operation = SCHEMA.find_operation_by_label(label)
    headers = {"Authorization": f"Token {fuzz_target['token']}"}
    # Valid input aims at objects that exist (random ids would only meet
    # 404); invalid input mangles the path too.
    path_parameters = {
        name: value
        for name, value in fuzz_target["path_parameters"].items()
        if f"{{{name}}}" in operation.path and mode == GenerationMode.POSITIVE
    }

    @given(case=operation.as_strategy(generation_mode=mode, path_parameters=path_parameters))
    @hypothesis_settings(
        max_examples=EXAMPLES_PER_OPERATION,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    def holds(case):
        response = case.call(base_url=fuzz_target["url"], headers=headers)
        case.validate_response(response, checks=CHECKS)

    holds()
