"""Which site a request acts for."""


def site_id_for_user(user):
    """The site of ``user``, or ``None`` for anonymous users and users
    attached to no site (superusers may have none)."""
    if not getattr(user, "is_authenticated", False):
        return None
    return user.site_configuration_id
