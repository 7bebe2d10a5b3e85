"""
Static files in the bucket, for deployments where the app serves none.

A project's ``STORAGES["staticfiles"]`` names ``S3StaticStorage`` when
static files go to the bucket (below ``static/``, next to ``media/``), or
whitenoise's storage when the app serves them itself. A class of its own
because collectstatic's rules differ from media's: files are replaced in
place, under a location of their own.
"""

from uploads.s3 import S3Connection

S3_STATIC_LOCATION = "static"


class S3StaticStorage(S3Connection):
    """``static/`` in the bucket, over the app's shared, bounded connection."""

    def get_default_settings(self):
        return {
            **super().get_default_settings(),
            "location": S3_STATIC_LOCATION,
            # collectstatic replaces files in place.
            "file_overwrite": True,
        }

    def url(self, name, parameters=None, expire=None, http_method=None):
        """A page's static file (``{% static %}``): the same URL all through
        a window (``windowed_url``), so that the browser keeps the file
        between pages instead of fetching it again under a new signature;
        the store answers its revalidation with 304 once the window ends."""
        if parameters is None and expire is None and http_method is None:
            if self.querystring_auth and not self.custom_domain:
                return self.windowed_url(name)
        return super().url(name, parameters, expire, http_method)
