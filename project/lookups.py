"""Lookups that keep an integer beyond its column's range from the database.

Django 5.0 stopped such a value in an integer field's ``exact``, ``gt``,
``gte``, ``lt`` and ``lte`` (ticket #27397): SQLite fails on it with
``OverflowError`` (a 500), and PostgreSQL compares the column as
``numeric``, which no index serves (a scan of the table). Not in ``in``,
nor in any lookup through a foreign key (``site_configuration=``,
``site_configuration__in=``), which are other classes. The admin's
changelist filters with any lookup its query string names
(``?id__in=1,99999999999999999999``), so each of those was a 500 on SQLite
and a full scan on PostgreSQL.

Here they answer as Django's own do: a value beyond the range names no row,
so ``exact`` matches nothing and ``gt`` below the range everything, and
``in`` leaves such a value out, as it leaves out ``None`` (an ``in`` left
empty matches nothing). Registered by ``ProjectConfig.ready()``.
"""

import copy

from django.core.exceptions import EmptyResultSet, FullResultSet
from django.db.models import ForeignObject, IntegerField
from django.db.models.expressions import ColPairs
from django.db.models.fields.related_lookups import (
    RelatedExact,
    RelatedGreaterThan,
    RelatedGreaterThanOrEqual,
    RelatedIn,
    RelatedLessThan,
    RelatedLessThanOrEqual,
)
from django.db.models.lookups import In


def integer_range(lhs, connection):
    """``(low, high)`` for the integer column ``lhs`` is (either bound may
    be None: no limit), the column a single-column foreign key points to
    for a relation, or None for any other column."""
    if isinstance(lhs, ColPairs):
        return None
    field = lhs.output_field
    while field.is_relation:
        field = field.target_field
    if not isinstance(field, IntegerField):
        return None
    return connection.ops.integer_field_range(field.get_internal_type())


def within(value, bounds):
    low, high = bounds
    return (low is None or value >= low) and (high is None or value <= high)


class RelatedIntegerOverflow:
    """Django's ``IntegerFieldOverflow`` for a foreign key, whose column's
    range is its target's."""

    underflow_exception = EmptyResultSet
    overflow_exception = EmptyResultSet

    def process_rhs(self, compiler, connection):
        bounds = integer_range(self.lhs, connection)
        if bounds is not None and isinstance(self.rhs, int) and not within(self.rhs, bounds):
            low, _ = bounds
            below = low is not None and self.rhs < low
            raise self.underflow_exception if below else self.overflow_exception
        return super().process_rhs(compiler, connection)


class IntegerWithinRangeIn:
    """``in``, the values beyond the column's range left out."""

    def process_rhs(self, compiler, connection):
        bounds = integer_range(self.lhs, connection)
        if bounds is None or not self.rhs_is_direct_value():
            return super().process_rhs(compiler, connection)
        lookup = copy.copy(self)
        lookup.rhs = [
            value for value in self.rhs if not isinstance(value, int) or within(value, bounds)
        ]
        return super(IntegerWithinRangeIn, lookup).process_rhs(compiler, connection)


class IntegerFieldIn(IntegerWithinRangeIn, In):
    pass


class RelatedIntegerIn(IntegerWithinRangeIn, RelatedIn):
    pass


class RelatedIntegerExact(RelatedIntegerOverflow, RelatedExact):
    pass


class RelatedIntegerGreaterThan(RelatedIntegerOverflow, RelatedGreaterThan):
    underflow_exception = FullResultSet


class RelatedIntegerGreaterThanOrEqual(RelatedIntegerOverflow, RelatedGreaterThanOrEqual):
    underflow_exception = FullResultSet


class RelatedIntegerLessThan(RelatedIntegerOverflow, RelatedLessThan):
    overflow_exception = FullResultSet


class RelatedIntegerLessThanOrEqual(RelatedIntegerOverflow, RelatedLessThanOrEqual):
    overflow_exception = FullResultSet


def register_lookups():
    IntegerField.register_lookup(IntegerFieldIn)
    for lookup in (
        RelatedIntegerIn,
        RelatedIntegerExact,
        RelatedIntegerGreaterThan,
        RelatedIntegerGreaterThanOrEqual,
        RelatedIntegerLessThan,
        RelatedIntegerLessThanOrEqual,
    ):
        ForeignObject.register_lookup(lookup)
