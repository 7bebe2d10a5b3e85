"""
Settings for the inventory project.

Every deploy-time value comes from the environment (or a ``.env`` file next to
``manage.py``); ``.env.example`` documents each variable. Malformed values are
reported by ``manage.py check`` rather than raised here, see ``project.env``.

Storage mode: S3 when ``AWS_STORAGE_BUCKET_NAME`` is set, the local filesystem
under ``MEDIA_ROOT`` otherwise. ``STORAGES`` names the classes of the mode
(``project.storages``); both hold the same names, so the rest of the code has
one path.
"""

import os
from datetime import timedelta
from pathlib import Path

from dotenv import load_dotenv

from project import database
from project.env import Env
from project.storages import storages_for

BASE_DIR = Path(__file__).resolve().parent.parent

# Variables already in the environment win over the file.
load_dotenv(os.environ.get("DJANGO_ENV_FILE") or BASE_DIR / ".env")
env = Env()

# --- Core -------------------------------------------------------------------

DEBUG = env.bool("DJANGO_DEBUG", False)
SECRET_KEY = env.str("DJANGO_SECRET_KEY")
if not SECRET_KEY:
    if not DEBUG:
        # Reported by `manage.py check`, and project.wsgi refuses to serve.
        env.problem(
            "DJANGO_SECRET_KEY",
            "required when DJANGO_DEBUG is off; make one with "
            "python -c 'import secrets; print(secrets.token_urlsafe(50))'.",
        )
    SECRET_KEY = "django-insecure-development-only-key"
ALLOWED_HOSTS = env.hosts(
    "DJANGO_ALLOWED_HOSTS", ["localhost", "127.0.0.1", "[::1]"] if DEBUG else []
)
# Origins whose pages post forms here, e.g. https://shop.example.com; also the
# origins check_storage expects the bucket's CORS to admit.
CSRF_TRUSTED_ORIGINS = [
    origin
    for origin in env.list("DJANGO_CSRF_TRUSTED_ORIGINS")
    if env.is_origin("DJANGO_CSRF_TRUSTED_ORIGINS", origin)
]

# Behind a proxy that terminates TLS and sets X-Forwarded-Proto (only then:
# the header is trusted). Secure cookies, HSTS, and a redirect to https://.
# The other variables are read (and checked) even without it, so that a bad
# value shows before the day DJANGO_HTTPS is turned on.
HTTPS = env.bool("DJANGO_HTTPS", False)
ssl_redirect = env.bool("DJANGO_SSL_REDIRECT", True)
hsts_seconds = env.int("DJANGO_HSTS_SECONDS", 365 * 24 * 3600, minimum=0)
hsts_include_subdomains = env.bool("DJANGO_HSTS_INCLUDE_SUBDOMAINS", False)
if HTTPS:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = ssl_redirect
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = hsts_seconds
    SECURE_HSTS_INCLUDE_SUBDOMAINS = hsts_include_subdomains

INSTALLED_APPS = [
    "project.apps.ProjectConfig",
    "inventory",
    "uploads",
    "legacy_media",
    # Django's admin, with the project's site (project.admin).
    "project.admin.ProjectAdminConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework.authtoken",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_tasks",
    "django_tasks_db",
    "axes",
]

MIDDLEWARE = [
    # First: answers /healthz before host checks and https redirects.
    "project.health.HealthCheckMiddleware",
    # Then: a bad Host on an API path is the API's JSON 400, DEBUG on or off.
    "project.views.ApiHostMiddleware",
    "django.middleware.security.SecurityMiddleware",
    # Pages and JSON are compressed for phones on costly data (a product
    # list's HTML: about a fifth); Django's gzip pads its output against
    # BREACH, and images arrive compressed from the bucket, not through here.
    "django.middleware.gzip.GZipMiddleware",
    # Drops a session cookie that no session key could be (project.sessions).
    "project.sessions.SessionCookieMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    # Django's, but a response in one language for every reader (the
    # OpenAPI schema) says its own and varies with none (project.languages).
    "project.languages.LocaleMiddleware",
    # No trailing-slash redirect under /api/: every API path has a route
    # (project.views.api_not_found).
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # A change of permissions or a logout the cache could not take: a 503
    # that says so (inventory.refusals), not a 500.
    "inventory.refusals.CacheRefusalMiddleware",
    # Last: turns a lockout detected during a page or admin login into the
    # lockout page (inventory.logins.lockout_response).
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "project.urls"
WSGI_APPLICATION = "project.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

DATABASES = {"default": env.database("DATABASE_URL", f"sqlite:///{BASE_DIR / 'db.sqlite3'}")}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Development's SQLite, with several writers (the dev server's threads,
    # the task worker, manage.py): a transaction takes the write lock when it
    # begins (a read that later writes would fail at once with "database is
    # locked"), a writer waits up to 20 s for the lock, and WAL lets readers
    # go on while one writes.
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {
            "transaction_mode": "IMMEDIATE",
            "timeout": 20,
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL",
        }
    )
