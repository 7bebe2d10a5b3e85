"""
Which site a user works for: the one question ``uploads`` asks its project
about users.

``uploads`` has no model of sites; the project names a function in
``UPLOADS["SITE_RESOLVER"]`` (``f(user) -> site id or None``), imported once
with the settings (``uploads.conf``), not on every call. Without one, a
user's ``site_id`` attribute is used.
"""

from uploads.conf import upload_settings


def get_user_site_id(user):
    """The site ``user`` works for, or ``None`` (the shared ``default``
    folder)."""
    resolver = upload_settings.SITE_RESOLVER
    if resolver is not None:
        return resolver(user)
    return getattr(user, "site_id", None)
