from django.apps import AppConfig


class ProjectConfig(AppConfig):
    """Installed to register the project's own system checks and lookups."""

    name = "project"
    verbose_name = "Project"

    def ready(self):
        import project.checks  # noqa: F401 (registers the checks)
        from project.lookups import register_lookups

        register_lookups()
