from rest_framework.settings import api_settings
from rest_framework.throttling import UserRateThrottle

from uploads.conf import upload_settings


class TicketIssueThrottle(UserRateThrottle):
    """Ticket requests per user: the ``upload_tickets`` rate of
    ``REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]`` when the project names that
    scope, else ``UPLOADS["TICKET_RATE"]``, so that a project that sets
    neither still has a limit. ``None`` means no limit.

    Read at call time: DRF's class attribute is frozen at import, so
    settings overrides (and tests) would not reach it."""

    scope = "upload_tickets"

    def get_rate(self):
        rates = api_settings.DEFAULT_THROTTLE_RATES
        if self.scope in rates:
            return rates[self.scope]
        return upload_settings.TICKET_RATE
