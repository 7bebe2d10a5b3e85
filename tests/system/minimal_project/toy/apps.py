from django.apps import AppConfig


class ToyConfig(AppConfig):
    name = "tests.system.minimal_project.toy"
    label = "toy"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from tests.system.minimal_project.toy.targets import PosterTarget
        from uploads.targets import register

        register(PosterTarget())
