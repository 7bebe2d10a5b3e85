"""Token authentication with its query written once: every key, valid,
unknown or hostile, is answered exactly as DRF's own class answers it."""

import pytest
from django.db import connection, models
from django.test.utils import CaptureQueriesContext, isolate_apps
from django.utils import translation
from rest_framework import authentication, exceptions
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from project.api import authentication as written

HOSTILE_KEYS = [
    "",
    "0" * 40,
    "x" * 41,
    "k" * 10_000,
    "' OR '1'='1",
    "%s",
    "%",
    "_" * 40,
    "clé-éèà-ünïcødé",
    "\u202e" + "a" * 39,
]


@pytest.fixture
def token(make_user, sites):
    return Token.objects.create(user=make_user("awa", sites[0], first_name="Awa"))


def answer(auth, key):
    """What ``auth`` makes of ``key``: the user's and the token's rows as
    read, or the error's status, code and message (in English)."""
    try:
        with translation.override("en"):
            user, token = auth.authenticate_credentials(key)
    except exceptions.AuthenticationFailed as error:
        return ("failed", error.status_code, error.get_codes(), str(error.detail))
    fields = type(user)._meta.concrete_fields
    return (
        [(f.attname, getattr(user, f.attname)) for f in fields],
        [(f.attname, getattr(token, f.attname)) for f in Token._meta.concrete_fields],
    )


def test_the_settings_use_it():
    from rest_framework.settings import api_settings

    assert api_settings.DEFAULT_AUTHENTICATION_CLASSES[0] is written.TokenAuthentication


def test_a_valid_key_reads_the_token_and_its_user_in_one_query(token):
    with CaptureQueriesContext(connection) as queries:
        user, read = written.TokenAuthentication().authenticate_credentials(token.key)
        assert user.first_name == "Awa"
        assert read.user is user  # loaded with the token, no second query
    assert len(queries) == 1
    assert answer(written.TokenAuthentication(), token.key) == answer(
        authentication.TokenAuthentication(), token.key
    )


@pytest.mark.parametrize("key", HOSTILE_KEYS, ids=range(len(HOSTILE_KEYS)))
def test_unknown_and_hostile_keys_fail_as_with_drf(token, key):
    ours = answer(written.TokenAuthentication(), key)
    assert ours == answer(authentication.TokenAuthentication(), key)
    assert ours == ("failed", 401, "authentication_failed", "Invalid token.")


@pytest.mark.parametrize("key", ["\x00", "\x00" * 40, "a\x00b"])
def test_a_key_with_a_nul_is_refused_not_an_error(token, key):
    """PostgreSQL refuses a NUL in a text parameter: DRF's own class fails
    there with a database error, a 500."""
    assert answer(written.TokenAuthentication(), key) == (
        "failed",
        401,
        "authentication_failed",
        "Invalid token.",
    )
    refused = APIClient().get("/api/site/", HTTP_AUTHORIZATION=f"Token {key}")
    assert (refused.status_code, refused.json()["code"]) == (401, "not_authenticated")


def test_a_key_differing_only_in_case_or_padding_is_not_the_token(token):
    for key in (token.key.upper(), f" {token.key}", f"{token.key} ", token.key[:-1]):
        assert answer(written.TokenAuthentication(), key)[0] == "failed"


def test_an_inactive_user_is_refused_as_with_drf(token):
    token.user.is_active = False
    token.user.save()
    ours = answer(written.TokenAuthentication(), token.key)
    assert ours == answer(authentication.TokenAuthentication(), token.key)
    assert ours == ("failed", 401, "authentication_failed", "User inactive or deleted.")


def test_the_api_answers_in_french_with_drfs_translations(token):
    api = APIClient(HTTP_ACCEPT_LANGUAGE="fr")
    refused = api.get("/api/site/", HTTP_AUTHORIZATION="Token " + "0" * 40)
    assert refused.status_code == 401
    assert refused.json() == {"code": "not_authenticated", "detail": "Token non valide."}
    assert refused["WWW-Authenticate"] == "Token"

    token.user.is_active = False
    token.user.save()
    inactive = api.get("/api/site/", HTTP_AUTHORIZATION=f"Token {token.key}")
    assert inactive.json() == {
        "code": "not_authenticated",
        "detail": "Utilisateur inactif ou supprimé.",
    }


def test_a_valid_token_reaches_the_api(token):
    api = APIClient()
    answered = api.get("/api/site/", HTTP_AUTHORIZATION=f"Token {token.key}")
    assert answered.status_code == 200


def test_a_deleted_user_takes_the_token_with_it(token):
    key = token.key
    token.user.delete()
    assert answer(written.TokenAuthentication(), key)[0] == "failed"


def test_models_of_other_tables_are_read_by_the_orm(token, monkeypatch):
    """A token or user model of several tables (multi-table inheritance)
    cannot be read by the one statement: DRF's query reads it."""
    monkeypatch.setattr(written, "in_own_table", lambda model: False)
    with CaptureQueriesContext(connection) as queries:
        user, _ = written.TokenAuthentication().authenticate_credentials(token.key)
    assert user == token.user
    assert "INNER JOIN" in queries[0]["sql"] and "LIMIT 21" in queries[0]["sql"]