# Milliseconds any one SQL statement of a web request may run on PostgreSQL
# before it is cancelled (0: no limit); in web processes only, never in
# migrate, the task worker or the commands (project.database).
DATABASE_STATEMENT_TIMEOUT = env.int(
    "DATABASE_STATEMENT_TIMEOUT", 5000, minimum=0, maximum=24 * 3600 * 1000
)
if database.serves_web():
    database.limit_statements(DATABASES["default"], DATABASE_STATEMENT_TIMEOUT)

# A cache shared by every app instance (throttle counters), e.g.
# redis://127.0.0.1:6379/0; each process keeps its own without it.
REDIS_URL = env.redis_url("REDIS_URL")
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "project.cache.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": env.str("CACHE_KEY_PREFIX") or "inventory",
        }
    }
    # Users' permissions, cached between requests: only in a cache all the
    # processes share (inventory.permission_cache).
    PERMISSION_CACHE_SECONDS = 300
    # Sessions read from the cache, written through to the database: a
    # signed-in API call runs no query for its session. Django's cached_db,
    # whose logouts a Redis that did not answer cannot undo (project.sessions).
    SESSION_ENGINE = "project.sessions"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# Background work (deleting the objects confirms replace, with retries):
# tasks are rows in this database, run by `manage.py db_worker`.
TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}

AUTH_USER_MODEL = "inventory.User"
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
# The number of proxies in front of the app that append the client's
# address to X-Forwarded-For (0: clients connect directly, the header is
# ignored). The throttles and the login lockout identify clients by it; a
# larger number than the real one lets clients pick their own address.
num_proxies = env.int("DJANGO_NUM_PROXIES", 0, minimum=0, maximum=10)

# Password guessing (django-axes, on every path that calls authenticate():
# the token endpoint, the login page, the admin): after LOGIN_FAILURE_LIMIT
# failed logins for one username, whatever the addresses they came from,
# that username is locked out for LOGIN_COOLOFF minutes, the right password
# included. Recorded in the database, so every app instance sees the same
# counts; the paths check one login per username at a time, so that a burst
# gets no more guesses than the limit. See inventory.logins.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    # Django's ModelBackend, in one query (inventory.permissions).
    "inventory.permissions.OneQueryModelBackend",
    # Site admins hold their permissions by their role (inventory.permissions).
    "inventory.permissions.SiteAdminBackend",
]
AXES_HANDLER = "axes.handlers.database.AxesDatabaseHandler"
AXES_VERBOSE = False  # no start-up banner in every command's output
AXES_LOCKOUT_PARAMETERS = ["username"]
# Not per address as well (axes.W006): a shop's phones share one Wi-Fi or
# carrier address, and behind a proxy with DJANGO_NUM_PROXIES wrong every
# client has the proxy's: a few wrong guesses would lock them all out. A
# guesser trying many usernames gets LOGIN_FAILURE_LIMIT tries at each per
# cool-off.
SILENCED_SYSTEM_CHECKS = ["axes.W006"]
AXES_FAILURE_LIMIT = env.int("LOGIN_FAILURE_LIMIT", 10, minimum=1)
AXES_COOLOFF_TIME = timedelta(minutes=env.int("LOGIN_COOLOFF", 15, minimum=1, maximum=24 * 60))
# A locked-out user's retry time does not move while they keep trying, so
# the time the message gives is true.
AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT = False
AXES_RESET_ON_SUCCESS = True
AXES_HTTP_RESPONSE_CODE = 429
AXES_CLIENT_IP_CALLABLE = "inventory.logins.client_address"
AXES_LOCKOUT_CALLABLE = "inventory.logins.lockout_response"

LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "inventory:home"
LOGOUT_REDIRECT_URL = "login"

# --- API --------------------------------------------------------------------

