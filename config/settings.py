"""Yiwang settings — one module, configured from the environment.

Embedded default (nothing set): SQLite under var/, media under var/media, a task queue in a SQLite file.
Scale-out: DATABASE_URL=postgres://…, REDIS_URL=redis://…, YIWANG_MEDIA_STORAGE=s3 (+ AWS_* variables).
Production: YIWANG_DEBUG unset (off), SECRET_KEY set, YIWANG_SECURE=1 (HTTPS-only cookies, HSTS, redirect).
"""

import os
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(os.environ.get("YIWANG_VAR_DIR", BASE_DIR / "var"))


def env_bool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_list(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


DEBUG = env_bool("YIWANG_DEBUG")
SECRET_KEY = os.environ.get("SECRET_KEY", "")
if not SECRET_KEY:
    if not DEBUG and not env_bool("YIWANG_ALLOW_EPHEMERAL_KEY"):
        raise ImproperlyConfigured("SECRET_KEY must be set (or YIWANG_DEBUG=1 for development).")
    SECRET_KEY = "insecure-development-key-never-use-in-production-" + "x" * 20

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "127.0.0.1,localhost")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework.authtoken",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "huey.contrib.djhuey",
    "yiwang.core",
    "yiwang.geo",
    "yiwang.org",
    "yiwang.workcal",
    "yiwang.accounts",
    "yiwang.notifications",
    "yiwang.cases",
    "yiwang.imports",
    "yiwang.media",
    "yiwang.open311",
    "yiwang.demo",
    "yiwang.web",
    "yiwang.phone",
    "yiwang.console",
    "yiwang.command",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    # Pages, htmx fragments, JSON and CSV are gzipped (phones on a weak signal); photos and video are not (see
    # TextGZipMiddleware). Static files never reach it: WhiteNoise above answers them itself, from the copies
    # collectstatic precompressed. Below WhiteNoise, above everything that reads or writes the body.
    # BREACH: pages carry CSRF tokens, but Django masks the token afresh on every response and Django's gzip adds
    # random padding to each response (Heal-the-BREACH), so the token cannot be recovered from compressed sizes;
    # the gain on slow phone links is worth it.
    "yiwang.core.middleware.TextGZipMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "yiwang.core.middleware.RequestIdMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"
ASGI_APPLICATION = "config.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "yiwang.notifications.context.unread_messages",
            ],
        },
    },
]

# --- Database: SQLite under var/ unless DATABASE_URL says otherwise -------------------------------------
DATABASES = {
    "default": dj_database_url.parse(
        os.environ.get("DATABASE_URL") or f"sqlite:///{VAR_DIR / 'yiwang.sqlite3'}",
        conn_max_age=int(os.environ.get("YIWANG_DB_CONN_MAX_AGE", "60")),
        conn_health_checks=True,
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    VAR_DIR.mkdir(parents=True, exist_ok=True)
    # WAL lets readers proceed while a writer commits; IMMEDIATE avoids upgrade deadlocks between workers.
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    DATABASES["default"]["OPTIONS"] = {
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON;",
    }
elif DATABASES["default"]["ENGINE"].startswith("django.db.backends.postgresql"):
    # No JIT compiling: PostgreSQL compiles a query once its estimated cost is high (any range over a big cases
    # table looks so before its statistics are fresh), which costs 10–50 ms each time for reads that take under
    # one. This application's queries are short; YIWANG_PG_JIT=1 switches it back on.
    DATABASES["default"].setdefault("OPTIONS", {})
    if os.environ.get("YIWANG_PG_JIT", "0") != "1":
        DATABASES["default"]["OPTIONS"]["options"] = "-c jit=off"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Cache and task queue: in-process / SQLite unless REDIS_URL is set ------------------------------------
REDIS_URL = os.environ.get("REDIS_URL", "")
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django_redis.cache.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": "yiwang",
        }
    }
    HUEY = {
        "huey_class": "huey.RedisHuey",
        "name": "yiwang",
        "url": REDIS_URL,
        "immediate": False,
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "yiwang"}}
    VAR_DIR.mkdir(parents=True, exist_ok=True)  # the embedded task queue keeps its SQLite file here
    HUEY = {
        "huey_class": "huey.SqliteHuey",
        "name": "yiwang",
        "filename": str(VAR_DIR / "tasks.sqlite3"),
        "immediate": env_bool("YIWANG_TASKS_IMMEDIATE"),
    }

