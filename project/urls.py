from django.contrib import admin
from django.contrib.auth.views import (
    LoginView,
    LogoutView,
    PasswordChangeDoneView,
    PasswordChangeView,
)
from django.db import transaction
from django.urls import include, path, re_path

from inventory.logins import LoginForm
from project import views
from project.api.schema_views import DocsView, SchemaView

urlpatterns = [
    path("admin/", admin.site.urls),
    # Django's login page, its form authenticating one login per username at
    # a time (inventory.logins).
    path("accounts/login/", LoginView.as_view(authentication_form=LoginForm), name="login"),
    # Of Django's other account pages, those a signed-in user needs: no
    # password reset by email, which this app sends none of (an unthrottled
    # form, mailing whoever's address it is given once mail is set up); a
    # site admin sets a forgotten password in the admin.
    # In one transaction, as the admin's: a logout refused (project.sessions)
    # leaves no record of one.
    path("accounts/logout/", transaction.atomic(LogoutView.as_view()), name="logout"),
    path("accounts/password_change/", PasswordChangeView.as_view(), name="password_change"),
    path(
        "accounts/password_change/done/",
        PasswordChangeDoneView.as_view(),
        name="password_change_done",
    ),
    # Django's language switcher (django.conf.urls.i18n), for the languages
    # the site offers only (project.views).
    path("i18n/setlang/", views.set_language, name="set_language"),
    path("api/", include(("inventory.api_urls", "inventory-api"))),
    # In English for every reader (project.api.schema_views).
    path("api/schema/", SchemaView.as_view(), name="api-schema"),
    # GET only: DRF would answer OPTIONS with the view's description through
    # the page's HTML renderer, which has no template for it (a 500). Refused
    # as any other method, a JSON 405.
    path(
        "api/docs/",
        DocsView.as_view(url_name="api-schema", http_method_names=["get", "head"]),
        name="api-docs",
    ),
    path("", include("uploads.urls")),
    path("", include("inventory.urls")),
    # Last: the API's 404, in JSON even with DEBUG on (project.views).
    re_path(r"^api(?:/.*)?$", views.api_not_found),
]

handler400 = views.bad_request
handler404 = views.page_not_found
handler500 = views.server_error
