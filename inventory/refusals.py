"""Pages that refuse a request for a while, and say until when.

A locked-out login (``inventory.logins``) and a change the shared cache
cannot take (``CacheRefusalMiddleware``) are answered the same way: a page
in the user's language saying what happened, with ``Retry-After``, in the
admin's look under /admin/ and the pages' own elsewhere, each with a link
back.
"""

import logging
import math

from django.conf import settings
from django.contrib import admin
from django.shortcuts import render, resolve_url
from django.urls import reverse
from django.utils.translation import gettext as _

import project.cache
from inventory.permission_cache import PermissionCacheUnavailable
from project.sessions import SessionCacheUnavailable

logger = logging.getLogger(__name__)


def in_admin(request):
    return request.path.startswith(reverse("admin:index"))


def refusal_page(request, *, status, retry_after, title, message, back, back_label, admin_template):
    """The page refusing ``request``: ``inventory/refused.html``, or under
    /admin/ ``admin_template`` with the admin's context, ``back`` the link's
    address and ``back_label`` its text."""
    context = {"title": title, "message": message, "back": back, "back_label": back_label}
    template = "inventory/refused.html"
    if in_admin(request):
        context = {**admin.site.each_context(request), **context}
        template = admin_template
    response = render(request, template, context, status=status)
    response["Retry-After"] = str(retry_after)
    return response


class CacheRefusalMiddleware:
    """What the shared cache must take and did not, refused with a 503 page
    rather than a 500: it says that nothing changed and to try again, with
    ``Retry-After`` the seconds for which each process skips a Redis that
    failed (``project.cache``).

    - A change of permissions (``inventory.permission_cache``): its
      transaction rolled back, nothing of the form was saved.
    - A logout, or a login over someone else's session
      (``project.sessions``): the session is left whole, still signed in.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exception):
        if isinstance(exception, PermissionCacheUnavailable):
            title = _("Permissions cannot change right now")
            message = _(
                "Permissions cannot be changed while the cache is unavailable; "
                "try again in a few seconds. Nothing was saved."
            )
            back, back_label = request.get_full_path(), _("Back to the page")
        elif isinstance(exception, SessionCacheUnavailable):
            title = _("You cannot sign in or out right now")
            message = _(
                "Signing in or out is not possible while the cache is unavailable; "
                "try again in a few seconds. You are still signed in as before."
            )
            home = reverse("admin:index") if in_admin(request) else settings.LOGIN_REDIRECT_URL
            back, back_label = resolve_url(home), _("Back to the home page")
        else:
            return None
        logger.warning("Refused while the cache is unavailable: %s", exception)
        return refusal_page(
            request,
            status=503,
            retry_after=math.ceil(project.cache.UNAVAILABLE_SECONDS),
            title=title,
            message=message,
            back=back,
            back_label=back_label,
            admin_template="admin/cache_unavailable.html",
        )
