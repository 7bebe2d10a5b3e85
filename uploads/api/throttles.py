from rest_framework.settings import api_settings
from rest_framework.throttling import UserRateThrottle


class TicketIssueThrottle(UserRateThrottle):
    """Ticket requests per user, at the ``upload_tickets`` rate of
    ``REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]``."""

    scope = "upload_tickets"

    def get_rate(self):
        # Read at call time: DRF's class attribute is frozen at import.
        return api_settings.DEFAULT_THROTTLE_RATES.get(self.scope)
