"""The project's admin site: Django's, whose admins of models that know no
site are for superusers alone, and which refuses as a bad request (400)
what no admin page could have sent and the database would fail on (a 500).

- **An admin that knows no site.** A site's staff must see nothing of
  another site, and only superusers give permissions. The admins of
  ``inventory`` and ``uploads`` show anyone but a superuser their own
  site's rows (``site_scoped = True``); any other admin (Django's groups,
  DRF's tokens, django-tasks' results, django-axes' records, and whatever
  a package registers next) holds every site's rows, or permissions
  themselves: staff given its permissions would read every user's API key,
  or give their own group what they lack. Registered here, such an admin
  refuses everyone but superusers (``SuperusersOnly``), whatever
  permissions they hold.
- **A NUL in a query string or a path.** The admin hands a changelist's
  query parameters to the database as lookups (``?kind=``, ``?name=``: any
  field of the model, list filter or not), the autocomplete's ``term`` as
  a search, and the ids of its paths as keys (``/admin/r/<content
  type>/<id>/``, its "view on site" redirect, reads a row of any model, a
  session's by its text key, for any staff member). PostgreSQL refuses a
  NUL in a text parameter. No lookup, search or id of the admin can hold a
  NUL (nor can any field of the project: form fields refuse it).
- **A changelist lookup the database fails on.** Django's admin lets a
  changelist's query string filter any field of the model with any lookup
  (``?quantity__range=1``, ``?name__regex=(``, ``?created_at__year=`` a
  huge year), and applies it as the query runs, past the point where it
  turns a bad lookup into its "?e=1" page: a 500, on PostgreSQL too. A
  query parameter that names a field may use only the lookups the admin's
  filters send and a person types (``QUERY_LOOKUPS``, as Django defines
  them: not a JSONField's ``contains``, a containment SQLite cannot run):
  not ``range`` (the admin passes its one string, whose characters became
  the bounds), the regular expressions (the database parses them) nor
  transforms, but those of the ``date_hierarchy``, whose values the admin
  reads itself. Parameters that name no field (the changelist's own, a
  ``SimpleListFilter``'s) are left to the admin, as are values it reads
  itself (``abc`` for an integer: "?e=1"). A decimal is compared only with
  numbers its column could hold (``?price=1e99999999`` overflows
  PostgreSQL's ``numeric``); an integer beyond its column's range names no
  row (``project.lookups``). A list filter of another package whose
  parameters name a field with another lookup (``created_at__range__gte``)
  would be refused too: none is installed.
- **A search no person types**: a changelist's ``q`` or the
  autocomplete's ``term`` longer than every search of the project may be
  (``inventory.search``: words as Django's admin splits them, and
  characters). Each word is a condition on every search field: on SQLite
  a thousand nest the query past its depth (1,000), and a word of 50,000
  bytes is longer than its ``LIKE`` takes. The page says why, in the
  admin's look, and links to the same page without the search.
  Within the limits, a word said again is one condition
  (``DistinctSearchTerms``, added to every admin as it is registered).
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

from datetime import MAXYEAR, MINYEAR
from functools import wraps

from django.contrib import admin
from django.contrib.admin.apps import AdminConfig
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.contrib.admin.views.main import SEARCH_VAR
from django.core.exceptions import BadRequest, FieldDoesNotExist, ValidationError
from django.db import transaction
from django.db.models import DecimalField, Field
from django.db.models.constants import LOOKUP_SEP
from django.shortcuts import render

from inventory.search import (
    SEARCH_TOO_LONG_TITLE,
    distinct_terms,
    is_too_long,
    read_words,
    too_long_message,
)

#: The lookups a changelist's query string may use on a field: those of the
#: admin's filters (``exact``, ``isnull``, ``gte``, ``lt``) and a person's.
QUERY_LOOKUPS = {
    "exact",
    "iexact",
    "contains",
    "icontains",
    "startswith",
    "istartswith",
    "endswith",
    "iendswith",
    "gt",
    "gte",
    "lt",
    "lte",
    "in",
    "isnull",
}
#: The lookups among them that compare with values of the field's own type.
COMPARISONS = {"exact", "gt", "gte", "lt", "lte", "in"}
#: The query parameter of each view's search.
SEARCH_PARAMETERS = {"changelist_view": SEARCH_VAR, "autocomplete_view": "term"}


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


def holds(field, value):
    """Whether ``field``'s column could hold ``value`` (a string), as the
    field's own validators say (an integer's range, a decimal's digits and
    places), as ``uploads.statements.object_by_pk`` reads an id; ``None``
    when the field cannot even read it."""
    try:
        number = field.to_python(value)
    except (ValidationError, ValueError, TypeError):
        return None
    try:
        field.run_validators(number)
    except (ValidationError, ValueError, TypeError):
        return False
    return True


def is_key_of(model, value):
    """Whether ``value`` (a string) could be the primary key of a row of
    ``model``: what its field reads, within its column's range."""
    return "\x00" not in value and holds(key_field(model), value) is True


