"""The three changes to a row that leave its image unused, for the tests
that check what each deletes."""

from django.db import transaction

from tests.support.images import jpeg
from tests.support.tickets import confirm, issue
from uploads import services


def change_image(change, store, api, product):
    """``replace`` ``product``'s photo (a new one uploaded and confirmed),
    ``clear`` it (the admin's clear) or ``delete`` the product."""
    if change == "replace":
        body = jpeg()
        ticket = issue(api, product, body)
        assert store.post(ticket["upload"], body) in (200, 201, 204)
        assert confirm(api, ticket).status_code == 200
    elif change == "clear":
        with transaction.atomic():
            services.remove_file(product, kind="product")
    else:
        product.delete()
