"""
A check of the media store from the outside, as ``check_storage`` runs it.
Each failed check says what to fix.

``base`` holds what both modes share (the results, a ticket's form), ``s3``
the checks of a bucket, ``filesystem`` those of ``MEDIA_ROOT``. The health
check does not come here: it calls the backend's one-request ``probe``.
"""

from uploads.diagnostics.base import FAILED, PASSED, SKIPPED, Result
from uploads.s3 import s3_enabled

__all__ = ["FAILED", "PASSED", "SKIPPED", "Result", "get_diagnosis"]


def get_diagnosis(site=None, origins=()):
    """The diagnosis of the current storage mode, for one site folder
    (``site``: an id, or ``None`` for the shared ``default`` folder) and the
    origins whose pages upload."""
    if s3_enabled():
        from uploads.diagnostics.s3 import S3Diagnosis

        return S3Diagnosis(site, origins)
    from uploads.diagnostics.filesystem import FilesystemDiagnosis

    return FilesystemDiagnosis(site, origins)