def filtered_field(model, name):
    """The field a changelist's query parameter ``name`` filters (a
    relation's, for ``site_configuration=3``) and the parts of ``name``
    after its path: ``(None, ...)`` when ``name`` names no field."""
    field, opts, parts = None, model._meta, name.split(LOOKUP_SEP)
    while parts:
        try:
            field = opts.get_field(parts[0])
        except FieldDoesNotExist:
            break
        parts.pop(0)
        if field.related_model is None:
            break
        opts = field.related_model._meta
    return field, parts


def is_date_part(value, *, year):
    """Whether the admin can read ``value`` as a ``date_hierarchy``'s year,
    month or day. It refuses a date no calendar holds itself ("?e=1"), but
    not a number too large for one (``OverflowError``), nor a year at either
    end of the calendar, past which it reckons the period's end or its time
    zone moves it (``ValueError``, ``OverflowError``): a 500."""
    if not (value.isascii() and value.isdigit() and len(value) <= 4):
        return False
    return not year or MINYEAR < int(value) < MAXYEAR


def is_usable_lookup(model_admin, name, values):
    """Whether a changelist's query parameter ``name`` with ``values``
    filters in a way the database can run."""
    hierarchy = model_admin.date_hierarchy
    if hierarchy and name in {f"{hierarchy}__{part}" for part in ("year", "month", "day")}:
        return all(is_date_part(value, year=name == f"{hierarchy}__year") for value in values)
    field, lookups = filtered_field(model_admin.model, name)
    if field is None:
        return True  # the changelist's own parameter, or a filter's
    lookup = lookups[0] if lookups else "exact"
    lookup_class = field.get_lookup(lookup)
    if lookup_class is None:
        # A transform, or a filter's own (isempty) or what the admin
        # refuses ("?e=1"), left to it.
        return field.get_transform(lookup) is None
    # Django's lookup of that name or one built on it: a field may give the
    # name to another (a JSONField's contains is containment, which SQLite
    # cannot run).
    if lookup not in QUERY_LOOKUPS or not issubclass(lookup_class, Field.get_lookups()[lookup]):
        return False
    if isinstance(field, DecimalField) and lookup in COMPARISONS:
        if lookup == "in":
            values = [item for value in values for item in value.split(",")]
        # PostgreSQL fails on a number beyond its own numeric (1e99999999);
        # what the field cannot read at all is the admin's "?e=1".
        return all(holds(field, value) is not False for value in values)
    return True


def refuse_bad_lookups(request, model_admin, view):
    """A changelist's query-string lookups, checked before the admin runs them."""
    if getattr(view, "__name__", None) != "changelist_view":
        return
    if not isinstance(model_admin, admin.ModelAdmin):
        return
    for name, values in request.GET.lists():
        if not is_usable_lookup(model_admin, name, values):
            raise BadRequest(f"A changelist lookup the database cannot run: {name}.")


def long_search_refusal(site, request, view):
    """The answer to a changelist's or the autocomplete's search longer
    than ``inventory.search`` allows, or ``None``: a 400 page saying why,
    which links to the same page without the search (the changelist with
    its filters). Not a ``BadRequest``: ``handler400`` says only "Bad
    Request", and staff would not know what to change."""
    parameter = SEARCH_PARAMETERS.get(getattr(view, "__name__", None))
    if parameter is None or not any(is_too_long(text) for text in request.GET.getlist(parameter)):
        return None
    query = request.GET.copy()
    query.pop(parameter)
    context = {
        **site.each_context(request),
        "title": SEARCH_TOO_LONG_TITLE,
        "message": too_long_message(),
        "back": f"{request.path}?{query.urlencode()}" if query else request.path,
    }
    return render(request, "admin/search_too_long.html", context, status=400)


def refuse_bad_selection(request, model_admin):
    """A changelist action's selected ids, read by the model's key."""
    if request.method != "POST" or not isinstance(model_admin, admin.ModelAdmin):
        return
    selected = request.POST.getlist(ACTION_CHECKBOX_NAME)
    if not all(is_key_of(model_admin.model, value) for value in selected):
        raise BadRequest("A selected id that is no id of the model.")


class SuperusersOnly:
    """A ``ModelAdmin`` for superusers alone: nothing of it is offered to
    anyone else (not its app on the index, nor its autocomplete)."""

    def has_module_permission(self, request):
        return request.user.is_superuser and super().has_module_permission(request)

    def has_view_permission(self, request, obj=None):
        return request.user.is_superuser and super().has_view_permission(request, obj)

    def has_add_permission(self, request, *args):
        return request.user.is_superuser and super().has_add_permission(request, *args)

    def has_change_permission(self, request, obj=None):
        return request.user.is_superuser and super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        return request.user.is_superuser and super().has_delete_permission(request, obj)


