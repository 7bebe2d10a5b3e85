"""The project's throttles' base: the rate read from the settings at call
time, and a ``Retry-After`` on every 429 (the upload app's
``RetryAfterMixin``, which its ticket throttle has through
``RedisRateThrottleMixin``)."""

from rest_framework.settings import api_settings

from uploads.api.throttles import RetryAfterMixin

__all__ = ["RateFromSettings", "RetryAfterMixin"]


class RateFromSettings:
    """Read the scope's rate from ``REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]``
    at call time: DRF's class attribute is frozen at import, so settings
    overrides (and tests) would not reach it. No rate means no limit."""

    def get_rate(self):
        return api_settings.DEFAULT_THROTTLE_RATES.get(self.scope)
