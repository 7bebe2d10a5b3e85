"""SQL queries per ticket and per confirm (issue 17, item 5): a fixed number,
authentication included, however many tickets, products and sites exist.

Counted with the token and with the session, after N = 1 and N = 50 of each
already exist: the same counts both times. The settings are production's
with Redis: permissions and sessions come from the cache, and tasks are
queued as rows (django_tasks_db), counted.
"""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from inventory.models import Configuration, Product
from tests.support.images import png
from tests.support.stores import LocalStore
from tests.support.tickets import confirm, issue, ticket_request

# Token: the token with its user, the product, and the insert that counts
# the open tickets (uploads.services.insert_within_limit). The permissions
# come from the cache, as in production with Redis (inventory.permission_cache;
# without it, one query: inventory.permissions.OneQueryModelBackend).
TICKET_QUERIES = 3
# The token; the claim: read and claim the ticket in one conditional
# UPDATE ... RETURNING (uploads.services.claim_fresh); the product, read to
# check the binding and to name the replaced image's renditions; the
# attachment; after it, one task queued (uploads.tasks.image_attached),
# which forgets the replaced image's rendition set, deletes, and makes the
# new image's set and renditions: no set is written on the request path.
# On PostgreSQL the attachment is one statement (uploads.attachment): the
# ticket confirmed, the product updated if it still holds what was read,
# the incoming object and the replaced image (its original and the
# renditions its specs name) recorded for deletion. Elsewhere it is a
# transaction whose BEGIN and COMMIT are counted (round trips, as on
# PostgreSQL): confirm the ticket, lock the product, update it, record.
CONFIRM_QUERIES = 5 if connection.vendor == "postgresql" else 9
# A session costs what a token costs: the user (the session comes from
# the cache: SESSION_ENGINE project.sessions, Django's cached_db).
SESSION_EXTRA = 0


def populate(n, make_user):
    """``n`` other sites, each with a product, a user and an open ticket."""
    for number in range(n):
        name = f"{n}-{number}"
        site = Configuration.objects.create(site_name=f"Other {name}")
        product = Product.objects.create(site_configuration=site, name="x", cug=f"X-{name}")
        client = APIClient()
        client.force_authenticate(make_user(f"other-{name}", site))
        issue(client, product, b"x" * 100)


def client_for(user, auth):
    client = APIClient()
    if auth == "token":
        client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=user).key}")
    else:
        client.force_login(user)
    return client


def counted(client, path, data=None):
    with CaptureQueriesContext(connection) as queries:
        response = client.post(path, data, format="json")
    return response, len(queries)


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("auth", ["token", "session"])
@pytest.mark.renditions
def test_queries_per_ticket_and_confirm_stay_the_same_with_more_rows(
    local_media, product, staff, make_user, auth, settings, django_assert_max_num_queries
):
    # As in production with Redis: permissions and sessions from the cache,
    # tasks queued as rows.
    settings.PERMISSION_CACHE_SECONDS = 60
    settings.SESSION_ENGINE = "project.sessions"
    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
    client = client_for(staff, auth)
    store = LocalStore(local_media)
    body = png((16, 16))
    extra = SESSION_EXTRA if auth == "session" else 0
    # The product has an image already: each counted confirm replaces it.
    first = issue(client, product, body, content_type="image/png")
    assert store.post(first["upload"], body, file_type="image/png") in (200, 201, 204)
    assert confirm(client, first).status_code == 200
    counts = []
    for n in (1, 50):
        populate(n, make_user)
        # Earlier tickets of the same user, some confirmed.
        for _ in range(min(n, 5)):
            issue(client, product, body, content_type="image/png")
        request = ticket_request(product, body, content_type="image/png")
        with django_assert_max_num_queries(TICKET_QUERIES + extra):
            response, ticket_queries = counted(client, "/api/uploads/tickets/", request)
        assert response.status_code == 201, response.json()
        ticket = response.json()
        assert store.post(ticket["upload"], body, file_type="image/png") in (200, 201, 204)
        with django_assert_max_num_queries(CONFIRM_QUERIES + extra):
            response, confirm_queries = counted(
                client, f"/api/uploads/tickets/{ticket['id']}/confirm/"
            )
        assert response.status_code == 200, response.json()
        counts.append((ticket_queries, confirm_queries))
    assert counts[0] == counts[1]
