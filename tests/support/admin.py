"""The admin as staff use it: a test client signed in as one of them."""

from django.test import Client


def logged_in(user, language="en"):
    """A test client signed in as ``user``, asking for pages in
    ``language`` (the admin's messages are checked in both)."""
    client = Client(HTTP_ACCEPT_LANGUAGE=language)
    client.force_login(user)
    return client
