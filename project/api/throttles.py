from rest_framework.settings import api_settings


class RateFromSettings:
    """Read the scope's rate from ``REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]``
    at call time: DRF's class attribute is frozen at import, so settings
    overrides (and tests) would not reach it. No rate means no limit."""

    def get_rate(self):
        return api_settings.DEFAULT_THROTTLE_RATES.get(self.scope)
