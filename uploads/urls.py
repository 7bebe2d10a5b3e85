from django.conf import settings
from django.urls import path

from uploads.api import views
from uploads.s3 import s3_enabled

app_name = "uploads"

urlpatterns = [
    path("api/uploads/tickets/", views.TicketListView.as_view(), name="ticket-list"),
    path(
        "api/uploads/tickets/<uuid:ticket_id>/",
        views.TicketDetailView.as_view(),
        name="ticket-detail",
    ),
    path(
        "api/uploads/tickets/<uuid:ticket_id>/confirm/",
        views.TicketConfirmView.as_view(),
        name="ticket-confirm",
    ),
]

if not s3_enabled():
    # Filesystem mode only: the bucket's POST endpoint, emulated.
    from uploads.emulator.views import emulated_post

    urlpatterns.append(path("uploads/emulator/", emulated_post, name="emulator"))

    if settings.DEBUG:
        # Development only, as Django's static() was: MEDIA_ROOT with the
        # caching headers of the bucket's objects. With DEBUG off nothing
        # serves it (filesystem mode is not for production, uploads.W001).
        from uploads.media_views import media_urlpatterns

        urlpatterns += media_urlpatterns()
