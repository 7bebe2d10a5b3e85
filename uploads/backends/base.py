from dataclasses import dataclass


@dataclass(frozen=True)
class ObjectInfo:
    size: int
    etag: str


class ObjectMissing(Exception):
    """No object at the key."""


class ObjectChanged(Exception):
    """The object no longer has the ETag it was inspected with."""
