from django.apps import AppConfig


class ProjectConfig(AppConfig):
    """Installed only to register the project's own system checks."""

    name = "project"
    verbose_name = "Project"

    def ready(self):
        from project import checks  # noqa: F401 (registers the checks)
