"""
The project's API plumbing, for every API view it serves (``inventory``'s,
the schema's and the docs'): the token authentication, the exception
handler, the JSON error pages, the parser, the throttles' base, the
OpenAPI generator, helpers and hooks, and the schema's and docs' views.
The ``REST_FRAMEWORK`` and ``SPECTACULAR_SETTINGS`` settings point here.

The error body, ``{"code": ..., "detail": ...}``, is the upload API's
contract, written once in ``uploads.api.exceptions``: the reusable app must
answer it in any project, so it cannot borrow it from this one. The project
adopts it for all its API views through the modules of this package, which
are the only place where the project names ``uploads.api``.
"""
