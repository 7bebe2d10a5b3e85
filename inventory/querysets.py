"""Which rows a user reaches, said once per model, so that the pages, the
API, the admin and the upload targets filter alike:
``Product.objects.visible_to(user, site)``.

"Visible" is ``inventory.permissions``' site scoping (``in_own_site``): a
row outside it is not found on any path, whatever id a user sends. Whether
the user may then see, change or delete a visible row is the permission
(``can_act_on_products``, ``can_manage_site``): refusing that is a 403, not
a 404, so the two stay apart.
"""

from django.db import models
from django.db.models import Q

from inventory.search import (
    admin_word,
    distinct_terms,
    is_too_long,
    read_words,
    search_beginning,
)


class SiteScopedQuerySet(models.QuerySet):
    #: The lookup that names a row's site.
    site_field = None

    def visible_to(self, user, site=None):
        """The rows ``user`` reaches: their own site's, every site's for a
        superuser; only those of ``site`` when given (the site a request
        acts on, ``inventory.sites.acting_site``), and none if ``user`` does
        not reach ``site``."""
        # Imported here: the permissions import the auth backends, which
        # need the user model, which is defined next to these querysets.
        from inventory.permissions import in_own_site_rows

        rows = in_own_site_rows(user, self, self.site_field)
        if site is not None:
            rows = rows.filter(**{self.site_field: site.pk})
        return rows


class ConfigurationQuerySet(SiteScopedQuerySet):
    site_field = "pk"


class ProductQuerySet(SiteScopedQuerySet):
    site_field = "site_configuration"

    def search(self, text):
        """The products whose name or CUG holds every word of ``text``, in
        any case: what the pages' search box and the API's ``?search=``
        find alike ("riz 25" finds "Riz parfumé 25 kg"). Words are apart by
        spaces or commas, and "quoted words" are one, as the admin's search
        reads them; a word said again is searched once (``distinct_terms``).
        A search longer than ``inventory.search`` allows is searched by its
        beginning (the API refuses it before). No name or CUG holds a NUL,
        which PostgreSQL refuses in a parameter, nor a word longer than
        itself, a pattern longer than SQLite takes past 50,000 bytes: such
        a search finds nothing."""
        terms = distinct_terms(search_beginning(text, search_terms))
        longest = max(self.model._meta.get_field(name).max_length for name in ("name", "cug"))
        if "\x00" in text or any(len(term) > longest for term in terms):
            return self.none()
        # In one filter(): one a word copied the query each time.
        return self.filter(*[Q(name__icontains=term) | Q(cug__icontains=term) for term in terms])


def search_terms(text, limit=None):
    """The words of a product search, one at a time, as Django's admin
    splits them, and at commas too: each is a condition. ``limit`` as
    ``inventory.search.read_words``'."""
    return read_words(text.replace(",", " "), product_word, limit)


def product_word(bit):
    """A word of a product search, as the admin reads it (``admin_word``)
    but for a lone quote, which is a word here, or ``None`` for a blank
    one, which is no condition."""
    word = bit if len(bit) == 1 else admin_word(bit)
    return word if word.strip() else None


def search_too_long(text):
    """Whether a product search is longer than ``inventory.search``
    allows, its words counted as the search splits them."""
    return is_too_long(text, search_terms(text))
