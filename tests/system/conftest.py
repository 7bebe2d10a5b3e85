import pytest

from tests.support.compose import database_maker


@pytest.fixture
def new_database():
    """``new_database()`` makes a fresh, empty PostgreSQL database and gives
    its URL; each is dropped after the test."""
    with database_maker() as create:
        yield create