#: The lookups of a search field named with one (``name__iexact``) that
#: ignore the case of ASCII letters, as the admin's own do (``icontains``,
#: and those of ``^``, ``=`` and ``@``).
CASELESS_LOOKUPS = {"iexact", "icontains", "istartswith", "iendswith", "iregex", "search"}


def ignores_case(search_field):
    """Whether the admin's search on ``search_field`` ignores the case of
    ASCII letters: with its own lookups, yes; with one the field names,
    only if it is one of ``CASELESS_LOOKUPS`` (``name__exact`` minds it).
    The last part of a path is a lookup if Django defines one of that
    name: a field so named is taken as one, which only keeps words that
    differ by their case apart."""
    if search_field[:1] in ("^", "=", "@"):
        return True
    last = search_field.rsplit(LOOKUP_SEP, 1)[-1]
    return last in CASELESS_LOOKUPS or last not in Field.get_lookups()


def quoted(word):
    """``word`` as a quoted phrase, which the admin reads back as ``word``
    (``smart_split`` keeps it one, ``unescape_string_literal`` takes the
    quotes and escapes off), whatever spaces, quotes or backslashes it
    holds."""
    escaped = word.replace("\\", "\\\\").replace('"', '\\"')
    return f'"{escaped}"'


class DistinctSearchTerms:
    """A ``ModelAdmin`` whose search (the changelist's and the
    autocomplete's) makes one condition of a word said again, as the
    products' search does (``inventory.search.distinct_terms``): each word
    is a condition on every search field, twenty times "e" was twenty
    times the same one. Django's admin reads the search that is left as
    it read the one typed: the words are written again as quoted phrases
    (``quoted``). The changelist shows what was typed."""

    def get_search_results(self, request, queryset, search_term):
        ignore_case = all(ignores_case(str(field)) for field in self.get_search_fields(request))
        words = distinct_terms(read_words(search_term), ignore_case=ignore_case)
        search_term = " ".join(quoted(word) for word in words)
        return super().get_search_results(request, queryset, search_term)


def for_the_project(admin_class):
    """``admin_class`` with what the project adds to every admin: a
    search that makes one condition of a word said again
    (``DistinctSearchTerms``) and, unless it shows a site's staff their
    own site's rows alone (``site_scoped``), for superusers only. What a
    class has already (one taken back from the registry and registered
    again, or a subclass of it) is not added again: wrapped twice, it has
    no method resolution order Python can make."""
    mixins = []
    if not (getattr(admin_class, "site_scoped", False) or issubclass(admin_class, SuperusersOnly)):
        mixins.append(SuperusersOnly)
    if not issubclass(admin_class, DistinctSearchTerms):
        mixins.append(DistinctSearchTerms)
    if not mixins:
        return admin_class
    attributes = {"__module__": admin_class.__module__, "__qualname__": admin_class.__qualname__}
    return type(admin_class.__name__, (*mixins, admin_class), attributes)


class ProjectAdminSite(admin.AdminSite):
    def register(self, model_or_iterable, admin_class=None, **options):
        admin_class = for_the_project(admin_class or admin.ModelAdmin)
        super().register(model_or_iterable, admin_class, **options)

    @property
    def login_form(self):
        """Django's admin login form, authenticating one login per username
        at a time (``inventory.logins``); imported here, as this module is
        imported before the models are loaded."""
        from inventory.logins import AdminLoginForm

        return AdminLoginForm

    def logout(self, request, extra_context=None):
        """Django's, in one transaction, as the pages' logout: a logout
        refused (``project.sessions``) leaves no record of one."""
        with transaction.atomic():
            return super().logout(request, extra_context)

    def admin_view(self, view, cacheable=False):
        # A ModelAdmin's views reach here as its bound methods.
        model_admin = getattr(view, "__self__", None)

        @wraps(view)
        def selection_checked(request, *args, **kwargs):
            refuse_bad_selection(request, model_admin)
            refuse_bad_lookups(request, model_admin, view)
            return long_search_refusal(self, request, view) or view(request, *args, **kwargs)

        checked = super().admin_view(selection_checked, cacheable)

        @wraps(checked)
        def refuse_nul(request, *args, **kwargs):
            if "\x00" in request.path or has_nul(request.GET):
                raise BadRequest("A NUL in the path or the query string.")
            return checked(request, *args, **kwargs)

        return refuse_nul


class ProjectAdminConfig(AdminConfig):
    default_site = "project.admin.ProjectAdminSite"
