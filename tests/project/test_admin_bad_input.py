"""A NUL in an admin URL's query string is a 400, on every admin view of the
project (``project.admin.ProjectAdminSite``), never a 500: PostgreSQL refuses
a NUL in a text parameter, and the admin passes a changelist's query
parameters (``?kind=``, ``?name=``, any text field of the model) and the
autocomplete's ``term`` to the database. SQLite takes the NUL; the answer
is the same there, so the test means something on either database."""

import pytest
from django.contrib import admin
from django.test import Client

from inventory.models import User

pytestmark = pytest.mark.django_db

AUTOCOMPLETE = "/admin/autocomplete/?app_label=inventory&model_name=product"

NUL_URLS = [
    # uploads' admins, whose list filters are text fields
    "/admin/uploads/uploadticket/?kind=%00",
    "/admin/uploads/renditionset/?kind=%00",
    # inventory's, on any text field of the model
    "/admin/inventory/product/?name=%00",
    "/admin/inventory/user/?username=%00",
    "/admin/inventory/configuration/?q=%00",
    # Django's own admins, and the views of the site itself
    "/admin/auth/group/?name=%00",
    f"{AUTOCOMPLETE}&field_name=site_configuration&term=%00",
    # in a parameter's name
    "/admin/uploads/uploadticket/?%00=1",
]


@pytest.fixture
def root_client():
    root = User.objects.create_superuser("root", "root@example.com", "pw")
    client = Client(raise_request_exception=False, HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(root)
    return client


def test_the_project_admin_site_is_the_default_one():
    from project.admin import ProjectAdminSite

    assert isinstance(admin.site, ProjectAdminSite)


@pytest.mark.parametrize("url", NUL_URLS)
def test_a_nul_in_an_admin_query_string_is_a_bad_request(root_client, url):
    assert root_client.get(url).status_code == 400


def test_the_same_requests_without_the_nul_still_answer(root_client):
    for url in NUL_URLS[:-1]:
        assert root_client.get(url.replace("%00", "x")).status_code == 200, url
