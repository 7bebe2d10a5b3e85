"""
DRF's token authentication, its query written once per process.

Every API call authenticates first, and DRF's ``TokenAuthentication`` reads
the token with ``Token.objects.select_related("user").get(key=key)``: a
queryset cloned, its join resolved and its SQL compiled at each request,
which costs more of the app's CPU than the query itself (issue 17: about
half of an API call that does nothing, under the profiler, where the SQL
took a twentieth). ``TokenAuthentication`` here sends the same ``SELECT``
of the token joined to its user, written once per process and kind of
database (``uploads.statements``), builds the same two instances from its
row, and answers every key as DRF's class does: the same user and token,
or the same error. One more is refused rather than failing: a key with a
NUL, which PostgreSQL does not take in a parameter.

``SessionAuthentication`` is DRF's, its refusal of a request without its
CSRF token said in the user's language.
"""

import logging

from django.db import connections, router
from django.utils.translation import gettext_lazy as _
from drf_spectacular.authentication import SessionScheme
from rest_framework import authentication, exceptions

from uploads.returning import fetch_converted
from uploads.statements import in_own_table, reads_every_row, written_once

# Where Django's CSRF middleware logs its refusals.
csrf_logger = logging.getLogger("django.security.csrf")


class TokenAuthentication(authentication.TokenAuthentication):
    """``Authorization: Token <key>``, as DRF's, one statement written once."""

    def authenticate_credentials(self, key):
        model = self.get_model()
        if not written_out(model):
            return super().authenticate_credentials(key)
        # A NUL is no token's, and PostgreSQL refuses it in a text
        # parameter: DRF's query would fail with a 500.
        token = None if "\x00" in key else token_with_user(model, key)
        # DRF's own messages, so that its catalogs translate them.
        if token is None:
            raise exceptions.AuthenticationFailed(_("Invalid token."))
        if not token.user.is_active:
            raise exceptions.AuthenticationFailed(_("User inactive or deleted."))
        return (token.user, token)


class SessionAuthentication(authentication.SessionAuthentication):
    """DRF's session authentication, whose CSRF refusal ("CSRF Failed:
    <reason>", in English only) says Django's own message instead, which
    its catalogs translate: the image picker shows it to the user. The
    reason goes to the log, as Django's middleware logs it."""

    def enforce_csrf(self, request):
        try:
            super().enforce_csrf(request)
        except exceptions.PermissionDenied as refusal:
            csrf_logger.warning("Forbidden (%s): %s", refusal.detail, request.path)
            raise exceptions.PermissionDenied(
                _("CSRF verification failed. Request aborted.")
            ) from None


class SessionAuthenticationScheme(SessionScheme):
    """Its OpenAPI security scheme: DRF's class's (``cookieAuth``), which
    drf-spectacular matches by exact class only."""

    target_class = SessionAuthentication


def written_out(model):
    """Whether the token and its user can be read by one ``SELECT`` of
    their own two tables; if not (a model of multi-table inheritance, or
    whose ``objects`` hides tokens, as DRF reads through it), the ORM reads
    them."""
    return (
        reads_every_row(model.objects)
        and in_own_table(model)
        and in_own_table(user_field(model).related_model)
    )


def user_field(model):
    return model._meta.get_field("user")


def token_with_user(model, key):
    """The token ``model``'s instance of ``key``, its ``user`` loaded with
    it, as ``model.objects.select_related("user").get(key=key)`` reads it;
    ``None`` if there is none."""
    connection = connections[router.db_for_read(model)]
    field = user_field(model)
    user_model = field.related_model
    token_fields = model._meta.concrete_fields
    user_fields = user_model._meta.concrete_fields
    columns = [f.get_col(model._meta.db_table) for f in token_fields] + [
        f.get_col(user_model._meta.db_table) for f in user_fields
    ]
    sql = written_once(connection, "token with user", write_select_token_with_user, model)
    params = [model._meta.get_field("key").get_db_prep_value(key, connection)]
    rows = fetch_converted(connection, sql, params, columns)
    if not rows:
        return None
    (row,) = rows
    split = len(token_fields)
    token = model.from_db(connection.alias, [f.attname for f in token_fields], row[:split])
    user = user_model.from_db(connection.alias, [f.attname for f in user_fields], row[split:])
    field.set_cached_value(token, user)
    if field.unique:
        # As select_related() does: a one-to-one is cached on both sides
        # (DRF's token's: request.user.auth_token is request.auth).
        field.remote_field.set_cached_value(user, token)
    return token


def write_select_token_with_user(connection, model):
    quote = connection.ops.quote_name
    field = user_field(model)
    user_model = field.related_model
    token_table = quote(model._meta.db_table)
    user_table = quote(user_model._meta.db_table)
    columns = ", ".join(
        [f"{token_table}.{quote(f.column)}" for f in model._meta.concrete_fields]
        + [f"{user_table}.{quote(f.column)}" for f in user_model._meta.concrete_fields]
    )
    return (
        f"SELECT {columns} FROM {token_table} INNER JOIN {user_table} "
        f"ON ({token_table}.{quote(field.column)} = "
        f"{user_table}.{quote(field.target_field.column)}) "
        f"WHERE {token_table}.{quote(model._meta.get_field('key').column)} = %s"
    )