# --- Media: local folder unless S3-compatible storage is configured ---------------------------------------
MEDIA_ROOT = Path(os.environ.get("YIWANG_MEDIA_ROOT", VAR_DIR / "media"))
MEDIA_URL = "/media/"
STATIC_ROOT = VAR_DIR / "static"
STATIC_URL = "/static/"
if os.environ.get("YIWANG_MEDIA_STORAGE", "local") == "s3":
    _media_backend = {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            "bucket_name": os.environ.get("AWS_STORAGE_BUCKET_NAME", "yiwang-media"),
            "endpoint_url": os.environ.get("AWS_S3_ENDPOINT_URL") or None,
            "region_name": os.environ.get("AWS_S3_REGION_NAME") or None,
            "default_acl": None,
            "querystring_auth": True,
            "file_overwrite": False,
        },
    }
else:
    _media_backend = {"BACKEND": "django.core.files.storage.FileSystemStorage"}
STORAGES = {
    "default": _media_backend,
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if not DEBUG
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}

# --- People -----------------------------------------------------------------------------------------------
AUTH_USER_MODEL = "accounts.User"
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "web:login"
LOGIN_REDIRECT_URL = "web:home"

# --- Language and time ------------------------------------------------------------------------------------
LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", _("Simplified Chinese")), ("en", _("English"))]
LOCALE_PATHS = [BASE_DIR / "yiwang" / "locale"]
TIME_ZONE = "Asia/Shanghai"
USE_I18N = True
USE_TZ = True

# --- API --------------------------------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "yiwang.core.api.exception_handler",
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.LimitOffsetPagination",
    "PAGE_SIZE": 50,
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Yiwang API",
    "DESCRIPTION": "一网 grid-governance platform",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "ENUM_NAME_OVERRIDES": {
        "RegionLevelEnum": "yiwang.geo.choices.RegionLevel",
        "GridKindEnum": "yiwang.geo.choices.GridKind",
        "GridDutyEnum": "yiwang.geo.choices.GridDuty",
        "UnitKindEnum": "yiwang.org.choices.UnitKind",
        "PartyLevelEnum": "yiwang.org.choices.PartyLevel",
        "CategoryKindEnum": "yiwang.org.choices.CategoryKind",
        "CommitteeKindEnum": "yiwang.org.choices.CommitteeKind",
        "CaseStatusEnum": "yiwang.cases.choices.Status",
        "UrgencyEnum": "yiwang.org.choices.Urgency",
        "CatalogueStatusEnum": "yiwang.org.choices.CatalogueStatus",
        "ChannelEnum": "yiwang.cases.choices.Channel",
        "RatingEnum": "yiwang.cases.choices.Rating",
        "LimitUnitEnum": "yiwang.workcal.choices.LimitUnit",
        "ImportRunStatusEnum": "yiwang.imports.choices.RunStatus",
        "FileFormatEnum": "yiwang.imports.choices.FileFormat",
        "CrsEnum": "yiwang.imports.choices.Crs",
        "AttachmentKindEnum": "yiwang.cases.choices.AttachmentKind",
    },
}

