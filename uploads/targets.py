"""
Upload targets: what a kind of upload attaches to.

``uploads`` knows nothing of the models it serves. An app declares each
target by subclassing ``UploadTarget`` (model, field, key folder, limits, who
may see which objects) and registering an instance, usually from its
``AppConfig.ready()``::

    register(ProductImageTarget())

The services then issue, inspect and attach for any registered kind.
"""

import posixpath
from functools import partial

from django.core.exceptions import ValidationError
from django.db.models import Q, Value
from django.db.models.functions import StrIndex
from django.db.models.lookups import GreaterThan
from django.db.models.signals import post_delete
from django.utils.translation import gettext_lazy as _

from uploads.conf import upload_settings
from uploads.errors import NotFound, PermissionDenied

CONTENT_TYPES = {
    # content type: (Pillow format, key extension)
    "image/jpeg": ("JPEG", "jpg"),
    "image/png": ("PNG", "png"),
    "image/webp": ("WEBP", "webp"),
}


class UploadTarget:
    #: The ``kind`` clients name in a ticket request.
    kind = None
    #: The model and the ``FileField`` the upload attaches to.
    model = None
    field_name = None
    #: The folder inside the site's folder: ``media/sites/<site>/<folder>/``.
    folder = None
    #: The model field that holds an object's site id (``"pk"``: the object
    #: is the site), read by the default ``get_site_id``. A target that
    #: names one lets confirm attach in one statement on PostgreSQL
    #: (``uploads.attachment``); one that only overrides ``get_site_id``
    #: attaches in a transaction.
    site_field = None
    #: Accepted content types (a subset of ``CONTENT_TYPES``).
    content_types = tuple(CONTENT_TYPES)
    #: Limits; ``None`` means the ``UPLOADS`` default.
    max_size = None
    max_pixels = None
    max_side = None
    #: Whether a file may be uploaded for an object not created yet, to be
    #: attached by the save that creates it (``get_new_object_site_id``).
    new_objects = False
    #: The renditions made of each image (``uploads.renditions.RenditionSpec``
    #: tuple); ``None`` means ``DEFAULT_RENDITIONS``.
    renditions = None
    #: What people call an object of this kind, in the sentences the admin
    #: shows (lazy, translated); ``None`` means the model's ``verbose_name``.
    #: ``kind`` is an identifier for clients, in English whatever the page's
    #: language.
    verbose_name = None

    def get_verbose_name(self):
        return self.verbose_name or self.model._meta.verbose_name

    def get_max_size(self):
        return self.max_size or upload_settings.MAX_SIZE

    def get_max_pixels(self):
        return self.max_pixels or upload_settings.MAX_PIXELS

    def get_max_side(self):
        return self.max_side or upload_settings.MAX_SIDE

    def get_renditions(self):
        from uploads.renditions import DEFAULT_RENDITIONS

        return self.renditions or DEFAULT_RENDITIONS

    def get_queryset(self, user):
        """The objects ``user`` may upload to; others are reported as not
        found, so that their existence is never revealed."""
        raise NotImplementedError

    def get_site_id(self, obj):
        """The site whose folder holds ``obj``'s files."""
        if self.site_field is None:
            raise NotImplementedError
        if self.site_field == "pk":
            return obj.pk
        return getattr(obj, self.model._meta.get_field(self.site_field).attname)

    def has_permission(self, user, obj):
        """Whether ``user``, who can see ``obj``, may change its file."""
        return True

    def get_default_object_id(self, user):
        """The object used when a request names none; ``None`` if the kind
        requires one."""
        return None

    def get_new_object_site_id(self, user, site_id):
        """The site whose folder holds the file of an object ``user`` is
        creating for the site ``site_id`` (a photo picked on an add form,
        attached by the save that creates the object), or ``NotFound`` or
        ``PermissionDenied``. ``site_id`` is the site the request acts for
        (``uploads.sites.get_request_site_id``), or the ticket's when its
        upload is attached: a site the user may not create objects of must
        be refused here, whoever named it. Kinds whose objects are never
        created with their file refuse."""
        raise NotFound(_("Name the object to attach the image to."))

    def get_object(self, user, object_id, *, lock=False):
        """The object ``user`` may upload to, or ``NotFound`` or
        ``PermissionDenied``."""
        if object_id is None:
            object_id = self.get_default_object_id(user)
        if object_id is None:
            raise NotFound(_("Name the object to attach the image to."))
        try:
            obj = self.find_object(user, object_id, lock=lock)
        except (ValueError, TypeError, ValidationError):
            obj = None  # not an id of this model
        if obj is None:
            raise NotFound()
        if not self.has_permission(user, obj):
            raise PermissionDenied()
        return obj

    def find_object(self, user, object_id, *, lock=False):
        """The object ``object_id`` among ``get_queryset(user)``, its row
        locked with ``lock``, or ``None``; ``ValueError``, ``TypeError`` or
        ``ValidationError`` for an id that is not one of the model's.

        A ticket and a confirm each ask, and building and compiling the
        queryset is about a tenth of a ticket's CPU (issue 17). A target
        that can say of one row whether ``user`` sees it may read the row
        by id alone, with a statement written once
        (``uploads.statements.object_by_pk``), and check it; the answer
        must be the queryset's."""
        queryset = self.get_queryset(user)
        if lock:
            queryset = queryset.select_for_update()
        try:
            return queryset.get(pk=object_id)
        except self.model.DoesNotExist:
            return None

    def __repr__(self):
        return f"<{type(self).__name__} kind={self.kind!r}>"


