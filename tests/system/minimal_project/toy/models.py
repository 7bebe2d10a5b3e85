from django.conf import settings
from django.db import models


class Poster(models.Model):
    """A user's poster, with one picture uploaded through ``uploads``."""

    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE)
    picture = models.ImageField(blank=True, max_length=255)
