"""SeaweedFS accepts some form fields that its policy does not cover (AWS
refuses them). Whatever they set on the incoming object, the attached
object carries only the headers the server chose when it copied it."""

import requests

from tests.support.images import jpeg
from tests.support.stores import S3Store
from tests.support.tickets import confirm, issue

EXTRA_FIELDS = {
    "Cache-Control": "public, max-age=999999",
    "Content-Disposition": "attachment; filename=evil.html",
    "Content-Encoding": "gzip",
    "tagging": "<Tagging><TagSet><Tag><Key>owner</Key><Value>me</Value></Tag></TagSet></Tagging>",
    "acl": "public-read",
}


def test_final_object_has_only_the_servers_headers(s3_bucket, s3_client, api, product):
    store = S3Store(s3_client, s3_bucket)
    body = jpeg()
    ticket = issue(api, product, body)
    fields = {**ticket["upload"]["fields"], **EXTRA_FIELDS}

    status = store.post(ticket["upload"], body, fields=fields)
    assert status == 204, "SeaweedFS 4.48 accepts these fields; if it now refuses them, even better"
    incoming = s3_client.head_object(Bucket=s3_bucket, Key=ticket["upload"]["fields"]["key"])
    assert incoming["ContentDisposition"] == EXTRA_FIELDS["Content-Disposition"]

    data = confirm(api, ticket).json()
    final = s3_client.head_object(Bucket=s3_bucket, Key=data["key"])

    assert final["ContentType"] == "image/jpeg"
    assert final["CacheControl"] == "private, max-age=31536000, immutable"
    assert final["ContentDisposition"] == "inline"
    assert "ContentEncoding" not in final
    assert final["Metadata"] == {}
    assert s3_client.get_object_tagging(Bucket=s3_bucket, Key=data["key"])["TagSet"] == []
    response = requests.get(data["url"], timeout=10)
    assert response.content == body
    assert response.headers["Content-Type"] == "image/jpeg"
    assert "Content-Encoding" not in response.headers
    # Still private: an unsigned GET is refused.
    unsigned = data["url"].split("?")[0]
    assert requests.get(unsigned, timeout=10).status_code == 403
