"""
The connection to an S3-compatible store, shared by every storage of the app.

``S3Connection`` is django-storages' ``S3Storage`` with six changes, each
needed by every caller of the store (the media storage, the static storage,
the upload backend, the health check, the commands):

- **Bounded calls.** botocore's defaults (60 s to connect, 60 s per read, up
  to 4 tries) let a stalled store hold a request for minutes. Every client is
  made from ``client_config()``, with the ``AWS_S3_*`` bounds below, and is
  guarded (``uploads.guard``).
- **Shared clients.** Storages are created per request (the site storages);
  building a boto3 session for each would cost tens of milliseconds and a
  connection pool apiece, so instances with the same settings share theirs.
- **URLs dated by the caller.** ``url_signed_at()`` presigns a GET dated
  at a given time instead of now, so that the same arguments give the same
  URL (``uploads.media.stable_url`` dates it at the start of a window).
- **Forms signed without botocore's per-call set-up.** ``presigned_post()``
  gives what ``generate_presigned_post`` gives, but resolves the bucket's
  address and signing region once per process: every ticket signs one.
- **Object calls signed without botocore's per-call set-up.**
  ``store_call()`` makes confirm's calls (the ranged GET, the conditional
  copy, the DELETE): botocore's signer and serializer over the
  client's own connection pool, guarded, bounded and retried as the
  client's calls, for about half the CPU of a client call.
- **A public address.** ``AWS_S3_PUBLIC_ENDPOINT_URL`` is the store's address
  as browsers and phones reach it, when it differs from ``AWS_S3_ENDPOINT_URL``,
  the one the app uses (``http://s3:8333`` inside a compose network, say).
  URLs handed to clients are made for, and signed for, the public address.

Settings are read as django-storages reads its own: every one, with its
default, in ``get_default_settings()``; a constructor argument of the same
name (``connect_timeout=1``) overrides it for one instance.
"""

import functools
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import parse_qs, urlencode, urlsplit
from xml.etree import ElementTree

import botocore
from botocore.auth import (
    ISO8601,
    SIGV4_TIMESTAMP,
    S3SigV4Auth,
    S3SigV4PostAuth,
    S3SigV4QueryAuth,
)
from botocore.awsrequest import AWSRequest
from botocore.config import Config
from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    IncompleteReadError,
    NoCredentialsError,
)
from botocore.hooks import first_non_none_response
from botocore.parsers import create_parser
from botocore.retries.standard import ExponentialBackoff, RetryContext, StandardRetryConditions
from botocore.serialize import create_serializer
from botocore.utils import percent_encode
from django.utils import timezone
from storages.backends.s3 import S3Storage
from storages.utils import clean_name, setting

from uploads.conf import upload_settings
from uploads.guard import guard_client, store_guard

# The bounds of every call to the store, unless the settings give others
# (AWS_S3_CONNECT_TIMEOUT, AWS_S3_READ_TIMEOUT, AWS_S3_MAX_ATTEMPTS,
# AWS_S3_RETRY_MODE). With these a call gives up after about 2 x (2 + 2) s
# and one pause between its tries.
STORE_BOUNDS = {
    "connect_timeout": 2,
    "read_timeout": 2,
    # Tries per call, the first included.
    "max_attempts": 2,
    "retry_mode": "standard",
}

# No options of the project's own: what AWS_S3_CLIENT_CONFIG adds when it is
# unset. One object, so that storages without it share their clients.
NO_CLIENT_CONFIG = Config()
# What a client that only makes plain URLs adds (see S3Connection.url_signed_at).
UNSIGNED_CONFIG = Config(signature_version=botocore.UNSIGNED)

_shared_resources = threading.local()
_shared_clients = {}
_shared_sessions = {}
_shared_clients_lock = threading.Lock()


