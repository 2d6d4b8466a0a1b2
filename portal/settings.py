"""Patchproof settings: every value comes from the environment (see README, "Configuration")."""

from datetime import timedelta
from pathlib import Path

import dj_database_url
import django_stubs_ext
from django.core.exceptions import ImproperlyConfigured

from portal.env import env_bool, env_int, env_list, env_str

django_stubs_ext.monkeypatch()

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(env_str("PATCHPROOF_VAR_DIR", str(BASE_DIR / "var")))

DEBUG = env_bool("DEBUG", False)

SECRET_KEY = env_str("SECRET_KEY")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured(
            "SECRET_KEY is not set. It is required when DEBUG is off; "
            "generate one with: python -c 'import secrets; print(secrets.token_urlsafe(50))'"
        )
    # Development only: a fixed, obviously unsafe key, never a random one.
    SECRET_KEY = "django-insecure-patchproof-development-only-key-do-not-use-in-production"  # noqa: S105

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["127.0.0.1", "localhost"] if DEBUG else [])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_celery_beat",
    "csp",
    "axes",
    "portal.accounts",
    "portal.earlyaccess",
    "evidence",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "portal.outage.DatabaseOutageMiddleware",
    "csp.middleware.CSPMiddleware",
    "portal.accounts.headers.PermissionsPolicyMiddleware",
    # Last, as django-axes requires: it turns a locked-out sign-in into the lockout page.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "portal.urls"
WSGI_APPLICATION = "portal.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "portal.accounts.context_processors.organizations",
            ],
        },
    },
]

# Database: PostgreSQL in production (DATABASE_URL), a SQLite file under var/ by default.
DATABASE_URL = env_str("DATABASE_URL")
if not DATABASE_URL:
    VAR_DIR.mkdir(parents=True, exist_ok=True)
    DATABASE_URL = f"sqlite:///{VAR_DIR / 'patchproof.sqlite3'}"
DATABASES = {
    "default": dj_database_url.parse(
        DATABASE_URL,
        conn_max_age=env_int("DB_CONN_MAX_AGE", 60),
        conn_health_checks=True,
    )
}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
# Helper threads (each with a database connection of its own) that run the overview's largest
# queries while the request does its other work (portal.read_ahead); 0 turns them off.
READ_AHEAD_THREADS = env_int("READ_AHEAD_THREADS", 2, minimum=0)

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 12},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = "en-gb"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = VAR_DIR / "static"
STATICFILES_DIRS = [BASE_DIR / "static"]
MEDIA_ROOT = Path(env_str("MEDIA_ROOT", str(VAR_DIR / "media")))
MEDIA_URL = "/media/"  # never served directly: downloads go through access-checked views
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "whitenoise.storage.CompressedManifestStaticFilesStorage"
            if env_bool("STATIC_MANIFEST", False)
            else "django.contrib.staticfiles.storage.StaticFilesStorage"
        )
    },
}

# Redis: broker for Celery and the shared cache. Unset: tasks run in-process, local cache.
REDIS_URL = env_str("REDIS_URL")
if REDIS_URL:
    CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

# Celery. Task options live on each task (name, queue, time limits); these are the defaults.
CELERY_BROKER_URL = REDIS_URL or "memory://"
CELERY_TASK_ALWAYS_EAGER = not REDIS_URL
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_TASK_IGNORE_RESULT = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_DEFAULT_QUEUE = "ingest"
CELERY_TASK_ROUTES = {
    "evidence.sbom.*": {"queue": "ingest"},
    "evidence.exposures.*": {"queue": "ingest"},
    "evidence.feeds.*": {"queue": "feeds"},
    "evidence.packets.*": {"queue": "packets"},
    "evidence.controls.*": {"queue": "packets"},
    "evidence.notifications.*": {"queue": "feeds"},
}
# Longer than the longest task time limit, so an acked-late task is not delivered twice
# while it is still running.
# The sweeper (evidence.sweeper) sends queued work whose message may be lost again after this.
SWEEPER_QUEUED_AFTER_SECONDS = env_int("SWEEPER_QUEUED_AFTER_SECONDS", 10 * 60)
# How often a worker looks for messages of dead workers whose visibility timeout passed: every
# interval * throttle seconds (kombu's defaults: 10 * 10; the fault drills shorten them).
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "visibility_timeout": env_int("CELERY_VISIBILITY_TIMEOUT", 2 * 60 * 60),
    "unacked_restore_interval": env_int("CELERY_UNACKED_RESTORE_INTERVAL", 10),
    "unacked_restore_throttle": env_int("CELERY_UNACKED_RESTORE_THROTTLE", 10),
}
CELERY_TASK_SOFT_TIME_LIMIT = 10 * 60
CELERY_TASK_TIME_LIMIT = 15 * 60
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
CELERY_WORKER_HIJACK_ROOT_LOGGER = False