# --- Yiwang -----------------------------------------------------------------------------------------------
# A base-map tile URL template (e.g. an intranet tile server). Empty: maps draw the grid polygons alone.
YIWANG_TILE_URL = os.environ.get("YIWANG_TILE_URL", "")
# How often (seconds) a process checks whether the grids changed in another process.
YIWANG_LOCATOR_RECHECK_SECONDS = float(os.environ.get("YIWANG_LOCATOR_RECHECK_SECONDS", "2"))
# The working periods of a working day (local time), for deadlines counted in working hours or days.
YIWANG_WORKING_HOURS = os.environ.get("YIWANG_WORKING_HOURS", "08:30-12:00,13:30-17:30")
# Case numbers read PREFIX + day + running number, e.g. XL20261121-000123.
YIWANG_CASE_PREFIX = os.environ.get("YIWANG_CASE_PREFIX", "YW")
# Open cases of the same category this near (metres) and this recent (days) are offered as duplicates.
YIWANG_DUPLICATE_RADIUS_M = float(os.environ.get("YIWANG_DUPLICATE_RADIUS_M", "100"))
YIWANG_DUPLICATE_DAYS = float(os.environ.get("YIWANG_DUPLICATE_DAYS", "7"))
# Attachments per step and their size limits.
YIWANG_MAX_ATTACHMENTS = int(os.environ.get("YIWANG_MAX_ATTACHMENTS", "9"))
YIWANG_MAX_PHOTO_BYTES = int(os.environ.get("YIWANG_MAX_PHOTO_BYTES", str(15 << 20)))
YIWANG_MAX_VIDEO_BYTES = int(os.environ.get("YIWANG_MAX_VIDEO_BYTES", str(100 << 20)))
# Django's own upload limits. A file larger than FILE_UPLOAD_MAX_MEMORY_SIZE is spooled to a temporary file
# (in FILE_UPLOAD_TEMP_DIR; the system's temporary folder when unset) and processed and stored from there by
# yiwang.media, never held whole in memory; keep it small. DATA_UPLOAD_MAX_MEMORY_SIZE bounds the other fields
# of a request (and a body that is not multipart), never its files. More files than
# DATA_UPLOAD_MAX_NUMBER_FILES are refused by Django before any is read; YIWANG_MAX_ATTACHMENTS says why first.
FILE_UPLOAD_MAX_MEMORY_SIZE = int(os.environ.get("YIWANG_UPLOAD_MEMORY_BYTES", str(2_621_440)))  # 2.5 MB
FILE_UPLOAD_TEMP_DIR = os.environ.get("YIWANG_UPLOAD_TEMP_DIR") or None
DATA_UPLOAD_MAX_MEMORY_SIZE = 2_621_440
DATA_UPLOAD_MAX_NUMBER_FILES = 100
# Photos are kept re-encoded with their longest side at most this many pixels.
YIWANG_PHOTO_MAX_SIDE = int(os.environ.get("YIWANG_PHOTO_MAX_SIDE", "2560"))
# A photo of more pixels is refused as a decompression bomb, from its header, before it is decoded.
YIWANG_MAX_PHOTO_PIXELS = int(os.environ.get("YIWANG_MAX_PHOTO_PIXELS", str(100_000_000)))
# Videos longer than this (seconds) are refused.
YIWANG_MAX_VIDEO_SECONDS = float(os.environ.get("YIWANG_MAX_VIDEO_SECONDS", "60"))
# How long a presigned URL for a file on S3 storage is valid (seconds).
YIWANG_MEDIA_URL_SECONDS = int(os.environ.get("YIWANG_MEDIA_URL_SECONDS", "300"))
# What a deadline breach does, by urgency: notify | supervise | escalate (see yiwang/cases/policies.py).
YIWANG_BREACH_POLICY = dict(
    item.split(":", 1) for item in os.environ.get(
        "YIWANG_BREACH_POLICY", "red:escalate,orange:supervise,yellow:supervise,green:notify").split(",") if item
)
# How often (seconds) the task queue runs the deadline sweep.
YIWANG_SWEEP_SECONDS = int(os.environ.get("YIWANG_SWEEP_SECONDS", "60"))
# Open311 (/open311/v2/): requests per API key, and per address for reads without a key ("N/min", "N/s" …);
# the contact the discovery document names.
YIWANG_OPEN311_RATE = os.environ.get("YIWANG_OPEN311_RATE", "600/min")
YIWANG_OPEN311_ANON_RATE = os.environ.get("YIWANG_OPEN311_ANON_RATE", "300/min")
YIWANG_OPEN311_CONTACT = os.environ.get("YIWANG_OPEN311_CONTACT", "")

