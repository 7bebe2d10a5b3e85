"""The project's admin site: Django's, refusing as a bad request (400) what
no admin page could have sent and the database would fail on (a 500).

- **A NUL in a query string.** The admin hands a changelist's query
  parameters to the database as lookups (``?kind=``, ``?name=``: any field
  of the model, list filter or not) and the autocomplete's ``term`` as a
  search. PostgreSQL refuses a NUL in a text parameter. No lookup, search
  or id of the admin can hold a NUL (nor can any field of the project: form
  fields refuse it).
- **A selected row's id that is no id of the model** (an action's
  ``_selected_action``: ``abc`` or ``1e3`` for an integer key, ``x`` for a
  UUID, an integer beyond the column's range, a NUL). The changelist
  filters ``pk__in`` with them before the action runs, which raises in the
  field's conversion (``ValueError``, ``ValidationError``) or in the
  database (SQLite: an integer beyond 64 bits). Each value is read by the
  model's primary key (``to_python``), as the change page reads its URL's
  id; one that names no row (``-1``) is left to the action, which finds
  nothing to do.

Checked in ``admin_view``, which wraps every view of the site: every
``ModelAdmin`` of every app (``uploads``' and Django's own included, with
nothing to remember for the next one), the autocomplete, the history and
delete pages. The ids are checked once the admin has let the user in (an
anonymous POST is sent to the login page, as ever); the model is the one of
the ``ModelAdmin`` whose view it is. Installed as the default site
(``ProjectAdminConfig``), so ``admin.site`` and ``@admin.register`` are
this one.

Its login form checks one login per username at a time, as every login
path does (``inventory.logins``).
"""

from functools import wraps

from django.contrib import admin
from django.contrib.admin.apps import AdminConfig
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.core.exceptions import BadRequest, ValidationError


def has_nul(query):
    """Whether a name or a value of ``query`` (a ``QueryDict``) holds a NUL."""
    return any(
        "\x00" in key or any("\x00" in value for value in values) for key, values in query.lists()
    )


def key_field(model):
    """The field whose values ``model``'s primary key holds: the parent's
    key for a child of multi-table inheritance."""
    field = model._meta.pk
    while field.is_relation:
        field = field.target_field
    return field


def is_key_of(model, value):
    """Whether ``value`` (a string) could be the primary key of a row of
    ``model``: what its field reads, within its column's range (the
    field's own validators, as ``uploads.statements.object_by_pk`` reads
    an id)."""
    if "\x00" in value:
        return False
    field = key_field(model)
    try:
        field.run_validators(field.to_python(value))
    except (ValidationError, ValueError, TypeError):
        return False
    return True


def refuse_bad_selection(request, model_admin):
    """A changelist action's selected ids, read by the model's key."""
    if request.method != "POST" or not isinstance(model_admin, admin.ModelAdmin):
        return
    selected = request.POST.getlist(ACTION_CHECKBOX_NAME)
    if not all(is_key_of(model_admin.model, value) for value in selected):
        raise BadRequest("A selected id that is no id of the model.")


class ProjectAdminSite(admin.AdminSite):
    @property
    def login_form(self):
        """Django's admin login form, authenticating one login per username
        at a time (``inventory.logins``); imported here, as this module is
        imported before the models are loaded."""
        from inventory.logins import AdminLoginForm

        return AdminLoginForm

    def admin_view(self, view, cacheable=False):
        # A ModelAdmin's views reach here as its bound methods.
        model_admin = getattr(view, "__self__", None)

        @wraps(view)
        def selection_checked(request, *args, **kwargs):
            refuse_bad_selection(request, model_admin)
            return view(request, *args, **kwargs)

        checked = super().admin_view(selection_checked, cacheable)

        @wraps(checked)
        def refuse_nul(request, *args, **kwargs):
            if has_nul(request.GET):
                raise BadRequest("A NUL in the query string.")
            return checked(request, *args, **kwargs)

        return refuse_nul


class ProjectAdminConfig(AdminConfig):
    default_site = "project.admin.ProjectAdminSite"
