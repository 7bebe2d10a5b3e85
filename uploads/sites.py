"""
Which site a user works for, which one a request acts for, and what a site
is called: the questions ``uploads`` asks its project about sites.

``uploads`` has no model of sites; the project names a function in
``UPLOADS["SITE_RESOLVER"]`` (``f(user) -> site id or None``), imported once
with the settings (``uploads.conf``), not on every call. Without one, a
user's ``site_id`` attribute is used. A project whose users may act for
another site than their own (superusers choosing one) names
``UPLOADS["REQUEST_SITE_RESOLVER"]`` (``f(request) -> site id or None``).
``UPLOADS["SITE_NAMES"]``
(``f(site_ids) -> {site id: name}``) names sites for people (the admin);
without one, a site is shown by its id.
"""

from uploads.conf import upload_settings


def get_user_site_id(user):
    """The site ``user`` works for, or ``None`` (the shared ``default``
    folder)."""
    resolver = upload_settings.SITE_RESOLVER
    if resolver is not None:
        return resolver(user)
    return getattr(user, "site_id", None)


def get_request_site_id(request):
    """The site ``request`` acts for: where the file of an object its user
    creates goes. The project's answer (``REQUEST_SITE_RESOLVER``), which
    may read more than the user (a choice kept in the session); else the
    user's own site. Whether the user may act for it is the target's
    question (``UploadTarget.get_new_object_site_id``), not this one's."""
    resolver = upload_settings.REQUEST_SITE_RESOLVER
    if resolver is not None:
        return resolver(request)
    return get_user_site_id(request.user)


def get_site_names(site_ids):
    """``{site id: name}`` for ``site_ids``, in one call for a whole page of
    rows; a site the project does not name is shown by its id."""
    site_ids = {site_id for site_id in site_ids if site_id is not None}
    namer = upload_settings.SITE_NAMES
    names = dict(namer(site_ids)) if namer is not None and site_ids else {}
    return {site_id: names.get(site_id, str(site_id)) for site_id in site_ids}
