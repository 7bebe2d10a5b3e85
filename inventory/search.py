"""How long a search may be: one rule for every search of the project, the
products' of the pages and the API (``ProductQuerySet.search``) and the
admin's, of any model (``project.admin``).

Each word of a search is a condition on every field searched: two
thousand words (a 4 kB query string, within gunicorn's request line) took
about ten seconds of CPU a request on PostgreSQL, and nested a query past
SQLite's depth (1,000); a word of 50,000 bytes passed SQLite's longest
``LIKE`` pattern. Nor is a hundred words harmless: a hundred different
words (1,600 characters), built to match the names of 5,000 products a
member of staff made for them, took 1.8 s a search on PostgreSQL, twenty
0.46 s, one 28 ms.
A person searches with a few words, or pastes a name or an object's key
(``PendingDeletion``'s hold 1,024 characters): a search holds at most
``SEARCH_MAX_WORDS`` words and ``SEARCH_MAX_CHARACTERS`` characters. The
words are counted as their reader makes conditions of them (the
products' search splits at commas too).

What a longer search gets depends on who sent it:

- the pages' search box, a person on a phone: its beginning is searched
  (``search_beginning``), and the page says so. Refusing would cost a
  round trip on a slow link to show nothing; the first words find every
  product the whole search would, and maybe more.
- the API: a ``400 invalid``, under ``errors.search``. A client builds
  its query; answering another query than the one asked, with nothing
  to tell it, hides its bug, and the schema can say a refusal.
- the admin: a ``400`` page saying why. Staff read a changelist's count
  as the answer to what they typed; the limits are far above what a
  person types, so only a mistake or an attack meets them.
"""

from itertools import islice

from django.utils.formats import number_format
from django.utils.functional import lazy
from django.utils.text import smart_split
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

#: The most words a search holds, as its reader splits them.
SEARCH_MAX_WORDS = 20
#: The most characters a search holds.
SEARCH_MAX_CHARACTERS = 2000

SEARCH_TOO_LONG_TITLE = _("Search too long")


def is_too_long(text, words=None):
    """Whether a search is longer than the limits: ``text`` past
    ``SEARCH_MAX_CHARACTERS``, or ``words`` (an iterable of its words as
    its reader splits them; by default the admin's, Django's
    ``smart_split``) past ``SEARCH_MAX_WORDS``. Reads no word past the
    limit: a search of a million words costs what one at the limit does."""
    if len(text) > SEARCH_MAX_CHARACTERS:
        return True
    words = smart_split(text) if words is None else words
    return next(islice(words, SEARCH_MAX_WORDS, None), None) is not None


def search_beginning(text, split):
    """The words of ``text`` that are searched: ``split``'s (a function
    of a text, giving its words) first ``SEARCH_MAX_WORDS``, of its first
    ``SEARCH_MAX_CHARACTERS``; all of them, for a search within the limits."""
    return list(islice(split(text[:SEARCH_MAX_CHARACTERS]), SEARCH_MAX_WORDS))


def too_long_message():
    """What a search too long is told, with the limits in the reader's
    language and its way of writing numbers ("2 000" in French)."""
    return gettext("A search holds at most %(words)s words and %(characters)s characters.") % {
        "words": number_format(SEARCH_MAX_WORDS, force_grouping=True),
        "characters": number_format(SEARCH_MAX_CHARACTERS, force_grouping=True),
    }


#: The same, read when shown (the schema's example).
SEARCH_TOO_LONG_MESSAGE = lazy(too_long_message, str)()
