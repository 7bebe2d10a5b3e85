from tests.system.minimal_project.toy.models import Poster
from uploads.targets import UploadTarget


class PosterTarget(UploadTarget):
    """Users upload to their own posters; the project has no sites, so the
    files go to the shared ``default`` folder."""

    kind = "poster"
    model = Poster
    field_name = "picture"
    folder = "posters"

    def get_queryset(self, user):
        return Poster.objects.filter(owner=user)

    def get_site_id(self, poster):
        return None