def s3_enabled():
    """Whether uploads go to a bucket: ``AWS_STORAGE_BUCKET_NAME`` is set.
    The upload backend and the routes follow it, read at each call; the
    project's ``STORAGES`` must name the storages of the same mode
    (``uploads.checks``, ``uploads.E004``)."""
    return bool(setting("AWS_STORAGE_BUCKET_NAME"))


def store_bounds():
    """The bounds of store calls, as the settings give them."""
    return {
        name: setting(f"AWS_S3_{name.upper()}", default) for name, default in STORE_BOUNDS.items()
    }


@functools.lru_cache
def client_config(
    addressing_style,
    signature_version="s3v4",
    *,
    connect_timeout=STORE_BOUNDS["connect_timeout"],
    read_timeout=STORE_BOUNDS["read_timeout"],
    max_attempts=STORE_BOUNDS["max_attempts"],
    retry_mode=STORE_BOUNDS["retry_mode"],
):
    """The botocore configuration of every client of the store: the app's,
    the health check's, the commands', the migration's and the local
    SeaweedFS helper's are all made here."""
    return Config(
        signature_version=signature_version,
        s3={"addressing_style": addressing_style},
        # boto3 >= 1.36 adds CRC checksums to every request by default, which
        # S3-compatible stores reject or mishandle.
        request_checksum_calculation="when_required",
        response_checksum_validation="when_required",
        connect_timeout=connect_timeout,
        read_timeout=read_timeout,
        retries={"total_max_attempts": max_attempts, "mode": retry_mode},
    )


@functools.lru_cache
def merged_config(config, custom):
    """``custom`` (``AWS_S3_CLIENT_CONFIG``) over ``config``, made once, so
    that storages share their clients (see ``S3Connection.connection``)."""
    return config.merge(custom)


def credentials_now(credentials):
    """The frozen credentials of the moment, or ``None`` (a signer then
    raises ``NoCredentialsError``, as botocore's presigner does)."""
    return credentials and credentials.get_frozen_credentials()


@functools.cache
def request_serializer():
    """botocore's serializer of S3 requests; parameters are not validated
    (``store_call``'s callers are the app's own code)."""
    return create_serializer("rest-xml", include_validation=False)


@functools.cache
def response_parser():
    return create_parser("rest-xml")


@functools.cache
def answer_headers(output_shape):
    """``{header: (member, type)}`` of an operation's answer."""
    return {
        member.serialization.get("name", name).lower(): (name, member.type_name)
        for name, member in output_shape.members.items()
        if member.serialization.get("location") == "header"
    }


def parse_answer(http_response, output_shape):
    """A successful answer as botocore's client gives it, for what its
    callers here read: the headers of the output's members (integers as
    ``int``, the rest, dates too, as their text), a streamed payload's
    bytes, a structure payload's elements as text (``CopyObjectResult``).

    botocore's parser looks for each of the output's members among the
    headers (some eighty for a GET), and parses its dates: two thirds of
    a call's CPU once the rest is cut."""
    parsed = {
        "ResponseMetadata": {
            "HTTPStatusCode": http_response.status_code,
            "HTTPHeaders": http_response.headers,
        }
    }
    members = answer_headers(output_shape)
    for header, value in http_response.headers.items():
        member = members.get(header.lower())
        if member is not None:
            name, type_name = member
            parsed[name] = int(value) if type_name in ("integer", "long") else value
    payload = output_shape.serialization.get("payload")
    if payload is not None:
        body = http_response.content
        if output_shape.members[payload].type_name == "structure":
            parsed[payload] = {
                element.tag.rpartition("}")[2]: element.text
                for element in ElementTree.fromstring(body)
            }
        else:
            parsed[payload] = body
    return parsed


@functools.cache
def retry_conditions(max_attempts):
    return StandardRetryConditions(max_attempts=max_attempts)


