"""Migrations the compatibility test must refuse (test_migrations_backward_compatible.py):
a new table, then a NOT NULL column added to it with no database default."""