def test_the_session_user_is_read_as_django_reads_it(token):
    from django.contrib.auth.backends import ModelBackend

    from inventory.permissions import OneQueryModelBackend

    user = token.user
    ours, django = OneQueryModelBackend(), ModelBackend()
    fields = [f.attname for f in type(user)._meta.concrete_fields]
    with CaptureQueriesContext(connection) as queries:
        read = ours.get_user(user.pk)
    assert len(queries) == 1
    expected = django.get_user(user.pk)
    assert [getattr(read, f) for f in fields] == [getattr(expected, f) for f in fields]
    assert ours.get_user(user.pk + 1000) is None is django.get_user(user.pk + 1000)
    user.is_active = False
    user.save()
    assert ours.get_user(user.pk) is None is django.get_user(user.pk)


def test_a_signed_in_user_reaches_the_pages_and_is_signed_out_once_inactive(token):
    from django.test import Client

    browser = Client()
    browser.force_login(token.user)
    assert browser.get("/api/site/").status_code == 200
    token.user.is_active = False
    token.user.save()
    refused = browser.get("/api/site/")
    assert (refused.status_code, refused.json()["code"]) == (401, "not_authenticated")


def test_a_session_without_its_csrf_token_is_refused_in_the_users_language(token):
    """DRF says "CSRF Failed: <reason>" in English only; the image picker
    shows the detail to the user."""
    from django.test import Client

    browser = Client(enforce_csrf_checks=True, HTTP_ACCEPT_LANGUAGE="fr")
    browser.force_login(token.user)
    refused = browser.post("/api/products/", {"name": "Riz"}, content_type="application/json")
    assert refused.status_code == 403
    assert refused.json() == {
        "code": "permission_denied",
        "detail": "La vérification CSRF a échoué. La requête a été interrompue.",
    }


@pytest.mark.parametrize("user_id", [2**63, -(2**63) - 1])
def test_a_session_naming_an_id_out_of_range_is_anonymous_as_with_django(db, user_id):
    """Django reads the session's id with the primary key's ``to_python``,
    which takes any integer, and ``ModelBackend`` finds no user beyond the
    column's range (the ORM leaves the lookup out): the request is
    anonymous, not a 500 (the ``ValidationError`` of the range's check)."""
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
    from django.contrib.auth.backends import ModelBackend
    from django.test import Client

    from inventory.permissions import OneQueryModelBackend

    assert OneQueryModelBackend().get_user(user_id) is None is ModelBackend().get_user(user_id)
    with pytest.raises(ValueError):  # not a number: both raise, as the ORM does
        OneQueryModelBackend().get_user("x")

    browser = Client()
    session = browser.session
    session.update(
        {
            SESSION_KEY: str(user_id),
            BACKEND_SESSION_KEY: "inventory.permissions.OneQueryModelBackend",
            HASH_SESSION_KEY: "0" * 64,
        }
    )
    session.save()
    refused = browser.get("/api/site/")
    assert (refused.status_code, refused.json()["code"]) == (401, "not_authenticated")


def test_the_user_holds_its_token_as_with_drf(token):
    """``select_related`` caches a one-to-one on both sides: DRF's
    ``request.user.auth_token`` is ``request.auth``, with no query."""
    for auth in (authentication.TokenAuthentication(), written.TokenAuthentication()):
        user, read = auth.authenticate_credentials(token.key)
        with CaptureQueriesContext(connection) as queries:
            assert user.auth_token is read
        assert len(queries) == 0, type(auth)


class Unrevoked(models.Manager):
    """A manager that hides some rows: revoked tokens, here those whose key
    starts with 0; or users deleted softly."""

    def __init__(self, **hidden):
        super().__init__()
        self.hidden = hidden

    def get_queryset(self):
        return super().get_queryset().exclude(**self.hidden)


def test_a_token_model_whose_manager_hides_tokens_is_read_by_it(make_user, sites):
    """DRF reads a token through ``model.objects``: one that filters (tokens
    revoked, expired) refuses what it hides. The written statement reads the
    table's every row, so such a model is read by the ORM."""
    revoked = Token.objects.create(user=make_user("awa", sites[0]), key="0" + "a" * 39)
    with isolate_apps("rest_framework.authtoken"):

        class LiveToken(Token):
            objects = Unrevoked(key__startswith="0")

            class Meta:
                proxy = True
                app_label = "authtoken"

    class Drf(authentication.TokenAuthentication):
        model = LiveToken

    class Ours(written.TokenAuthentication):
        model = LiveToken

    ours = answer(Ours(), revoked.key)
    assert ours == answer(Drf(), revoked.key)
    assert ours == ("failed", 401, "authentication_failed", "Invalid token.")


def test_a_user_manager_that_hides_users_is_read_by_it(token, monkeypatch):
    """ModelBackend reads the session's user through the default manager:
    one that hides users (deleted softly) signs them out."""
    from django.contrib.auth.backends import ModelBackend

    from inventory.permissions import OneQueryModelBackend

    user = token.user
    manager = Unrevoked(username=user.username)
    manager.model, manager.name = type(user), "objects"
    monkeypatch.setattr(type(user)._meta, "default_manager", manager)
    assert OneQueryModelBackend().get_user(user.pk) is None is ModelBackend().get_user(user.pk)
