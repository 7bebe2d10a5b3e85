import json

from django import template
from django.templatetags.static import static
from django.utils.html import format_html
from django.utils.safestring import mark_safe

from inventory import sites
from inventory.models import Configuration
from inventory.permissions import can_manage_site

register = template.Library()

# As json_script does: nothing in the JSON can close the script element.
JSON_ESCAPES = {ord(">"): "\\u003E", ord("<"): "\\u003C", ord("&"): "\\u0026"}


@register.simple_tag
def upload_import_map():
    """The import map that lets the pages' scripts import "direct-upload".

    Static URLs may be presigned bucket URLs whose query strings hold "&":
    they are written as JSON, not HTML-escaped, or their signature breaks.
    """
    imports = {"direct-upload": static("snippets/direct-upload.js")}
    payload = json.dumps({"imports": imports}).translate(JSON_ESCAPES)
    return mark_safe(f'<script type="importmap">{payload}</script>')


@register.inclusion_tag("inventory/site_switcher.html", takes_context=True)
def site_switcher(context, site):
    """The header's site switcher, for superusers: they act on every site."""
    return {
        "site": site,
        "sites": Configuration.objects.all(),
        "csrf_token": context.get("csrf_token"),
    }


@register.simple_tag(takes_context=True)
def site_form_action(context, site):
    """The ``action`` of a page's form about ``site`` (``sites.form_action``)."""
    return sites.form_action(context["request"], site)


@register.simple_tag(takes_context=True)
def site_link(context, site, viewname, *args, **query):
    """The URL of the page ``viewname`` (with ``args`` and the non-empty
    values of ``query``) as a page showing ``site`` links to it: on that
    site (``sites.page_url``)."""
    return sites.page_url(context["request"], site, viewname, *args, **query)


@register.simple_tag(takes_context=True)
def site_field(context, site):
    """The hidden field by which a GET form of a page showing ``site`` (a
    search) stays on that site: a GET form drops its action's query."""
    site_id = sites.named_site_id(context["request"], site)
    if site_id is None:
        return ""
    return format_html('<input type="hidden" name="{}" value="{}">', sites.SITE_PARAM, site_id)


@register.filter
def may_manage(user, site):
    """Whether ``user`` may change ``site``'s settings (``inventory.permissions``)."""
    return can_manage_site(user, site)
