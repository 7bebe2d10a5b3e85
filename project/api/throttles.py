"""
The project's throttle plumbing: rates read at call time, and the upload
app's atomic count on Redis (``RedisRateThrottleMixin``), which the login
throttle uses too rather than a copy.
"""

from rest_framework.settings import api_settings

from uploads.api.throttles import RedisRateThrottleMixin

__all__ = ["RateFromSettings", "RedisRateThrottleMixin"]


class RateFromSettings:
    """Read the scope's rate from ``REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]``
    at call time: DRF's class attribute is frozen at import, so settings
    overrides (and tests) would not reach it. No rate means no limit."""

    def get_rate(self):
        return api_settings.DEFAULT_THROTTLE_RATES.get(self.scope)
