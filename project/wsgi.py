"""
The WSGI entry point (gunicorn ``project.wsgi``).

Servers such as gunicorn run none of Django's system checks, so a
production server would otherwise start with a missing secret key or a half
configured bucket. The configuration checks run here; an error stops the
worker from booting, with the variable to fix in its message.

It also marks the process as a web server before the settings load: only
there do they cap each SQL statement (``project.database``).
"""

import os

from django.core.checks import Tags, run_checks
from django.core.exceptions import ImproperlyConfigured
from django.core.wsgi import get_wsgi_application

from project import database

database.serve_web()
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "project.settings")

application = get_wsgi_application()

problems = [str(error) for error in run_checks(tags=[Tags.compatibility]) if error.is_serious()]
if problems:
    raise ImproperlyConfigured("Fix the configuration:\n" + "\n".join(problems))