REST_FRAMEWORK = {
    # Token first, so that an anonymous request gets 401 with
    # WWW-Authenticate rather than 403.
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "project.api.authentication.TokenAuthentication",
        "project.api.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["project.api.parsers.JSONParser"],
    "EXCEPTION_HANDLER": "project.api.exceptions.exception_handler",
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "NUM_PROXIES": num_proxies,
    "DEFAULT_THROTTLE_RATES": {
        "login": env.rate("LOGIN_RATE", "10/min"),
    },
}

SPECTACULAR_SETTINGS = {
    "TITLE": "Inventory API",
    "DESCRIPTION": (
        "Products, sites and direct-to-bucket image uploads. Authenticate with "
        "`Authorization: Token <key>` from `POST /api/auth/token/`. Every error is "
        '`{"code": ..., "detail": ...}`: branch on `code`; `detail` is for people, in '
        "the request's language (`Accept-Language`: French or English), in English in "
        "this schema's examples."
    ),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    # The schema in English whatever the reader's language, the same bytes
    # for every reader (project.api.schema_views).
    "DEFAULT_GENERATOR_CLASS": "project.api.schema.SchemaGenerator",
    # The same for every user (SERVE_PUBLIC): the schema and its docs read
    # nobody's credentials, so vary with no cookie, and a stale token does
    # not cost a developer the schema.
    "SERVE_AUTHENTICATION": [],
    # Separate request and answer components (ProductRequest, Product), so
    # that generated clients need not send read-only fields.
    "COMPONENT_SPLIT_REQUEST": True,
    # One type for the state of a product's photo and of a site's logo.
    "ENUM_NAME_OVERRIDES": {"ImageStateEnum": "inventory.images.STATES"},
    # Served from this site, not a CDN: works offline and behind firewalls.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # 400, 406 and 503 on every operation, 413 and 415 on those with a body;
    # no union types that client generators cannot use.
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "project.api.schema.document_common_errors",
        "project.api.schema.plain_blank_strings",
    ],
}

# --- Languages --------------------------------------------------------------

LANGUAGE_CODE = "fr"
LANGUAGES = [("fr", "Français"), ("en", "English")]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "Africa/Abidjan"
USE_I18N = True
USE_TZ = True

# --- Files ------------------------------------------------------------------

MEDIA_ROOT = Path(env.str("DJANGO_MEDIA_ROOT") or BASE_DIR / "media").resolve()
MEDIA_URL = "/media/"
STATIC_ROOT = Path(env.str("DJANGO_STATIC_ROOT") or BASE_DIR / "staticfiles").resolve()
STATIC_URL = "/static/"
# The browser upload module, served to the inventory pages as
# /static/snippets/direct-upload.js.
STATICFILES_DIRS = [("snippets", BASE_DIR / "frontend_snippets")]

AWS_ACCESS_KEY_ID = env.str("AWS_ACCESS_KEY_ID")
AWS_SECRET_ACCESS_KEY = env.str("AWS_SECRET_ACCESS_KEY")
AWS_STORAGE_BUCKET_NAME = env.str("AWS_STORAGE_BUCKET_NAME")
AWS_S3_REGION_NAME = env.str("AWS_S3_REGION_NAME") or "eu-west-3"
AWS_S3_ENDPOINT_URL = env.url("AWS_S3_ENDPOINT_URL") or None
# The store's address for browsers and phones, when the app reaches it at
# another one (http://s3:8333 inside docker compose): upload forms and image
# URLs are made and signed for this one.
AWS_S3_PUBLIC_ENDPOINT_URL = env.url("AWS_S3_PUBLIC_ENDPOINT_URL") or None
AWS_S3_CUSTOM_DOMAIN = env.hostname("AWS_S3_CUSTOM_DOMAIN") or None

# A private bucket with ACLs disabled: never send an ACL, hand out presigned
# GET URLs (or plain CDN URLs when AWS_S3_CUSTOM_DOMAIN is set), never
# overwrite an existing key.
AWS_DEFAULT_ACL = None
AWS_QUERYSTRING_AUTH = True
# At most a week: S3 refuses a presigned URL that lives longer.
AWS_QUERYSTRING_EXPIRE = env.int("AWS_QUERYSTRING_EXPIRE", 3600, minimum=1, maximum=7 * 24 * 3600)
AWS_S3_FILE_OVERWRITE = False
AWS_S3_SIGNATURE_VERSION = "s3v4"
# uploads.s3 configures the boto3 client for S3-compatible stores
# (path addressing when AWS_S3_ENDPOINT_URL is set, checksums only when
# required); AWS_S3_CLIENT_CONFIG, a botocore Config, is merged over it.
# Every call to the store is bounded: seconds to connect, seconds to wait
# for each read, tries per call (the first included) and botocore's retry
# mode. A stalled store then answers 503 to a confirm within seconds.
AWS_S3_CONNECT_TIMEOUT = env.seconds("AWS_S3_CONNECT_TIMEOUT", 2, maximum=300)
AWS_S3_READ_TIMEOUT = env.seconds("AWS_S3_READ_TIMEOUT", 2, maximum=300)
AWS_S3_MAX_ATTEMPTS = env.int("AWS_S3_MAX_ATTEMPTS", 2, minimum=1, maximum=10)
AWS_S3_RETRY_MODE = env.choice("AWS_S3_RETRY_MODE", ["standard", "adaptive", "legacy"], "standard")

