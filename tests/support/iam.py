"""
An HTTP proxy in front of SeaweedFS that answers as AWS S3 does for an
access key limited by an IAM policy.

SeaweedFS's own identities know coarse rights (Read, Write, List) and answer
404 for a missing key whatever they are; AWS decides per action and
resource, and answers 403 AccessDenied for a missing key when the caller
lacks ``s3:ListBucket`` on the bucket ("If you don't have the s3:ListBucket
permission, Amazon S3 returns an HTTP status code 403", GetObject and
HeadObject in the S3 API reference). ``IamGate`` maps each request to the IAM
actions AWS checks for it, evaluates them against the policy with moto's
IAM evaluator, and either answers 403 itself or relays the request
untouched (the signature covers the Host header, which is kept) to the real
store, turning a 404 for a missing key into AWS's 403 when the policy does
not grant ``s3:ListBucket``.

``gate.requests`` records ``(action, resource, allowed)`` for each check.
"""

import http.client
import http.server
import json
import re
import threading
from email.parser import BytesParser
from email.policy import HTTP
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit
from xml.etree import ElementTree

from moto.iam.access_control import IAMPolicy, PermissionResult

DENIED_BODY = (
    b'<?xml version="1.0" encoding="UTF-8"?>\n'
    b"<Error><Code>AccessDenied</Code><Message>Access Denied</Message></Error>"
)

# Bucket subresources: the action for GET, PUT and DELETE.
BUCKET_SUBRESOURCES = {
    "cors": ("s3:GetBucketCORS", "s3:PutBucketCORS", "s3:PutBucketCORS"),
    "lifecycle": (
        "s3:GetLifecycleConfiguration",
        "s3:PutLifecycleConfiguration",
        "s3:PutLifecycleConfiguration",
    ),
    "location": ("s3:GetBucketLocation", None, None),
    "policy": ("s3:GetBucketPolicy", "s3:PutBucketPolicy", "s3:DeleteBucketPolicy"),
    "acl": ("s3:GetBucketAcl", "s3:PutBucketAcl", None),
    "versioning": ("s3:GetBucketVersioning", "s3:PutBucketVersioning", None),
    "tagging": ("s3:GetBucketTagging", "s3:PutBucketTagging", "s3:PutBucketTagging"),
}
OBJECT_SUBRESOURCES = {
    "tagging": ("s3:GetObjectTagging", "s3:PutObjectTagging", "s3:DeleteObjectTagging"),
    "acl": ("s3:GetObjectAcl", "s3:PutObjectAcl", None),
}
METHOD_INDEX = {"GET": 0, "HEAD": 0, "PUT": 1, "DELETE": 2}


def arn(bucket, key=None):
    return f"arn:aws:s3:::{bucket}" + (f"/{key}" if key is not None else "")


def form_field(content_type, body, name):
    """One field of a multipart/form-data body (a browser's POST upload)."""
    message = BytesParser(policy=HTTP).parsebytes(
        f"Content-Type: {content_type}\r\n\r\n".encode() + body
    )
    for part in message.iter_parts():
        if part.get_param("name", header="content-disposition") == name:
            return part.get_content().strip()
    return None


def required_actions(method, path, headers, body):
    """The (action, resource) pairs AWS checks for a path-style request."""
    parts = urlsplit(path)
    bucket, _, key = parts.path.lstrip("/").partition("/")
    key = unquote(key)
    query = parse_qs(parts.query, keep_blank_values=True)
    if not key:
        if method == "POST" and "delete" in query:
            keys = [
                element.text
                for element in ElementTree.fromstring(body).iter()
                if element.tag.endswith("Key")
            ]
            return [("s3:DeleteObject", arn(bucket, k)) for k in keys]
        if method == "POST":  # a browser's form upload, signed by the policy's key
            return [("s3:PutObject", arn(bucket, form_field(headers["Content-Type"], body, "key")))]
        for name, actions in BUCKET_SUBRESOURCES.items():
            if name in query:
                return [(actions[METHOD_INDEX[method]], arn(bucket))]
        if method in ("GET", "HEAD"):  # ListObjects, HeadBucket
            return [("s3:ListBucket", arn(bucket))]
        if method == "PUT":
            return [("s3:CreateBucket", arn(bucket))]
        return [("s3:DeleteBucket", arn(bucket))]
    for name, actions in OBJECT_SUBRESOURCES.items():
        if name in query:
            return [(actions[METHOD_INDEX[method]], arn(bucket, key))]
    if method in ("GET", "HEAD"):
        return [("s3:GetObject", arn(bucket, key))]
    if method == "DELETE":
        if "uploadId" in query:
            return [("s3:AbortMultipartUpload", arn(bucket, key))]
        return [("s3:DeleteObject", arn(bucket, key))]
    actions = [("s3:PutObject", arn(bucket, key))]  # PUT, multipart POSTs
    if headers.get("x-amz-tagging"):
        actions.append(("s3:PutObjectTagging", arn(bucket, key)))
    source = headers.get("x-amz-copy-source")
    if source:
        source_bucket, _, source_key = unquote(source.split("?")[0]).lstrip("/").partition("/")
        actions.append(("s3:GetObject", arn(source_bucket, source_key)))
    return actions