# Uploads. Raw SBOMs above this size are refused (and recorded as refused).
SBOM_MAX_BYTES = env_int("SBOM_MAX_BYTES", 50 * 1024 * 1024)
SBOM_MAX_DECOMPRESSED_BYTES = env_int("SBOM_MAX_DECOMPRESSED_BYTES", 500 * 1024 * 1024)
SBOM_MAX_DEPTH = env_int("SBOM_MAX_DEPTH", 64)
SBOM_MAX_COMPONENTS = env_int("SBOM_MAX_COMPONENTS", 500_000)
SBOM_MAX_STRING = env_int("SBOM_MAX_STRING", 8192)
DATA_UPLOAD_MAX_MEMORY_SIZE = SBOM_MAX_BYTES + 1024 * 1024
FILE_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024

# Advisory feeds: outbound fetches (http/https only), bounded in size and time.
FEED_MAX_BYTES = env_int("FEED_MAX_BYTES", 512 * 1024 * 1024)
FEED_MAX_DECOMPRESSED_BYTES = env_int("FEED_MAX_DECOMPRESSED_BYTES", 2 * 1024 * 1024 * 1024)
FEED_HTTP_TIMEOUT = env_int("FEED_HTTP_TIMEOUT", 60)  # s per connect/read; x10 per download
FEED_HTTP_RETRIES = env_int("FEED_HTTP_RETRIES", 3)  # on 5xx, 429, timeouts, resets only
FEED_HTTP_BACKOFF = env_int("FEED_HTTP_BACKOFF_MS", 2000) / 1000  # doubled per retry
FEED_MAX_DOCUMENTS = env_int("FEED_MAX_DOCUMENTS", 5000)  # per run, for changes.csv indexes

# Printed on audit packets and in their manifests (pyproject.toml's version).
PATCHPROOF_VERSION = "0.1.0"

# Evidence retention: how long SBOMs, feed payloads, exposures' history, evaluations and
# packets are kept. CPPA 11 CCR 7122(g): audit documents for at least five years.
EVIDENCE_RETENTION_DAYS = env_int("EVIDENCE_RETENTION_DAYS", 1827)

# Audit packets are signed with Ed25519. The private key (PEM, PKCS#8) is read from this file;
# when the default file does not exist it is generated there on first use (never committed:
# var/ is git-ignored). Production sets its own path, on a volume, readable by the worker only.
PACKET_SIGNING_KEY_FILE = env_str(
    "PACKET_SIGNING_KEY_FILE", str(VAR_DIR / "packet-signing-key.pem")
)

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "portal.accounts.authentication.BearerTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_SCHEMA_CLASS": "evidence.api.schema.ApiAutoSchema",
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.PageNumberPagination",
    "PAGE_SIZE": 100,
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Patchproof API",
    "DESCRIPTION": "Push SBOMs, manage fleets and hosts, and read evidence. "
    "Authenticate with `Authorization: Bearer <token>`.",
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    # Swagger UI served from the installed sidecar package, never from a CDN.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
}

# Security (issue 9) ------------------------------------------------------------------------
# Production (DEBUG off) defaults are the safe ones; each can be relaxed by env.
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", not DEBUG)
SESSION_COOKIE_SECURE = env_bool("SESSION_COOKIE_SECURE", not DEBUG)
CSRF_COOKIE_SECURE = env_bool("CSRF_COOKIE_SECURE", not DEBUG)
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 0 if DEBUG else 31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", not DEBUG)
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", False)
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
SESSION_COOKIE_HTTPONLY = True
X_FRAME_OPTIONS = "DENY"
# Browser features no page of the portal uses (PermissionsPolicyMiddleware sends this).
PERMISSIONS_POLICY = "camera=(), microphone=(), geolocation=(), payment=(), usb=()"

# Content-Security-Policy (django-csp). Advisory and SBOM text is untrusted: should an escaping
# bug ever let markup through, no inline script or outside resource may run or load. Scripts
# and styles come only from our static files; the SVG charts use presentation attributes, not
# inline styles, so no 'unsafe-inline' is needed anywhere. The one exception, Swagger UI's
# inline <style> at /api/docs/, is granted on that view alone (portal/urls.py).
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "font-src": ["'self'"],
        "connect-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    }
}

