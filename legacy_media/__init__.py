"""
The import of the previous app's media into the per-site layout.

A one-off job of this project, not part of the reusable ``uploads`` app:
it knows where the old app left its files, and it keeps a journal of what
it moved (``MigratedSource``) that no other project needs. Once every site
has been migrated and ``--delete-source`` has run, the app can be removed
from ``INSTALLED_APPS`` (its table then stays behind, as Django leaves it).

- ``names``: how the old app's names map to places to look and to new names;
- ``stores``: where objects are read from and written to (the bucket, a
  folder), one class each whatever their role;
- ``plan``: what to move, the copies, the rows that follow, and the report;
- ``management/commands/migrate_images_to_multisite.py``: the command.

It reads and writes only through ``uploads``' public pieces: the registered
upload targets, the key layout, the upload backend's operations and the
media storage's client.
"""
