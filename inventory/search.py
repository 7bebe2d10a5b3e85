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

import string
from itertools import islice

from django.utils.formats import number_format
from django.utils.functional import lazy
from django.utils.text import smart_split, unescape_string_literal
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

#: The most words a search holds, as its reader splits them.
SEARCH_MAX_WORDS = 20
#: The most characters a search holds.
SEARCH_MAX_CHARACTERS = 2000

SEARCH_TOO_LONG_TITLE = _("Search too long")


def admin_word(bit):
    """A word of a search as Django's admin reads it
    (``ModelAdmin.get_search_results``) from ``bit``, as ``smart_split``
    cut it: a quoted phrase without its quotes."""
    if bit.startswith(('"', "'")) and bit[0] == bit[-1]:
        return unescape_string_literal(bit)
    return bit


def read_words(text, read=admin_word, limit=None):
    """The words of a search ``text``, one at a time: ``smart_split``
    cuts them apart (at whitespace; a "quoted phrase" is one) and
    ``read`` (by default ``admin_word``) makes each a word, or ``None``
    for one that is no condition. With a ``limit``, only what is within
    the first ``limit`` characters of ``text``: the word that goes on past
    it is read from its beginning (``cut_word``), as the whole ``text``
    cuts it, and none after it is read."""
    end = 0
    for bit in smart_split(text):
        # smart_split skips whitespace alone: the word is the first of its
        # kind from the end of the last one.
        start = text.index(bit, end)
        end = start + len(bit)
        if limit is not None and start >= limit:
            return
        if limit is not None and end > limit:
            bit = cut_word(bit, limit - start)
        word = None if bit is None else read(bit)
        if word is not None:
            yield word


def cut_word(bit, length):
    """``bit`` (a word as ``smart_split`` cut it) cut after ``length``
    characters, written so that its reader reads the beginning of what it
    reads of the whole, or ``None`` when nothing of it is left. A quoted
    phrase stays one, closed by its quote, without the half of an escape
    (a backslash) the cut left: cut inside the text, ``"riz parfumé"``
    was two words, ``"riz`` and ``parf``, the first with a quote no name
    holds. Any other word, read as written, is not closed by the cut
    (``"riz"25`` cut after ``"riz"`` is ``"riz``, not the phrase
    ``riz``)."""
    beginning = bit[:length]
    quote = bit[0]
    if quote not in "\"'":
        return beginning
    if len(bit) > 1 and bit[-1] == quote:
        backslashes = len(beginning) - len(beginning.rstrip("\\"))
        return beginning[: len(beginning) - backslashes % 2] + quote
    return beginning.rstrip(quote) or None


def is_too_long(text, words=None):
    """Whether a search is longer than the limits: ``text`` past
    ``SEARCH_MAX_CHARACTERS``, or ``words`` (an iterable of its words as
    its reader reads them; by default the admin's, ``read_words``) past
    ``SEARCH_MAX_WORDS``. Reads no word past the limit: a search of a
    million words costs what one at the limit does."""
    if len(text) > SEARCH_MAX_CHARACTERS:
        return True
    words = read_words(text) if words is None else words
    return next(islice(words, SEARCH_MAX_WORDS, None), None) is not None


def search_beginning(text, split):
    """The words of ``text`` that are searched: the first
    ``SEARCH_MAX_WORDS`` of those within its first
    ``SEARCH_MAX_CHARACTERS``, as ``split`` (a function of a text and a
    limit of characters, as ``read_words``) reads them; all of them, for
    a search within the limits. A word is read as in the whole search: a
    quoted phrase the limit cuts is searched by its beginning, as a word
    of letters is, each finding every product the whole would."""
    return list(islice(split(text, limit=SEARCH_MAX_CHARACTERS), SEARCH_MAX_WORDS))


#: Upper to lower case, for ASCII letters alone: every database's
#: ``icontains`` ignores their case, not always that of other letters
#: (SQLite's ``LIKE``).
ASCII_LOWER = str.maketrans(string.ascii_uppercase, string.ascii_lowercase)


def distinct_terms(terms, *, ignore_case=True):
    """``terms`` without the words said again, in any case of their ASCII
    letters unless the search minds their case (``ignore_case=False``).
    Each is a condition on every row searched, and one word a hundred
    times ("e E e ...", within the limits) was a hundred times the same
    one: 25 times the CPU of that word alone. Said again, a word finds
    nothing more."""
    distinct = {}
    for term in terms:
        distinct.setdefault(term.translate(ASCII_LOWER) if ignore_case else term, term)
    return list(distinct.values())


def too_long_message():
    """What a search too long is told, with the limits in the reader's
    language and its way of writing numbers ("2 000" in French)."""
    return gettext("A search holds at most %(words)s words and %(characters)s characters.") % {
        "words": number_format(SEARCH_MAX_WORDS, force_grouping=True),
        "characters": number_format(SEARCH_MAX_CHARACTERS, force_grouping=True),
    }


#: The same, read when shown (the schema's example).
SEARCH_TOO_LONG_MESSAGE = lazy(too_long_message, str)()