# Sign-in throttling (django-axes): after LOGIN_FAILURE_LIMIT failed passwords for one account
# from one address, that pair is refused for LOGIN_COOLOFF_MINUTES after the last attempt (a
# further attempt while locked restarts the wait). Other accounts and addresses are unaffected.
AUTHENTICATION_BACKENDS = [
    "portal.accounts.lockout.LoginThrottleBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AXES_FAILURE_LIMIT = env_int("LOGIN_FAILURE_LIMIT", 5)
AXES_COOLOFF_TIME = timedelta(minutes=env_int("LOGIN_COOLOFF_MINUTES", 15))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_CALLABLE = "portal.accounts.lockout.lockout_response"
AXES_CLIENT_IP_CALLABLE = "portal.accounts.lockout.login_client_ip"
# Successful sign-ins are not logged by axes: its log has no retention and no tenant.
AXES_DISABLE_ACCESS_LOG = True
AXES_VERBOSE = False
# Reverse proxies in front of the web service that append to X-Forwarded-For (0: none, the
# client is REMOTE_ADDR); used by the sign-in throttle and the early-access rate limits. Too
# high a number lets clients choose their own address.
TRUSTED_PROXIES = env_int("TRUSTED_PROXIES", 0)
# API tokens expire this many days after they are issued unless given their own date (0: never).
API_TOKEN_LIFETIME_DAYS = env_int("API_TOKEN_LIFETIME_DAYS", 365)
# End of security (issue 9) -----------------------------------------------------------------

# Webhooks to loopback/private/link-local addresses are refused unless this is on (SSRF guard).
WEBHOOK_ALLOW_PRIVATE = env_bool("WEBHOOK_ALLOW_PRIVATE", DEBUG)
EMAIL_BACKEND = env_str("EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")
EMAIL_HOST = env_str("EMAIL_HOST", "localhost")
EMAIL_PORT = env_int("EMAIL_PORT", 25)
EMAIL_HOST_USER = env_str("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = env_str("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", False)
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "Patchproof <noreply@patchproof.example>")

# The privacy notice version the early-access consent refers to (issue 8 versions the text).
PRIVACY_NOTICE_VERSION = env_str("PRIVACY_NOTICE_VERSION", "2026-11")

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
        "weasyprint": {"level": "WARNING"},
        "fontTools": {"level": "WARNING"},
        "axes": {"level": "WARNING"},  # not a line per sign-in
    },
}

# Early access -----------------------------------------------------------------------------
# The public Azure Linux 4 registration (portal/earlyaccess); see README, "Early access".
# Links in emails are built on SITE_URL (emails are sent by workers, outside any request).
SITE_URL = env_str("SITE_URL", "http://127.0.0.1:8000").rstrip("/")
EARLY_ACCESS_CONFIRM_HOURS = env_int("EARLY_ACCESS_CONFIRM_HOURS", 48)  # confirm/delete links
EARLY_ACCESS_DATA_LINK_DAYS = env_int("EARLY_ACCESS_DATA_LINK_DAYS", 30)  # "your data" links
EARLY_ACCESS_INVITATION_DAYS = env_int("EARLY_ACCESS_INVITATION_DAYS", 7)  # set-password links
# Submissions per client address and per email address within the window (cache-backed:
# Redis when REDIS_URL is set, so the limits hold across web processes).
EARLY_ACCESS_RATE_WINDOW_SECONDS = env_int("EARLY_ACCESS_RATE_WINDOW_SECONDS", 3600)
EARLY_ACCESS_RATE_PER_CLIENT = env_int("EARLY_ACCESS_RATE_PER_CLIENT", 20)
EARLY_ACCESS_RATE_PER_EMAIL = env_int("EARLY_ACCESS_RATE_PER_EMAIL", 5)
# (The client address is counted as TRUSTED_PROXIES says, see the security block.)
EARLY_ACCESS_MAX_BODY_BYTES = env_int("EARLY_ACCESS_MAX_BODY_BYTES", 16 * 1024)
# Retention (a daily beat task): unconfirmed registrations are deleted, rejected ones erased.
EARLY_ACCESS_UNCONFIRMED_DAYS = env_int("EARLY_ACCESS_UNCONFIRMED_DAYS", 30)
EARLY_ACCESS_REJECTED_DAYS = env_int("EARLY_ACCESS_REJECTED_DAYS", 180)
CELERY_TASK_ROUTES["portal.earlyaccess.*"] = {"queue": "feeds"}
# End of early access ----------------------------------------------------------------------