class DatedQueryAuth(S3SigV4QueryAuth):
    """botocore's signer of presigned URLs (SigV4 in the query string),
    dated ``signed_at`` instead of now.

    botocore reads its clock inside ``add_auth()`` and takes no date from
    its caller, so this ``add_auth()`` sets the date, then runs the steps of
    botocore's own. The signature is botocore's: a store accepts it as any
    presigned URL, valid ``expires`` seconds from ``signed_at``.
    """

    def __init__(self, credentials, service_name, region_name, expires, signed_at):
        super().__init__(credentials, service_name, region_name, expires=expires)
        # SigV4 dates are UTC; a naive datetime is taken as UTC already.
        self.signed_at = signed_at.astimezone(UTC) if signed_at.tzinfo else signed_at

    def add_auth(self, request):
        if self.credentials is None:
            raise NoCredentialsError()
        request.context["timestamp"] = self.signed_at.strftime(SIGV4_TIMESTAMP)
        self._modify_request_before_signing(request)
        canonical_request = self.canonical_request(request)
        string_to_sign = self.string_to_sign(request, canonical_request)
        self._inject_signature_to_request(request, self.signature(string_to_sign, request))


@dataclass(frozen=True)
class SigningTarget:
    """Where requests of one kind go and the region they are signed for, as
    botocore resolved them for one probe: a bucket's forms
    (``S3Connection.post_target``), or its objects, a quoted key following
    the URL (``S3Connection.object_target``). ``None`` stands for a client
    that does not sign with SigV4 (``signature_version="s3"``)."""

    url: str
    region: str


def credential_region(credential):
    """The region of a SigV4 credential scope,
    ``<access key>/<date>/<region>/s3/aws4_request``."""
    return credential.split("/")[-3]


def shared_once(key, make):
    """This process's value for ``key``, from ``make()`` the first time:
    made outside the lock, since it may make a shared client, which takes
    the lock; should two threads make it at once, the first kept wins."""
    with _shared_clients_lock:
        if key in _shared_clients:
            return _shared_clients[key]
    value = make()
    with _shared_clients_lock:
        return _shared_clients.setdefault(key, value)


