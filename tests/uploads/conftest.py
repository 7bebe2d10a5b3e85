import pytest
from rest_framework.test import APIClient

from inventory.models import Product
from tests.support.faults import STORE_TIMEOUT, FaultProxy
from tests.support.modes import use_storages
from tests.support.stores import LocalStore, S3Store


@pytest.fixture(params=["local", "s3"])
def store(request, local_media):
    if request.param == "s3":
        bucket = request.getfixturevalue("s3_bucket")
        result = S3Store(request.getfixturevalue("s3_client"), bucket)
    else:
        result = LocalStore(local_media)
    return result


@pytest.fixture
def site(sites):
    return sites[0]


@pytest.fixture
def product(site):
    return Product.objects.create(site_configuration=site, name="Riz", cug="R-1")


@pytest.fixture
def staff(make_user, site):
    return make_user("staff", site)


@pytest.fixture
def api(staff):
    client = APIClient()
    client.force_authenticate(staff)
    return client


@pytest.fixture
def proxy(seaweedfs):
    """A proxy in front of SeaweedFS that fails on demand (tests.support.faults)."""
    with FaultProxy(("127.0.0.1", seaweedfs.s3_port)) as proxy:
        yield proxy


@pytest.fixture
def faulty_store(proxy, s3_bucket, settings):
    """S3 mode through ``proxy``, with calls bounded by ``STORE_TIMEOUT``."""
    settings.AWS_S3_ENDPOINT_URL = proxy.url
    settings.AWS_S3_CONNECT_TIMEOUT = STORE_TIMEOUT
    settings.AWS_S3_READ_TIMEOUT = STORE_TIMEOUT
    settings.AWS_S3_MAX_ATTEMPTS = 2
    use_storages(settings)
    return proxy