# Static files go to the bucket in S3 mode unless this is off; otherwise the
# app serves them with whitenoise (cacheable, no signed URLs: best behind a
# load balancer without a CDN).
STATIC_IN_BUCKET = env.bool("DJANGO_STATIC_IN_BUCKET", True)
STORAGES = storages_for(bucket=AWS_STORAGE_BUCKET_NAME, static_in_bucket=STATIC_IN_BUCKET)
if not (AWS_STORAGE_BUCKET_NAME and STATIC_IN_BUCKET):
    MIDDLEWARE.insert(
        MIDDLEWARE.index("django.middleware.security.SecurityMiddleware") + 1,
        "whitenoise.middleware.WhiteNoiseMiddleware",
    )

# The upload app's settings; defaults and meaning in uploads/conf.py.
UPLOADS = {
    "SITE_RESOLVER": "inventory.sites.site_id_for_user",
    # The site of a new object's photo: a superuser's choice of the session.
    "REQUEST_SITE_RESOLVER": "inventory.sites.site_id_for_request",
    # The names the upload tickets' admin shows for their sites.
    "SITE_NAMES": "inventory.sites.site_names",
    # Ticket requests per user.
    "TICKET_RATE": env.rate("UPLOADS_TICKET_RATE", "120/hour"),
    "TICKET_TTL": env.int("UPLOADS_TICKET_TTL", 600, minimum=1),
    # Product photos; a target declaring its own limit (the logo) keeps it.
    "MAX_SIZE": env.int("UPLOADS_MAX_SIZE", 10 * 1024 * 1024, minimum=1),
    "PIN_CHECKSUM": env.bool("UPLOADS_PIN_CHECKSUM", True),
    "FULL_DECODE": env.bool("UPLOADS_FULL_DECODE", False),
    # Image URLs stay the same for this many seconds (valid for twice that,
    # at most a week: S3's limit).
    "URL_WINDOW": env.int("UPLOADS_URL_WINDOW", 3600, minimum=1, maximum=7 * 24 * 3600 // 2),
    # How many threads of a process may wait on the store, and when to stop
    # trying it for a while (uploads/guard.py).
    "STORE_CONCURRENCY": env.int("UPLOADS_STORE_CONCURRENCY", 4, minimum=1),
    "STORE_WAIT": env.seconds("UPLOADS_STORE_WAIT", 0.5, maximum=60, zero=True),
    "STORE_FAILURES": env.int("UPLOADS_STORE_FAILURES", 3, minimum=1),
    "STORE_COOLDOWN": env.seconds("UPLOADS_STORE_COOLDOWN", 5, maximum=3600),
}
# The Cache-Control of the images the app writes, when not uploads/conf.py's
# (which says why it is what it is): "public, ..." behind a CDN.
if env.str("UPLOADS_CACHE_CONTROL"):
    UPLOADS["CACHE_CONTROL"] = env.str("UPLOADS_CACHE_CONTROL")

# --- Logs -------------------------------------------------------------------

# JSON lines on stdout in production (one object per line, for the log
# collector); readable text in development.
LOG_FORMAT = env.choice("DJANGO_LOG_FORMAT", ["json", "text"], "text" if DEBUG else "json")
LOG_LEVEL = env.choice("DJANGO_LOG_LEVEL", ["DEBUG", "INFO", "WARNING", "ERROR"], "INFO")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "json": {"()": "project.jsonlog.JsonFormatter"},
        "text": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"},
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "stream": "ext://sys.stdout",
            "formatter": LOG_FORMAT,
        }
    },
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}

# Reported by project.checks.
ENV_PROBLEMS = env.problems
ENV_RATES = env.rates
