"""Pages that refuse a request for a while, and say until when.

A locked-out login (``inventory.logins``) and a change of permissions the
cache cannot take (``inventory.permission_cache``) are answered the same
way: a page in the user's language saying what happened, with
``Retry-After``, in the admin's look under /admin/ and the pages' own
elsewhere, each with a link back.
"""

from django.contrib import admin
from django.shortcuts import render
from django.urls import reverse


def refusal_page(request, *, status, retry_after, title, message, back, back_label, admin_template):
    """The page refusing ``request``: ``inventory/refused.html``, or under
    /admin/ ``admin_template`` with the admin's context, ``back`` the link's
    address and ``back_label`` its text."""
    context = {"title": title, "message": message, "back": back, "back_label": back_label}
    template = "inventory/refused.html"
    if request.path.startswith(reverse("admin:index")):
        context = {**admin.site.each_context(request), **context}
        template = admin_template
    response = render(request, template, context, status=status)
    response["Retry-After"] = str(retry_after)
    return response
