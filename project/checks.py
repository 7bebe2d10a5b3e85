"""
System checks for the values read from the environment.

``settings.py`` never raises on a bad variable (see ``project.env``); it
records the problem in ``ENV_PROBLEMS`` and this check reports it, so that
``manage.py check``, ``migrate`` and ``runserver`` stop with the name of the
variable to fix.
"""

from django.conf import settings
from django.core.checks import Error, Tags, register


@register(Tags.compatibility)
def check_environment(app_configs, **kwargs):
    return [
        Error(
            f"{name}: {message}",
            hint=f"Fix {name} in the environment or in .env (see .env.example).",
            id="project.E001",
        )
        for name, message in getattr(settings, "ENV_PROBLEMS", ())
    ]