class IamGate(http.server.ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, upstream, policy):
        """``upstream``: (host, port) of the store; ``policy``: the IAM
        policy document (JSON text) of the access key clients use."""
        self.upstream = upstream
        self.policy = IAMPolicy(policy)
        self.requests = []
        self.lock = threading.Lock()
        super().__init__(("127.0.0.1", 0), GateHandler)

    @property
    def url(self):
        return f"http://127.0.0.1:{self.server_address[1]}"

    def allows(self, action, resource):
        return self.policy.is_action_permitted(action, resource) == PermissionResult.PERMITTED

    def check(self, action, resource):
        allowed = self.allows(action, resource)
        with self.lock:
            self.requests.append((action, resource, allowed))
        return allowed

    def denied(self):
        return [(action, resource) for action, resource, allowed in self.requests if not allowed]

    def serve_in_background(self):
        # Polled often, so that stop() returns at once rather than within
        # serve_forever's default half second.
        thread = threading.Thread(target=self.serve_forever, args=(0.02,), daemon=True)
        thread.start()
        return self

    def stop(self):
        self.shutdown()
        self.server_close()


class GateHandler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def handle_one(self):
        if "chunked" in self.headers.get("Transfer-Encoding", ""):
            raise NotImplementedError("chunked request bodies are not relayed")
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        actions = required_actions(self.command, self.path, self.headers, body)
        # Every action is checked (and recorded), as IAM evaluates them all.
        if not all([self.server.check(action, resource) for action, resource in actions]):
            return self.answer(403, {"Content-Type": "application/xml"}, DENIED_BODY)
        status, headers, answer = self.relay(body)
        action, resource = actions[0]
        if status == 404 and action == "s3:GetObject":
            # AWS tells a missing key only to those who may list the bucket.
            if not self.server.check("s3:ListBucket", resource.split("/", 1)[0]):
                return self.answer(403, {"Content-Type": "application/xml"}, DENIED_BODY)
        return self.answer(status, headers, answer)

    do_GET = do_HEAD = do_PUT = do_POST = do_DELETE = handle_one

    def relay(self, body):
        upstream = http.client.HTTPConnection(*self.server.upstream, timeout=60)
        try:
            upstream.putrequest(self.command, self.path, skip_host=True, skip_accept_encoding=True)
            for name, value in self.headers.items():
                upstream.putheader(name, value)
            upstream.endheaders(body or None)
            response = upstream.getresponse()
            answer = response.read()
            return response.status, response.headers, answer
        finally:
            upstream.close()

    def answer(self, status, headers, body):
        self.send_response(status)
        for name, value in headers.items():
            if name.lower() in ("connection", "transfer-encoding", "content-length"):
                continue
            self.send_header(name, value)
        if self.command == "HEAD":
            # A HEAD's Content-Length is the object's size, not this body's.
            self.send_header("Content-Length", headers.get("Content-Length", "0"))
        else:
            self.send_header("Content-Length", str(len(body)))
        self.send_header("Connection", "close")
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)
        self.close_connection = True


# --- The README's policy -------------------------------------------------------

README = Path(__file__).resolve().parents[2] / "README.md"
JSON_BLOCK = re.compile(r"^[ \t]*```json\n(.*?)^[ \t]*```", re.S | re.M)


def readme_policy(bucket):
    """The IAM policy the README recommends, for ``bucket``: the README's
    only JSON block with a ``Statement``."""
    policies = [block for block in JSON_BLOCK.findall(README.read_text()) if '"Statement"' in block]
    assert len(policies) == 1, f"the README gives {len(policies)} IAM policies, not one"
    return json.loads(policies[0].replace("BUCKET", bucket))


def without(policy, action):
    """``policy`` with ``action`` taken out of every statement."""
    statements = []
    for statement in policy["Statement"]:
        actions = statement["Action"]
        actions = [a for a in ([actions] if isinstance(actions, str) else actions) if a != action]
        if actions:
            statements.append({**statement, "Action": actions})
    return {**policy, "Statement": statements}
