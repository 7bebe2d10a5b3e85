"""The project's admin site: Django's, refusing query strings that hold a NUL.

The admin hands a changelist's query parameters to the database as lookups
(``?kind=``, ``?name=``: any field of the model, list filter or not) and
the autocomplete's ``term`` as a search. PostgreSQL refuses a NUL in a text
parameter, which made each of those a 500. No lookup, search or id of the
admin can hold a NUL (nor can any field of the project: form fields refuse
it), so such a request is a bad one, answered 400 (``project.views``).

Checked once in ``admin_view``, which wraps every view of the site: every
``ModelAdmin`` of every app (``uploads``' and Django's own included, with
nothing to remember for the next one), the autocomplete, the history and
delete pages. Installed as the default site (``ProjectAdminConfig``), so
``admin.site`` and ``@admin.register`` are this one.

Its login form checks one login per username at a time, as every login
path does (``inventory.logins``).
"""

from functools import wraps

from django.contrib import admin
from django.contrib.admin.apps import AdminConfig
from django.core.exceptions import BadRequest


def has_nul(query):
    """Whether a name or a value of ``query`` (a ``QueryDict``) holds a NUL."""
    return any(
        "\x00" in key or any("\x00" in value for value in values) for key, values in query.lists()
    )


class ProjectAdminSite(admin.AdminSite):
    @property
    def login_form(self):
        """Django's admin login form, authenticating one login per username
        at a time (``inventory.logins``); imported here, as this module is
        imported before the models are loaded."""
        from inventory.logins import AdminLoginForm

        return AdminLoginForm

    def admin_view(self, view, cacheable=False):
        checked = super().admin_view(view, cacheable)

        @wraps(checked)
        def refuse_nul(request, *args, **kwargs):
            if has_nul(request.GET):
                raise BadRequest("A NUL in the query string.")
            return checked(request, *args, **kwargs)

        return refuse_nul


class ProjectAdminConfig(AdminConfig):
    default_site = "project.admin.ProjectAdminSite"