_registry = {}


def register(target):
    if not target.kind or target.model is None or not target.field_name or not target.folder:
        raise ValueError(f"{target!r} must declare kind, model, field_name and folder.")
    unknown = set(target.content_types) - set(CONTENT_TYPES)
    if unknown:
        raise ValueError(f"{target!r} declares unsupported content types {sorted(unknown)}.")
    _registry[target.kind] = target
    post_delete.connect(
        partial(delete_file_of_deleted_object, target),
        sender=target.model,
        weak=False,
        dispatch_uid=f"uploads.targets:{target.kind}",
    )
    return target


def delete_file_of_deleted_object(target, sender, instance, **kwargs):
    """An object deleted by any path (the API, the admin, a cascade from its
    site, the shell) leaves no file behind: the file and its renditions are
    recorded for deletion with the row, and deleted once that commits
    (uploads.deletions), so a rolled-back delete keeps them and a store that
    is down loses nothing. A file outside the object's site folder is not
    its own to delete (``uploads.keys.in_site_folder``).

    Whether another row names it (``names_in_use``) is asked by the delete,
    in the worker, for all its keys at once: asked here, it read the table
    once per object deleted, and a site's cascade of 2,000 products took 6
    times as long. Its renditions' set is likewise forgotten by the worker,
    once the image is deleted (``renditions.forget_deleted``), as a
    replaced image's is."""
    name = getattr(instance, target.field_name).name
    if not name:
        return
    from uploads import deletions, renditions
    from uploads.models import PendingDeletion

    site_id, reason = target.get_site_id(instance), PendingDeletion.Reason.OWNER_DELETED
    deletions.schedule(renditions.own_image_keys(name, site_id, target.kind, reason))


def names_in_use(names):
    """Those of ``names`` (relative to the media root) that a row of a
    registered target names: images no change to another row deletes.

    Each row has a file of its own, as confirm and the import give them,
    but a row may come to name another's: a copy the first release of
    ``migrate_images_to_multisite`` gave several rows, or a row edited
    by hand. Deleting a row's old image when another still names it
    would lose that other's photo, so each deletion of an image asks
    here first, once the change that left it has committed: in the worker
    or ``purge_uploads`` (``uploads.deletions.keys_in_use``), never on
    confirm's path.

    A row names a file in whatever spelling the media storages resolve to
    it (``./``, ``//``, ``a/../``, backslashes, a leading ``/`` or
    ``media/``: ``stored_names``). Every such spelling holds the file's
    last part as it is, so the rows read are those holding it, and their
    names are resolved here.

    Holding, as ``STRPOS``/``INSTR`` say (``StrIndex``): a read of every
    row, which no index serves, and ``LIKE '%part%'`` (``contains``) took
    six times as long (100,000 products: 62 against 11 ms on PostgreSQL,
    72 against 16 on SQLite); it is also case-sensitive, as names are."""
    names = {name for name in names if name}
    parts = sorted({name.rpartition("/")[2] for name in names})
    used = set()
    for target in _registry.values():
        field = target.field_name
        for start in range(0, len(parts), 100):
            holding = Q()
            for part in parts[start : start + 100]:
                holding |= Q(GreaterThan(StrIndex(field, Value(part)), 0))
            rows = target.model._base_manager.filter(holding).order_by()
            for value in rows.values_list(field, flat=True).iterator():
                used |= stored_names(value) & names
    return used


def stored_names(name):
    """The names, relative to the media root, of the file the media
    storages resolve ``name`` to (``uploads.media``): backslashes are
    slashes, a leading ``/`` and ``media/`` go, ``.``, ``..`` and ``//``
    are resolved; the bucket's storage resolves ``..`` before it drops
    ``media/``, the disk's after, hence up to two."""
    from uploads.keys import resolved_name

    return {resolved_name(name), resolved_name(posixpath.normpath(name))}


def get_target(kind):
    try:
        return _registry[kind]
    except KeyError:
        raise LookupError(f"No upload target for kind {kind!r}.") from None


def kind_name(kind):
    """What people call an object of ``kind``, in the current language
    (``UploadTarget.get_verbose_name``); the kind itself if no target
    declares it any more (a ticket of a kind since removed)."""
    try:
        return get_target(kind).get_verbose_name()
    except LookupError:
        return kind


def get_targets():
    return dict(_registry)
