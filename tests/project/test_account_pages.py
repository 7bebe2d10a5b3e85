"""Django's account pages the app serves: login, logout and a signed-in
user's change of password; no password reset by email, which the app sends
none of."""

import pytest
from django.core import mail
from django.test import Client

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff(make_user, sites):
    user = make_user("awa", sites[0])
    user.email = "awa@example.com"
    user.save()
    return user


def test_no_password_reset_by_email(staff):
    """An unthrottled form that mailed whoever's address it was given, once
    mail was set up; a site admin sets a forgotten password in the admin."""
    client = Client()
    for path in ("/accounts/password_reset/", "/accounts/reset/done/"):
        assert client.get(path).status_code == 404
    assert client.post("/accounts/password_reset/", {"email": staff.email}).status_code == 404
    assert mail.outbox == []


def test_a_signed_in_user_changes_their_password(staff):
    client = Client()
    assert client.get("/accounts/password_change/")["Location"].startswith("/accounts/login/")
    client.force_login(staff)
    response = client.post(
        "/accounts/password_change/",
        {
            "old_password": "pw",
            "new_password1": "n0uveau-Secret",
            "new_password2": "n0uveau-Secret",
        },
    )
    assert response["Location"] == "/accounts/password_change/done/"
    assert client.get("/accounts/password_change/done/").status_code == 200
    staff.refresh_from_db()
    assert staff.check_password("n0uveau-Secret")
