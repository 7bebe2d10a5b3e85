"""
SQL queries per request on the production stack, for
tests/benchmarks/bench_queries.py and its smoke test (issue 17, item 5:
at most 3 per ticket and 6 per confirm, authentication included, and the
same however many tickets, products and sites exist).

Counted in a ``manage.py shell`` with the stack's environment (the
production settings, PostgreSQL, Redis, SeaweedFS, the database task
queue: ``tests.support.load``), by Django's ``CaptureQueriesContext``
around each request of the test client: every statement Django sends,
BEGIN and COMMIT included. One staff member's token asks for the trivial
``GET /api/site/``, then a ticket, posts the file to the bucket and
confirms, replacing the product's photo; between sizes, other sites'
rows are added (a site with a staff member, a product and an open ticket
each), and earlier tickets of the same user.
"""

import json
from dataclasses import dataclass

from tests.support.bench_output import write_report
from tests.support.images import png
from tests.support.load import add_sites

# Issue 17's goals, authentication included.
GOALS = {"ticket": 3, "confirm": 6}
REQUESTS = ("site", "ticket", "confirm")


@dataclass
class QueryCounts:
    # [{"rows": other sites, "site": n, "ticket": n, "confirm": n}, ...]
    by_rows: list

    @property
    def constant(self):
        return all(
            {row[name] for row in self.by_rows} == {self.by_rows[0][name]} for name in REQUESTS
        )

    def goals(self):
        last = self.by_rows[-1]
        return {name: (last[name], goal, last[name] <= goal) for name, goal in GOALS.items()}

    def table(self):
        lines = ["SQL queries per request (production settings, PostgreSQL, token)"]
        lines.append("  other sites | GET /api/site/ | ticket | confirm")
        for row in self.by_rows:
            site, ticket, confirm = (row[name] for name in REQUESTS)
            lines.append(f"  {row['rows']:>11} | {site:>14} | {ticket:>6} | {confirm:>7}")
        lines.append(f"  the same at every size: {'yes' if self.constant else 'NO'}")
        for name, (count, goal, met) in self.goals().items():
            lines.append(f"  {name}: {count} (goal ≤ {goal}) {'ok' if met else 'MISSED'}")
        return "\n".join(lines)

    def as_json(self):
        goals = {
            name: {"count": count, "goal": goal, "met": met}
            for name, (count, goal, met) in self.goals().items()
        }
        return json.dumps({"by_rows": self.by_rows, "constant": self.constant, "goals": goals})


def query_counts(stack, sizes):
    """The counts at each number of other sites in ``sizes`` (ascending)."""
    (site,) = add_sites(stack, "counted", sites=1, staff=1, products=1)
    token, product = site.tokens[0], site.products[0]
    by_rows, added = [], 0
    for rows in sizes:
        in_shell(stack, f"add_rows({rows - added}, {token!r})")
        added = rows
        output = in_shell(stack, f"count_requests({token!r}, {product})")
        by_rows.append({"rows": rows, **json.loads(output.splitlines()[-1])})
    return QueryCounts(by_rows)


def in_shell(stack, call):
    """``call``, a call of a function of this module, run by the stack's
    ``manage.py shell``; its output."""
    name = call.partition("(")[0]
    return stack.manage("shell", "-c", f"from {__name__} import {name}; {call}")


def report(counts, folder):
    return write_report(counts.table(), counts.as_json(), folder, "queries")


# --- Run by manage.py shell ------------------------------------------------


def add_rows(count, token):
    """``count`` other sites, each with a staff member, a product and an
    open ticket; and five more tickets of ``token``'s user, two of them
    confirmed."""
    import uuid
    from datetime import timedelta

    from django.utils import timezone
    from rest_framework.authtoken.models import Token

    from inventory.models import Configuration, Product, User
    from uploads.models import UploadTicket

    now = timezone.now()
    start = Configuration.objects.count()
    sites = Configuration.objects.bulk_create(
        Configuration(site_name=f"Other {start + number}") for number in range(count)
    )
    users = User.objects.bulk_create(
        User(username=f"other-{site.pk}", site_configuration=site) for site in sites
    )
    products = Product.objects.bulk_create(
        Product(site_configuration=site, name="Article", cug=f"O-{site.pk}") for site in sites
    )
    owner = Token.objects.get(key=token).user
    own = [(owner, owner.site_configuration_id, None)] * 5
    others = zip(users, sites, products, strict=True)
    tickets = [(user, site.pk, product.pk) for user, site, product in others]
    UploadTicket.objects.bulk_create(
        UploadTicket(
            user=user,
            kind="product",
            object_id=object_id,
            site_id=site_id,
            content_type="image/png",
            size=100,
            incoming_key=f"media/sites/{site_id}/products/incoming/{uuid.uuid4().hex}.png",
            status=UploadTicket.Status.CONFIRMED if number < 2 else UploadTicket.Status.ISSUED,
            expires_at=now + timedelta(hours=1),
        )
        for number, (user, site_id, object_id) in enumerate(own + tickets)
    )


def count_requests(token, product_id):
    """Print the queries of a site read, a ticket and a confirm, as JSON.
    The product gets a photo first (not counted), so that the counted
    confirm replaces one."""
    from django.conf import settings
    from django.db import connection
    from django.test.utils import CaptureQueriesContext
    from rest_framework.test import APIClient

    from uploads.uploader import post_form

    client = APIClient(HTTP_HOST=settings.ALLOWED_HOSTS[0])
    client.credentials(HTTP_AUTHORIZATION=f"Token {token}")

    def counted(method, path, data=None):
        with CaptureQueriesContext(connection) as queries:
            response = getattr(client, method)(path, data, format="json", secure=True)
        assert response.status_code in (200, 201), (path, response.status_code, response.content)
        return response.json(), len(queries)

    def ticket_for(body):
        request = {
            "kind": "product",
            "object_id": product_id,
            "filename": "photo.png",
            "content_type": "image/png",
            "size": len(body),
        }
        ticket, queries = counted("post", "/api/uploads/tickets/", request)
        upload = ticket["upload"]
        status, answer = post_form(upload["url"], upload["fields"], body, "image/png")
        assert status in (200, 201, 204), (status, answer)
        return ticket, queries

    first, _ = ticket_for(png((16, 16)))
    counted("post", f"/api/uploads/tickets/{first['id']}/confirm/")
    _, site = counted("get", "/api/site/")
    ticket, issued = ticket_for(png((16, 16), color=(200, 10, 10)))
    _, confirmed = counted("post", f"/api/uploads/tickets/{ticket['id']}/confirm/")
    print(json.dumps({"site": site, "ticket": issued, "confirm": confirmed}))
