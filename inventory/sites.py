"""Which site a request acts on: one rule for the pages, the API and the admin.

Users act on their own site, always. Superusers act on every site, so they
say which: ``?site=<id>`` on a page or an API URL, for that request alone,
or a choice kept in the session, which only the pages' site chooser and
switcher change (``remember_site``, by a POST with its CSRF token). A page
showing a site names it in its links and forms (``page_url``), so that a
superuser who came to it by ``?site=`` goes on working on that site.
Everything of a site is then filtered by the site this module returns: a
site that it does not return is never reachable, whatever ids a user sends.
"""

from collections import Counter

from django.core.exceptions import ValidationError
from django.http import Http404
from django.urls import reverse
from django.utils.http import urlencode
from django.utils.translation import gettext as _

from inventory.models import Configuration
from uploads.errors import InvalidRequest, NotFound

#: The query parameter by which a superuser names the site to act on.
SITE_PARAM = "site"
#: The session key that holds a superuser's chosen site.
SESSION_KEY = "inventory_site_id"


def acting_site(request):
    """The site ``request`` acts on, or ``None`` when there is none yet.

    For anyone but a superuser, the user's own site: ``?site=`` and the
    session mean nothing to them, so naming another site reveals nothing.
    For a superuser: the site of ``?site=``, else the one chosen earlier in
    the session, else their own site, if they have one.

    ``?site=`` is never kept in the session: a GET changes nothing, and a
    link from another web site (which a top-level navigation follows with
    the session's cookie) would otherwise switch a superuser's site in
    silence, and their next pages, in other tabs, would act on that shop.

    Raises ``ValidationError`` for a ``?site=`` that is not an id, and
    ``Http404`` for one that names no site.
    """
    user = request.user
    if not user.is_authenticated:
        return None
    if not user.is_superuser:
        return user.site_configuration
    if SITE_PARAM in request.GET:
        return site_named(request.GET[SITE_PARAM])
    chosen = chosen_site_id(request)
    if chosen is not None:
        site = Configuration.objects.filter(pk=chosen).first()
        if site is not None:
            return site
    return user.site_configuration


def chosen_site_id(request):
    """The id of the site kept in ``request``'s session (``remember_site``),
    or ``None``. Anything else than an id there (a session written by hand,
    or by code that kept something else) is as if nothing were chosen: the
    query with it failed, a 500 on every page until the session ended."""
    session = getattr(request, "session", None)
    chosen = session.get(SESSION_KEY) if session is not None else None
    # type(), not isinstance(): a bool is an int too.
    return chosen if type(chosen) is int else None


def site_named(value):
    try:
        site_id = int(value)
    except (TypeError, ValueError):
        raise ValidationError(_("Give a site id."), code="invalid") from None
    try:
        return Configuration.objects.get(pk=site_id)
    except Configuration.DoesNotExist:
        raise Http404(_("No such site.")) from None


def remember_site(request, site):
    """Keep ``site`` as the one a superuser acts on for the rest of the
    session: the chooser's and switcher's POST alone (``views.choose_site``);
    only a superuser's choice is ever read back."""
    request.session[SESSION_KEY] = site.pk


def site_url(viewname, site_id, *args, **query):
    """The URL of a page acting on ``site_id``, with the non-empty values
    of ``query``: for links that must land on a working page whatever a
    superuser chose before (the admin's, ``page_url``'s)."""
    return naming_site(reverse(viewname, args=args), site_id, query)


def naming_site(path, site_id, query=None):
    """``path`` acting on ``site_id`` (none: on the user's own site), with
    the non-empty values of ``query``."""
    params = {SITE_PARAM: site_id} if site_id is not None else {}
    params.update((key, value) for key, value in (query or {}).items() if value not in (None, ""))
    return f"{path}?{urlencode(params)}" if params else path


def named_site_id(request, site):
    """The id a page showing ``site`` names in its links and forms: the
    site's for a superuser, none for anyone else, who acts on their own
    site whatever is named."""
    if not site or not request.user.is_superuser:
        return None
    return site.pk


def page_url(request, site, viewname, *args, **query):
    """Where a page showing ``site`` links or leads to (``site_url``):
    naming that site for a superuser. ``?site=`` is not kept in the session,
    so without it a superuser who came by an admin's link would leave that
    site at the next link; and one who switched site in another tab
    meanwhile would follow a link to, or save a form on, the other site:
    one site's settings written over another's, a product added to the
    wrong shop."""
    return site_url(viewname, named_site_id(request, site), *args, **query)


def form_action(request, site):
    """Where a page's form showing ``site`` posts to: the page itself,
    naming that site as ``page_url`` does."""
    return naming_site(request.path, named_site_id(request, site))


def site_id_for_user(user):
    """The site of ``user``, or ``None`` for anonymous users and users
    attached to no site (superusers may have none).

    The uploads app's ``SITE_RESOLVER``: it sees a user, not a request, so
    it knows nothing of a superuser's chosen site. A ticket for an existing
    product or logo takes its site from that object, which a superuser
    names by id, as the pages' picker does; one for a new product asks
    ``site_id_for_request``.
    """
    if not getattr(user, "is_authenticated", False):
        return None
    return user.site_configuration_id


def site_id_for_request(request):
    """The uploads app's ``REQUEST_SITE_RESOLVER``: the id of the site
    ``request`` acts on (``acting_site``), where
    the photo of a product being added waits. A superuser's choice of the
    session, or ``?site=``; anyone else's own site, whatever they name.

    A bad ``?site=`` is the upload API's error, as the products API's."""
    try:
        site = acting_site(request)
    except ValidationError as error:
        raise InvalidRequest(errors={SITE_PARAM: error.messages}) from None
    except Http404 as error:
        raise NotFound(str(error)) from None
    return site.pk if site is not None else None


def site_names(site_ids):
    """The uploads app's ``SITE_NAMES``: ``{site id: label}`` (``site_labels``),
    in one query."""
    return site_labels(Configuration.objects.filter(pk__in=site_ids).only("site_name", "city"))


def site_labels(sites):
    """``{site id: label}`` for ``sites``, told apart where names are shared.

    A site's name is not unique: where another of ``sites`` bears the same
    (letter case and spaces aside), the label adds its city and id, "Boutique
    (Dakar, #3)". Only among ``sites``, which are the ones the viewer sees:
    a site admin, who sees their own site alone, never learns that another
    shop bears its name."""
    sites = list(sites)
    shared = Counter(name_key(site.site_name) for site in sites)
    return {
        site.pk: site_label(site) if shared[name_key(site.site_name)] > 1 else site.site_name
        for site in sites
    }


def name_key(name):
    return " ".join(name.split()).casefold()


def site_label(site):
    """A site's name, city and id."""
    about = {"name": site.site_name, "city": site.city, "id": site.pk}
    if site.city:
        return _("%(name)s (%(city)s, #%(id)s)") % about
    return _("%(name)s (#%(id)s)") % about