# --- Notifications and webhooks (yiwang/notifications; README "Notifications and webhooks") -----------------
# Outbound channels besides the in-app inbox that may be used at all (each person can switch theirs off).
YIWANG_NOTIFY_CHANNELS = env_list("YIWANG_NOTIFY_CHANNELS", "sms,email")
# Seconds to wait after the 1st, 2nd … failed attempt; after the last wait's attempt fails, it has failed.
YIWANG_DELIVERY_BACKOFF = [int(s) for s in env_list("YIWANG_DELIVERY_BACKOFF", "60,300,1800,7200,43200")]
# Changes recorded with a time older than this (seconds) — imports of old cases, the demo's history — send
# nothing outward. 0: no limit.
YIWANG_OUTBOUND_MAX_AGE = int(os.environ.get("YIWANG_OUTBOUND_MAX_AGE", "3600"))
YIWANG_MESSAGE_SIGNATURE = os.environ.get("YIWANG_MESSAGE_SIGNATURE", "【一网】")  # SMS signature, e-mail subject
YIWANG_SMS_BACKEND = os.environ.get("YIWANG_SMS_BACKEND", "yiwang.notifications.sms.ConsoleBackend")
YIWANG_SMS_URL = os.environ.get("YIWANG_SMS_URL", "")  # for yiwang.notifications.sms.HttpGatewayBackend
YIWANG_SMS_TOKEN = os.environ.get("YIWANG_SMS_TOKEN", "")
YIWANG_SMS_TIMEOUT = float(os.environ.get("YIWANG_SMS_TIMEOUT", "10"))
YIWANG_SMS_MAX_CHARS = int(os.environ.get("YIWANG_SMS_MAX_CHARS", "140"))
# Sent and failed deliveries (and their attempt log) are kept this many days, then purged nightly.
YIWANG_DELIVERY_KEEP_DAYS = int(os.environ.get("YIWANG_DELIVERY_KEEP_DAYS", "90"))
YIWANG_WEBHOOK_TIMEOUT = float(os.environ.get("YIWANG_WEBHOOK_TIMEOUT", "10"))
# How long (seconds) a process keeps the list of active webhook subscriptions before reading it again.
YIWANG_WEBHOOK_RECHECK_SECONDS = float(os.environ.get("YIWANG_WEBHOOK_RECHECK_SECONDS", "5"))
# Whether webhooks may go to this machine (loopback) or link-local addresses: off but for development.
YIWANG_WEBHOOK_ALLOW_LOCAL = env_bool("YIWANG_WEBHOOK_ALLOW_LOCAL")
EMAIL_BACKEND = os.environ.get("YIWANG_EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")
DEFAULT_FROM_EMAIL = os.environ.get("YIWANG_EMAIL_FROM", "yiwang@localhost")
EMAIL_HOST = os.environ.get("YIWANG_EMAIL_HOST", "localhost")
EMAIL_PORT = int(os.environ.get("YIWANG_EMAIL_PORT", "25"))
EMAIL_HOST_USER = os.environ.get("YIWANG_EMAIL_USER", "")
EMAIL_HOST_PASSWORD = os.environ.get("YIWANG_EMAIL_PASSWORD", "")
EMAIL_USE_TLS = env_bool("YIWANG_EMAIL_USE_TLS")
EMAIL_USE_SSL = env_bool("YIWANG_EMAIL_USE_SSL")
EMAIL_TIMEOUT = 10

# --- Security ---------------------------------------------------------------------------------------------
SECURE = env_bool("YIWANG_SECURE")
SESSION_COOKIE_SECURE = SECURE
CSRF_COOKIE_SECURE = SECURE
SECURE_SSL_REDIRECT = SECURE
SECURE_HSTS_SECONDS = 31536000 if SECURE else 0
SECURE_HSTS_INCLUDE_SUBDOMAINS = SECURE
SECURE_HSTS_PRELOAD = SECURE
if env_bool("YIWANG_TRUST_X_FORWARDED_PROTO"):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SESSION_COOKIE_HTTPONLY = True
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": os.environ.get("YIWANG_LOG_LEVEL", "INFO")},
}

AUTHENTICATION_BACKENDS = ["yiwang.accounts.backends.RoleBackend"]