def window_start(now, window):
    """The start of the ``window``-second window that holds ``now``, counted
    from the epoch: every process of every server agrees on it."""
    return datetime.fromtimestamp(int(now.timestamp()) // window * window, tz=UTC)


class S3Connection(S3Storage):
    """S3Storage with a client configured for S3-compatible stores, bounded
    and guarded, shared between instances, and signing for the public
    address (see the module's docstring)."""

    def __init__(self, **settings):
        super().__init__(**settings)
        # AWS_S3_CLIENT_CONFIG (or a client_config argument) is merged over
        # the bounded configuration, not put in its place: calls stay bounded.
        self.client_config = merged_config(self.get_bounded_config(), self.client_config)

    def get_default_settings(self):
        return {
            **super().get_default_settings(),
            "public_endpoint_url": setting("AWS_S3_PUBLIC_ENDPOINT_URL"),
            "client_config": setting("AWS_S3_CLIENT_CONFIG") or NO_CLIENT_CONFIG,
            **store_bounds(),
        }

    def get_bounded_config(self):
        # S3-compatible stores are addressed by path, AWS by virtual host.
        return client_config(
            self.addressing_style or ("path" if self.endpoint_url else "virtual"),
            self.signature_version or "s3v4",
            connect_timeout=self.connect_timeout,
            read_timeout=self.read_timeout,
            max_attempts=self.max_attempts,
            retry_mode=self.retry_mode,
        )

    @property
    def connection(self):
        """A boto3 resource shared by every storage with the same settings,
        for django-storages' own operations. Resources are not thread-safe,
        so the cache is per thread."""
        cache = getattr(_shared_resources, "cache", None)
        if cache is None:
            cache = _shared_resources.cache = {}
        key = self.connection_key(self.endpoint_url)
        resource = cache.get(key)
        if resource is None:
            with _shared_clients_lock:  # the session is shared (_create_session)
                resource = cache[key] = self._create_session().resource(
                    "s3", **self.client_arguments(self.endpoint_url)
                )
            guard_client(resource.meta.client, self.store_name)
        return resource

    @property
    def unsigned_connection(self):
        """django-storages' resource for plain URLs (``querystring_auth``
        off), made under the lock of the session it shares."""
        connection = getattr(self._unsigned_connections, "connection", None)
        if connection is None:
            with _shared_clients_lock:
                connection = super().unsigned_connection
        return connection

    @property
    def client(self):
        """A boto3 client shared by every thread of the process: clients
        are thread-safe, and making one per thread (about 0.1 s of CPU
        each) would make a worker's first requests wait on each other.
        Confirm, the checks and the commands call the store with it."""
        return self.shared_client(self.endpoint_url)

    @property
    def client_endpoint_url(self):
        """The store's address as clients reach it, which the URLs and forms
        handed to them are made and signed for: ``AWS_S3_PUBLIC_ENDPOINT_URL``,
        else the app's own (``None``: AWS's, from the region)."""
        return self.public_endpoint_url or self.endpoint_url

    @property
    def signing_client(self):
        """The client that makes URLs for clients: presigned GETs and POSTs.
        Signing is local, so the public address need not be reachable from
        here."""
        return self.shared_client(self.client_endpoint_url)

    @property
    def store_name(self):
        """The store, as its guard knows it (uploads.guard)."""
        return self.endpoint_url or f"s3.{self.region_name}"

    def connection_key(self, endpoint_url):
        return (
            self.access_key,
            self.secret_key,
            self.security_token,
            self.session_profile,
            self.region_name,
            endpoint_url,
            self.use_ssl,
            self.verify,
            self.client_config,  # the object itself: kept alive, so no id reuse
        )

    def client_arguments(self, endpoint_url):
        return {
            "region_name": self.region_name,
            "use_ssl": self.use_ssl,
            "endpoint_url": endpoint_url,
            "config": self.client_config,
            "verify": self.verify,
        }

    def shared_client(self, endpoint_url, *, signed=True):
        """The process's client for ``endpoint_url``; ``signed=False``: one
        that signs nothing, whose presigned URLs are plain ones."""
        key = (self.connection_key(endpoint_url), signed)
        with _shared_clients_lock:  # the first threads wait for one client
            client = _shared_clients.get(key)
            if client is None:
                arguments = self.client_arguments(endpoint_url)
                if not signed:
                    arguments["config"] = merged_config(self.client_config, UNSIGNED_CONFIG)
                client = _shared_clients[key] = self._create_session().client("s3", **arguments)
                guard_client(client, self.store_name)
        return client

    def _create_session(self):
        """django-storages' session, made once per process for the same
        credentials: a new session parses botocore's service models and
        endpoints again, and makes each client cost about 0.1 s of CPU
        instead of 0.02 s. Sessions are not thread-safe: callers hold
        ``_shared_clients_lock``."""
        key = (self.access_key, self.secret_key, self.security_token, self.session_profile)
        session = _shared_sessions.get(key)
        if session is None:
            session = _shared_sessions[key] = super()._create_session()
        return session

    def shared_credentials(self):
        """The credentials the clients sign with, from a session made once
        per process (credentials of a role renew themselves when frozen)."""
        key = (self.connection_key(None), "credentials")
        with _shared_clients_lock:
            credentials = _shared_clients.get(key)
            if credentials is None:
                credentials = _shared_clients[key] = self._create_session().get_credentials()
        return credentials

    def presigned_post(self, key, fields, conditions, expires_at):
        """The ``{"url": ..., "fields": {...}}`` of a form, for the public
        address, that lets a client POST ``key`` under ``conditions`` until
        ``expires_at`` (a datetime): what ``generate_presigned_post`` gives.

        botocore resolves the bucket's endpoint (its rule set) and emits its
        events anew for every form, a fifth of a ticket's CPU, although the
        answer is the same for every key of a bucket. So the first form of a
        process is botocore's own; its URL and signing region are kept
        (``SigningTarget``), and the next forms are signed with them by
        botocore's signer of forms (``S3SigV4PostAuth``): the same policy,
        fields and signature as botocore's, the credentials read at each call
        (a role's renew themselves).
        """
        target = self.post_target()
        credentials = self.shared_credentials()
        if target is None or credentials is None:
            # botocore's own, each time: it says what is wrong, if anything.
            post = self.signing_client.generate_presigned_post(
                Bucket=self.bucket_name,
                Key=key,
                Fields=fields,
                Conditions=conditions,
                ExpiresIn=max(1, round((expires_at - timezone.now()).total_seconds())),
            )
            return {"url": post["url"], "fields": post["fields"]}
        expiration = expires_at.astimezone(UTC) if expires_at.tzinfo else expires_at
        request = AWSRequest(method="POST", url=target.url)
        # As generate_presigned_post adds them: the key last in the fields,
        # the bucket and the key last in the conditions.
        request.context["s3-presign-post-fields"] = {**fields, "key": key}
        request.context["s3-presign-post-policy"] = {
            "expiration": expiration.strftime(ISO8601),
            "conditions": [*conditions, {"bucket": self.bucket_name}, {"key": key}],
        }
        auth = S3SigV4PostAuth(credentials.get_frozen_credentials(), "s3", target.region)
        auth.add_auth(request)
        return {"url": target.url, "fields": request.context["s3-presign-post-fields"]}

    def post_target(self):
        """The ``SigningTarget`` of this bucket's forms at the public
        address, from one form botocore signs, once per process."""
        endpoint_url = self.client_endpoint_url

        def probe():
            post = self.shared_client(endpoint_url).generate_presigned_post(
                Bucket=self.bucket_name, Key="probe"
            )
            fields = post["fields"]
            if fields.get("x-amz-algorithm") != "AWS4-HMAC-SHA256":
                return None
            return SigningTarget(post["url"], credential_region(fields["x-amz-credential"]))

        return shared_once((self.connection_key(endpoint_url), self.bucket_name, "post"), probe)

    def store_call(self, operation, key, **params):
        """The client's ``operation`` (``"copy_object"``) on ``key`` of this
        bucket, with ``params`` as the client takes them: the same parsed
        answer, the same exceptions (``ClientError`` with the store's error,
        a ``BotoCoreError`` when no answer came), the same guard, bounds and
        tries. A ``Body`` is read: its bytes are given.

        A client call costs some 1.3 ms of CPU besides the exchange itself
        (about 0.5 ms): botocore resolves the endpoint (its rule set) for an
        answer that is the same for every key of a bucket, validates, emits
        a dozen events, and parses every header its model knows, dates
        included. Confirm makes two such calls, or three. So the bucket's
        address and signing region are resolved once per process
        (``object_target``), and each call is botocore's serializer and SigV4
        signer (``S3SigV4Auth``) over the client's own transport, its answer
        read for what callers use (``parse_answer``): about half the CPU of
        a client call. Otherwise (``signs_calls``) the client makes the
        call.
        """
        target = self.object_target()
        if not self.signs_calls(target):
            response = getattr(self.client, operation)(Bucket=self.bucket_name, Key=key, **params)
            if "Body" in response:
                with response["Body"] as body:
                    response["Body"] = body.read()
            return response
        return self.signed_call(operation, key, params, target)

    def signs_calls(self, target):
        """Whether ``store_call`` makes calls itself: with SigV4 and
        credentials, and botocore's standard retry mode, whose rules it
        follows (the ``adaptive`` mode's rate limiting and the ``legacy``
        mode's rules are the client's alone)."""
        retries = self.client.meta.config.retries or {}
        return (
            target is not None
            and self.shared_credentials() is not None
            and retries.get("mode") == "standard"
            and "total_max_attempts" in retries
        )

    def signed_call(self, operation, key, params, target):
        """``store_call()`` without the client's call: guarded as a client
        call is (``uploads.guard``), tried as often."""
        meta = self.client.meta
        model = meta.service_model.operation_model(meta.method_to_api_mapping[operation])
        if isinstance(params.get("CopySource"), dict):
            # As botocore's handler of the parameter quotes it.
            source = params["CopySource"]
            params = {
                **params,
                "CopySource": percent_encode(f"{source['Bucket']}/{source['Key']}", safe="-._~/"),
            }
        serialized = request_serializer().serialize_to_request(
            {"Bucket": self.bucket_name, "Key": key, **params}, model
        )
        url = target.url + percent_encode(key, safe="/~")
        if serialized["query_string"]:
            url += "?" + urlencode(serialized["query_string"])
        # One guarded call, its tries included, as the client's.
        http_response, parsed = store_guard(self.store_name).call(
            lambda: self.tries(model, serialized["method"], url, serialized["headers"], target)
        )
        if http_response.status_code >= 300:
            raise ClientError(parsed, model.name)
        return parsed

    def tries(self, model, method, url, headers, target):
        """``(http_response, parsed)`` of the last try; the exception of the
        last one if no answer came. Tries again what botocore's standard
        retry mode does (5xx, throttling, no answer), as often, with its
        pauses."""
        attempts = self.client.meta.config.retries["total_max_attempts"]
        for attempt in range(1, attempts + 1):
            request = AWSRequest(method, url, headers=dict(headers))
            self.sign(request, target, self.shared_credentials())
            http_response = parsed = error = None
            try:
                http_response, parsed = self.send(model, request)
            except BotoCoreError as exception:
                error = exception
            context = RetryContext(
                attempt,
                operation_model=model,
                parsed_response=parsed,
                http_response=http_response,
                caught_exception=error,
            )
            if attempt == attempts or not retry_conditions(attempts).is_retryable(context):
                break
            time.sleep(ExponentialBackoff().delay_amount(context))
        if error is not None:
            raise error
        return http_response, parsed

    def sign(self, request, target, credentials):
        """Sign ``request`` as the client would, with the credentials of
        the moment (a role's renew themselves)."""
        S3SigV4Auth(credentials.get_frozen_credentials(), "s3", target.region).add_auth(request)

    def send(self, model, request):
        """One try: ``(http_response, parsed)``. The request goes through
        the client's ``before-send`` event, as the client's own do (moto
        answers there), then the client's transport: its connection pool,
        timeouts, proxies and TLS settings, its exceptions when no answer
        comes. The body is read there (``stream_output`` is off)."""
        client = self.client
        prepared = request.prepare()
        http_response = first_non_none_response(
            client.meta.events.emit(f"before-send.s3.{model.name}", request=prepared)
        )
        if http_response is None:
            http_response = client._endpoint.http_session.send(prepared)
        self.check_length(request, http_response)
        if http_response.status_code >= 300:
            # botocore's own parser: the error as the client gives it.
            parsed = response_parser().parse(
                {
                    "status_code": http_response.status_code,
                    "headers": http_response.headers,
                    "body": http_response.content,
                },
                model.output_shape,
            )
        else:
            parsed = parse_answer(http_response, model.output_shape)
        return http_response, parsed

    def check_length(self, request, http_response):
        """Raise ``IncompleteReadError`` if the answer's body is shorter
        than its Content-Length: botocore's transport reads what comes until
        the connection closes, and leaves the check to its ``StreamingBody``
        (a cut answer would pass for a short one)."""
        expected = http_response.headers.get("content-length")
        if request.method == "HEAD" or expected is None:
            return
        if len(http_response.content) != int(expected):
            raise IncompleteReadError(
                actual_bytes=len(http_response.content), expected_bytes=int(expected)
            )

    def object_target(self, endpoint_url=None):
        """The ``SigningTarget`` of this bucket's objects at
        ``endpoint_url`` (the app's address by default), from one URL
        botocore presigns (locally), once per process."""
        endpoint_url = endpoint_url or self.endpoint_url

        def probe():
            url = self.shared_client(endpoint_url).generate_presigned_url(
                "get_object", Params={"Bucket": self.bucket_name, "Key": "probe"}
            )
            query = parse_qs(urlsplit(url).query)
            if query.get("X-Amz-Algorithm") != ["AWS4-HMAC-SHA256"]:
                return None
            plain = url.split("?", 1)[0].removesuffix("probe")
            return SigningTarget(plain, credential_region(query["X-Amz-Credential"][0]))

        return shared_once((self.connection_key(endpoint_url), self.bucket_name, "objects"), probe)

    def windowed_url(self, name):
        """A presigned GET dated at the start of the current window
        (``UPLOADS["URL_WINDOW"]``) and valid for two: the same URL all
        through the window, so that browsers and apps keep what it serves,
        and one taken at the window's last second still works for a whole
        window after. Plain URLs, as ``url()``, with a custom domain or
        without querystring auth."""
        if self.custom_domain or not self.querystring_auth:
            return self.url(name)
        window = upload_settings.URL_WINDOW
        return self.url_signed_at(name, window_start(timezone.now(), window), 2 * window)

    def url_signed_at(self, name, signed_at, expires):
        """A presigned GET of ``name`` for the public address, dated
        ``signed_at`` (a datetime; ``None``: now, by botocore's clock) and
        valid ``expires`` seconds from then: the same arguments give the
        same URL.

        The object's plain URL is the bucket's at the public address
        (``object_target``: addressing style and endpoint as botocore
        resolved them once), the key quoted as botocore quotes it;
        ``DatedQueryAuth`` then signs that URL as ``generate_presigned_url``
        would have. Without SigV4, botocore builds the plain URL with a
        client that signs nothing.
        """
        endpoint_url = self.client_endpoint_url
        key = self._normalize_name(clean_name(name))
        target = self.object_target(endpoint_url)
        if target is not None:
            plain, region = target.url + percent_encode(key, safe="/~"), target.region
        else:
            plain = self.shared_client(endpoint_url, signed=False).generate_presigned_url(
                "get_object", Params={"Bucket": self.bucket_name, "Key": key}
            )
            region = self.shared_client(endpoint_url).meta.region_name
        credentials = credentials_now(self.shared_credentials())
        if signed_at is None:
            auth = S3SigV4QueryAuth(credentials, "s3", region, expires=expires)
        else:
            auth = DatedQueryAuth(credentials, "s3", region, expires, signed_at)
        request = AWSRequest(method="GET", url=plain)
        auth.add_auth(request)
        return request.url

    def url(self, name, parameters=None, expire=None, http_method=None):
        if self.custom_domain or not self.querystring_auth:
            url = super().url(name, parameters, expire, http_method)
            if self.public_endpoint_url and not self.custom_domain:
                # Unsigned: the same URL at the public address.
                url = self.public_endpoint_url + url.removeprefix(self.endpoint_url)
            return url
        expire = self.querystring_expire if expire is None else expire
        endpoint_url = self.client_endpoint_url
        if not parameters and http_method is None and self.object_target(endpoint_url):
            # A GET signed now: what generate_presigned_url gives, without
            # botocore's per-call set-up (a millisecond of CPU; see
            # url_signed_at). Every image URL of a confirm or a list is one.
            return self.url_signed_at(name, None, expire)
        params = {
            **(parameters or {}),
            "Bucket": self.bucket_name,
            "Key": self._normalize_name(clean_name(name)),
        }
        return self.signing_client.generate_presigned_url(
            "get_object",
            Params=params,
            ExpiresIn=expire,
            HttpMethod=http_method,
        )
