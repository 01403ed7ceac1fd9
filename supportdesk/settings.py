"""SupportDesk settings, read from environment variables.

With nothing set, SupportDesk runs embedded: SQLite under ``var/`` and a Celery broker
on the local filesystem, so the web server, a worker and beat run with no service
installed. ``DATABASE_URL`` and ``REDIS_URL`` (or ``CELERY_BROKER_URL``) switch to
PostgreSQL and Redis. ``SUPPORTDESK_ENV=production`` turns on the production checks.
"""

from datetime import timedelta
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

from .env import env_bool, env_int, env_list, env_str
from .queues import celery_queue_settings
from .storage import file_storage_setting
from .webhooks import INBOUND_ESPS, inbound_esps_setting

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(env_str("SUPPORTDESK_VAR_DIR", str(BASE_DIR / "var"))).resolve()

# demo: the embedded, batteries-included mode of `make run`; production: docker-compose.
SUPPORTDESK_ENV = env_str("SUPPORTDESK_ENV", "demo")
if SUPPORTDESK_ENV not in {"demo", "production"}:
    raise ImproperlyConfigured(
        f"SUPPORTDESK_ENV={SUPPORTDESK_ENV!r}: use 'demo' (default) or 'production'."
    )
PRODUCTION = SUPPORTDESK_ENV == "production"

INSECURE_DEFAULT_SECRET_KEY = "django-insecure-supportdesk-demo-key-change-me"  # noqa: S105
SECRET_KEY = env_str("SECRET_KEY", INSECURE_DEFAULT_SECRET_KEY)
DEBUG = env_bool("DEBUG", default=not PRODUCTION)
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", [] if PRODUCTION else ["127.0.0.1", "localhost", "[::1]"])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])

if PRODUCTION:
    # Refuse to start rather than run a public desk with a known key or debug pages.
    if DEBUG:
        raise ImproperlyConfigured("SUPPORTDESK_ENV=production refuses DEBUG=1: set DEBUG=0.")
    if SECRET_KEY == INSECURE_DEFAULT_SECRET_KEY or len(SECRET_KEY) < 32:
        raise ImproperlyConfigured(
            "SUPPORTDESK_ENV=production needs SECRET_KEY: set it to a random string of at "
            "least 32 characters (python -c 'import secrets; print(secrets.token_urlsafe(50))')."
        )
    if not ALLOWED_HOSTS:
        raise ImproperlyConfigured(
            "SUPPORTDESK_ENV=production needs ALLOWED_HOSTS (comma-separated host names)."
        )
    # HTTPS only, behind a TLS-terminating proxy that sets X-Forwarded-Proto
    # (`manage.py check --deploy` is clean with docker-compose.yml's settings).
    SESSION_COOKIE_SECURE = env_bool("SESSION_COOKIE_SECURE", True)
    CSRF_COOKIE_SECURE = env_bool("CSRF_COOKIE_SECURE", True)
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", True)
    # The container's plain-HTTP probe of /healthz is answered before this redirect
    # (supportdesk.middleware.HealthProbeAnyHost, first in MIDDLEWARE).
    SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 365 * 24 * 3600)
    # Subdomains of the desk's own host name (not its siblings'); preload only matters
    # once the name is submitted to the browsers' list.
    SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", True)
    SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", True)

INSTALLED_APPS = [
    "supportdesk",  # the production checks that need the apps (supportdesk/apps.py)
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "anymail",
    "tickets",
    "channels_app",
    "mailboxes",
    "sla",
    "duplicates",
    "outbox",
    "drf_spectacular",
    "kb",
    "portal",
    "api",
    "workspace",
    "webcache",
    "axes",  # admin sign-in lockouts
    "search",
    "csat",
    "reports",
]

MIDDLEWARE = [
    "supportdesk.middleware.HealthProbeAnyHost",  # before any Host check: the container probe
    "django.middleware.security.SecurityMiddleware",
    "supportdesk.middleware.RefuseUnusableCharacters",
    # ESP webhook posts: straight to their view, none of the browser middleware below.
    "channels_app.middleware.InboundWebhooksDirect",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "supportdesk.middleware.LocaleMiddleware",  # Django's, without the unused URL-prefix work
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    # Django's, handing the sign-in version read with the session to the user's backend.
    "supportdesk.signin.SigninAuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "portal.i18n.PortalLocaleMiddleware",  # the customer's language and zone in the portal
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "axes.middleware.AxesMiddleware",  # answers a locked-out sign-in with 429
    "supportdesk.middleware.PlainErrorsForCustomers",  # no debug page for customers
]
# The debug page (demo, signed-in staff only) hides the service URLs too.
DEFAULT_EXCEPTION_REPORTER_FILTER = "supportdesk.errors.ReporterFilter"

ROOT_URLCONF = "supportdesk.urls"
WSGI_APPLICATION = "supportdesk.wsgi.application"

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
                "portal.lines.line_context",
            ],
        },
    },
]

# --- Database -------------------------------------------------------------------------
DATABASE_URL = env_str("DATABASE_URL")
if DATABASE_URL:
    DATABASES = {
        "default": dj_database_url.parse(
            DATABASE_URL, conn_max_age=env_int("DB_CONN_MAX_AGE", 60), conn_health_checks=True
        )
    }
else:
    VAR_DIR.mkdir(parents=True, exist_ok=True)
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": str(VAR_DIR / "supportdesk.sqlite3"),
            "OPTIONS": {
                # WAL lets the web process read while the worker writes; IMMEDIATE takes
                # the write lock at BEGIN, so a waiting writer queues on the busy timeout
                # instead of failing with "database is locked" on lock upgrade.
                "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
                "transaction_mode": "IMMEDIATE",
                "timeout": 30,
            },
            # A file, not :memory:, so a worker process can open the test database too.
            "TEST": {"NAME": str(VAR_DIR / "test-supportdesk.sqlite3")},
        }
    }
# Lets a worker started by the test suite open the test database (test_<name>).
if db_name_override := env_str("SUPPORTDESK_DB_NAME"):
    DATABASES["default"]["NAME"] = db_name_override
DATABASES["default"]["ATOMIC_REQUESTS"] = False
# A read replica for lag-tolerant reads (search, reports, list counts): supportdesk/db_router.py.
if DATABASE_REPLICA_URL := env_str("DATABASE_REPLICA_URL"):
    DATABASES["replica"] = dj_database_url.parse(
        DATABASE_REPLICA_URL, conn_max_age=env_int("DB_CONN_MAX_AGE", 60), conn_health_checks=True
    )
    # The test run has no replica of its test database: there it reads the primary.
    DATABASES["replica"]["TEST"] = {"MIRROR": "default"}
# PostgreSQL's health check without a round trip while the server has said nothing
# (supportdesk/postgresql/base.py); the rest is Django's backend.
for _db in DATABASES.values():
    if _db["ENGINE"] == "django.db.backends.postgresql":
        _db["ENGINE"] = "supportdesk.postgresql"
DATABASE_ROUTERS = ["supportdesk.db_router.PrimaryReplicaRouter"]
# The workspace's reads as prepared statements, planned once per connection
# (workspace/prepared.py), each department, line and saved view with a statement (and a
# plan) of its own. Off (0) behind a pooler in transaction mode (pgbouncer).
DB_PREPARED_STATEMENTS = env_bool("DB_PREPARED_STATEMENTS", True)
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Auth, i18n, static -----------------------------------------------------------------
# django-axes counts failed admin sign-ins: after AXES_FAILURE_LIMIT wrong passwords for
# one user name from one address, that pair is locked out for the cool-off (429). Per
# pair, not per user name alone: nobody can lock an agent out from elsewhere.
# workspace.auth.AgentBackend is ModelBackend with the permissions read in fewer queries;
# ModelBackend stays listed so sessions signed in through it keep working.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "workspace.auth.AgentBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AXES_FAILURE_LIMIT = env_int("AXES_FAILURE_LIMIT", 5)
AXES_COOLOFF_TIME = timedelta(minutes=env_int("AXES_COOLOFF_MINUTES", 15))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
# Proxies in front of the desk that append to X-Forwarded-For (docker-compose: 1): the
# client address for lockouts and rate limits is the one the nearest of them saw.
SUPPORTDESK_TRUSTED_PROXIES = env_int("SUPPORTDESK_TRUSTED_PROXIES", 0)
AXES_CLIENT_IP_CALLABLE = "supportdesk.client_ip.client_ip"
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LANGUAGE_CODE = "en"  # the same in every thread, with or without a request (list cache keys)
# The agents' workspace speaks these (each agent picks one in the workspace settings).
# Customers are answered in English, Dutch, Spanish and Russian (tickets.models.Language:
# the portal, the knowledge base and auto-replies; portal.i18n picks theirs).
LANGUAGES = [("en", "English"), ("ru", "Русский")]
TIME_ZONE = env_str("TIME_ZONE", "UTC")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = Path(env_str("STATIC_ROOT", str(VAR_DIR / "static")))
if not PRODUCTION:
    STATIC_ROOT.mkdir(parents=True, exist_ok=True)  # whitenoise warns about a missing root
MEDIA_URL = "media/"
MEDIA_ROOT = Path(env_str("MEDIA_ROOT", str(VAR_DIR / "media")))
STORAGES = {
    "default": file_storage_setting(),  # the filesystem, or S3 with SUPPORTDESK_S3_BUCKET
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if PRODUCTION
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}
# Downloads are streamed through the web process after the permission check; with this on
# (and an object store browsers can reach) they redirect to a signed URL valid for
# SUPPORTDESK_FILE_URL_SECONDS instead (tickets/downloads.py).
SUPPORTDESK_FILES_REDIRECT = env_bool("SUPPORTDESK_FILES_REDIRECT", False)
# Stored files no attachment refers to (a message whose transaction rolled back after its
# upload) are removed by beat once they are this old, every SUPPORTDESK_ORPHANS_EVERY_SECONDS.
SUPPORTDESK_ORPHAN_GRACE_SECONDS = env_int("SUPPORTDESK_ORPHAN_GRACE_SECONDS", 6 * 3600)
# In demo mode whitenoise serves straight from the apps' static folders (no collectstatic).
WHITENOISE_USE_FINDERS = not PRODUCTION

# --- Celery -----------------------------------------------------------------------------
REDIS_URL = env_str("REDIS_URL")
CELERY_BROKER_URL = env_str("CELERY_BROKER_URL", REDIS_URL or "filesystem://")
BROKER_DIR = Path(env_str("SUPPORTDESK_BROKER_DIR", str(VAR_DIR / "broker")))
# Queues are read in the order CELERY_TASK_QUEUES lists them (below), not round robin.
CELERY_BROKER_TRANSPORT_OPTIONS: dict[str, object] = {"queue_order_strategy": "priority"}
if CELERY_BROKER_URL.startswith(("redis://", "rediss://")):
    # A frozen or vanished Redis must not hang a request that queues a task, nor a worker
    # (without these, a publish waits forever on a dead connection).
    CELERY_BROKER_TRANSPORT_OPTIONS |= {
        "socket_timeout": float(env_str("CELERY_BROKER_SOCKET_TIMEOUT", "5")),
        "socket_connect_timeout": float(env_str("CELERY_BROKER_CONNECT_TIMEOUT", "3")),
    }
if CELERY_BROKER_URL.startswith("filesystem://"):
    # kombu's filesystem transport: the embedded broker, a folder both processes share.
    BROKER_DIR.mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_TRANSPORT_OPTIONS |= {
        "data_folder_in": str(BROKER_DIR),
        "data_folder_out": str(BROKER_DIR),
        "processed_folder": str(BROKER_DIR),
        "control_folder": str(BROKER_DIR / "control"),
        "store_processed": False,
    }
    # filesystem:// is kombu's folder transport writing each message whole before a worker
    # can take it (fs_broker.py); by its URL scheme, so another broker URL still works.
    from kombu.transport import TRANSPORT_ALIASES

    TRANSPORT_ALIASES["filesystem"] = "supportdesk.fs_broker:Transport"
_queues = celery_queue_settings(env_str("SUPPORTDESK_CELERY_QUEUE", "supportdesk"))
CELERY_TASK_DEFAULT_QUEUE = _queues["task_default_queue"]
CELERY_TASK_QUEUES = _queues["task_queues"]  # main, then follow-ups (see supportdesk/queues.py)
CELERY_TASK_ROUTES = _queues["task_routes"]
CELERY_TASK_ACKS_LATE = True  # tasks are idempotent: a worker crash re-delivers, never loses
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SOFT_TIME_LIMIT = env_int("CELERY_TASK_SOFT_TIME_LIMIT", 120)
CELERY_TASK_TIME_LIMIT = env_int("CELERY_TASK_TIME_LIMIT", 180)
CELERY_TASK_IGNORE_RESULT = True
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TIMEZONE = "UTC"
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celerybeat-schedule")
if CELERY_BROKER_URL.startswith(("redis://", "rediss://")):
    # Any number of beats; one schedules, holding a lease in Redis it renews every tick
    # (at most every BEAT_MAX_LOOP_INTERVAL s). If it dies, another takes over once the
    # lease runs out: within lease + loop interval (30 + 5 s). supportdesk/beat.py.
    CELERY_BEAT_SCHEDULER = "supportdesk.beat:LeasedScheduler"
    CELERY_REDBEAT_REDIS_URL = CELERY_BROKER_URL
    CELERY_REDBEAT_REDIS_OPTIONS = {  # a frozen Redis fails a tick instead of hanging it
        "socket_timeout": CELERY_BROKER_TRANSPORT_OPTIONS["socket_timeout"],
        "socket_connect_timeout": CELERY_BROKER_TRANSPORT_OPTIONS["socket_connect_timeout"],
    }
    CELERY_REDBEAT_KEY_PREFIX = env_str("SUPPORTDESK_BEAT_KEY_PREFIX", "supportdesk-beat")
    CELERY_REDBEAT_LOCK_TIMEOUT = env_int("SUPPORTDESK_BEAT_LEASE_SECONDS", 30)
    CELERY_BEAT_MAX_LOOP_INTERVAL = max(1, min(5, CELERY_REDBEAT_LOCK_TIMEOUT // 3))
CELERY_BEAT_SCHEDULE = {
    "requeue-stale-inbound": {
        "task": "channels_app.requeue_stale_inbound",
        "schedule": env_int("SUPPORTDESK_REQUEUE_EVERY_SECONDS", 30),
    },
    "remove-orphan-files": {
        "task": "tickets.remove_orphan_files",
        "schedule": env_int("SUPPORTDESK_ORPHANS_EVERY_SECONDS", 3600),
    },
}

# --- Cache and sessions -----------------------------------------------------------------
# With Redis, sessions are read from it (``cached_db``: written through to the database,
# so a Redis restart signs nobody out). A session read from PostgreSQL through the ORM is
# ~1 ms of CPU: the biggest single cost of a signed-in portal or admin page. The key
# prefix keeps the cache apart from Celery's keys in a shared Redis database; nothing
# here ever flushes the database.
CACHE_URL = env_str("CACHE_URL", REDIS_URL)
if CACHE_URL:
    CACHES = {
        "default": {
            "BACKEND": "django_redis.cache.RedisCache",
            "LOCATION": CACHE_URL,
            "KEY_PREFIX": env_str("CACHE_KEY_PREFIX", "sdcache"),
            # A Redis call takes well under a millisecond: a stopped or frozen Redis costs
            # a request at most this, then sessions and lists use the database.
            "OPTIONS": {
                "SOCKET_CONNECT_TIMEOUT": float(env_str("CACHE_CONNECT_TIMEOUT", "1")),
                "SOCKET_TIMEOUT": float(env_str("CACHE_SOCKET_TIMEOUT", "1")),
            },
        }
    }
    # cached_db with every cache call guarded: sessions outlive Redis (sessions.py).
    SESSION_ENGINE = "supportdesk.sessions"
# After a Redis error, sessions and lists use the database alone for this long (per
# process) before trying Redis again (supportdesk/redis_guard.py).
SUPPORTDESK_REDIS_RETRY_SECONDS = float(env_str("SUPPORTDESK_REDIS_RETRY_SECONDS", "5"))
# Ticket lists (portal, API, admin) are served from the cache until a write changes what
# they show, for at most this long (webcache/list_cache.py). Only with a cache all
# processes share: 0 (off) without Redis.
SUPPORTDESK_LIST_CACHE_SECONDS = env_int("SUPPORTDESK_LIST_CACHE_SECONDS", 300) if CACHE_URL else 0
# The workspace's list rows as HTML, kept per process: at most this many rows (~1.5 kB
# each); 0 renders every row on every page (workspace/listing.py).
SUPPORTDESK_ROW_FRAGMENTS = env_int("SUPPORTDESK_ROW_FRAGMENTS", 5000)
# The sidebar's counts are kept per process until the lists' read model changes (a
# version PostgreSQL keeps), the next due moment passes, or this many seconds pass
# (workspace/counts.py); 0: counted on every poll (the uncached bench figure).
SUPPORTDESK_COUNTS_SECONDS = env_int("SUPPORTDESK_COUNTS_SECONDS", 10)
# A signed-in user (with their agent profile and permissions) is kept per process while
# the sign-in version read with the session is unchanged (supportdesk/signin.py), for at
# most this long: what a change that sends no signal (QuerySet.update, raw SQL) may take
# to show. 0: read on every request.
SUPPORTDESK_SIGNIN_KEEP_SECONDS = env_int("SUPPORTDESK_SIGNIN_KEEP_SECONDS", 60)
# The ticket page keeps this many messages' HTML per process (workspace/message_html.py;
# at most 4,096 characters each on average); 0: every message is written on every page
# (the uncached bench figure).
SUPPORTDESK_MESSAGE_FRAGMENTS = env_int("SUPPORTDESK_MESSAGE_FRAGMENTS", 20000)

# --- Email ------------------------------------------------------------------------------
# Any anymail ESP backend works (e.g. anymail.backends.mailgun.EmailBackend); the
# console backend prints outgoing mail in demo mode.
EMAIL_BACKEND = env_str("EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "SupportDesk <support@supportdesk.localhost>")
SERVER_EMAIL = env_str("SERVER_EMAIL", DEFAULT_FROM_EMAIL)
EMAIL_HOST = env_str("EMAIL_HOST", "localhost")
EMAIL_PORT = env_int("EMAIL_PORT", 25)
EMAIL_HOST_USER = env_str("EMAIL_HOST_USER")
EMAIL_HOST_PASSWORD = env_str("EMAIL_HOST_PASSWORD")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", False)
# Seconds an SMTP connection may hang before the send counts as a temporary failure.
EMAIL_TIMEOUT = env_int("EMAIL_TIMEOUT", 30)
ANYMAIL = {
    # Shared secret for inbound/tracking webhooks ("user:password" basic auth).
    "WEBHOOK_SECRET": env_str("ANYMAIL_WEBHOOK_SECRET") or None,
    "MAILGUN_API_KEY": env_str("MAILGUN_API_KEY") or None,
    "MAILGUN_WEBHOOK_SIGNING_KEY": env_str("MAILGUN_WEBHOOK_SIGNING_KEY") or None,
    "POSTMARK_SERVER_TOKEN": env_str("POSTMARK_SERVER_TOKEN") or None,
    "SENDGRID_API_KEY": env_str("SENDGRID_API_KEY") or None,
}
ANYMAIL = {key: value for key, value in ANYMAIL.items() if value is not None}
# ESPs whose inbound webhooks (/anymail/<esp>/inbound/) are served; in production each
# must be authenticated (supportdesk/webhooks.py), or the desk refuses to start.
SUPPORTDESK_INBOUND_ESPS = inbound_esps_setting(
    env_list("SUPPORTDESK_INBOUND_ESPS", list(INBOUND_ESPS))
)

# --- SupportDesk ------------------------------------------------------------------------
SUPPORTDESK_TICKET_PREFIX = env_str("SUPPORTDESK_TICKET_PREFIX", "SD")
# Raw inbound records still `received` after this long are re-enqueued by beat (which
# looks every SUPPORTDESK_REQUEUE_EVERY_SECONDS, 30): a lost queue entry is noticed within
# a minute. A worker re-enqueues all of them whenever it connects to the broker.
SUPPORTDESK_REQUEUE_AFTER_SECONDS = env_int("SUPPORTDESK_REQUEUE_AFTER_SECONDS", 30)
# Records per worker task when many arrive together (imports, mailbox polls, re-queues):
# one transaction and bulk lookups per batch instead of a task and ~20 queries per mail.
# 200, not 50: a batch's fixed statements and its follow-up tasks (detection, report facts,
# acknowledgements) spread over 4x the mails: 1.0 statement a mail, was 2.5 (issue 16).
SUPPORTDESK_INBOUND_BATCH = env_int("SUPPORTDESK_INBOUND_BATCH", 200)
# Webhook mail is collected this long after the first delivery, then queued in batches
# (channels_app/windows.py); 0: one task per mail.
SUPPORTDESK_WEBHOOK_WINDOW_SECONDS = float(env_str("SUPPORTDESK_WEBHOOK_WINDOW_SECONDS", "0.2"))
# Processing attempts a record gets (each counted before it starts, so one that crashes
# the worker counts too); then it ends `failed` and waits for an agent's "Process again".
SUPPORTDESK_INBOUND_MAX_ATTEMPTS = env_int("SUPPORTDESK_INBOUND_MAX_ATTEMPTS", 5)
# Region used to read phone numbers written without a country code (ISO 3166 alpha-2).
SUPPORTDESK_PHONE_REGION = env_str("SUPPORTDESK_PHONE_REGION", "NL")
# Search also reads such numbers in these countries (the first one a number is valid in
# wins): "8 (495) 123-45-67" finds +74951234567.
SUPPORTDESK_SEARCH_PHONE_REGIONS = [
    r.upper() for r in env_list("SUPPORTDESK_SEARCH_PHONE_REGIONS", ["RU", "NL", "ES", "GB", "DE"])
]
# Where agents open the desk, for links in mails written outside a request (notification
# copies); empty: the mails name the ticket and its path only.
SUPPORTDESK_BASE_URL = env_str(
    "SUPPORTDESK_BASE_URL", "" if PRODUCTION else "http://127.0.0.1:8000"
).rstrip("/")

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
    # axes logs every sign-in at INFO; its lockouts are WARNING.
    "loggers": {"django.db.backends": {"level": "WARNING"}, "axes": {"level": "WARNING"}},
}

# --- Portal, knowledge base, live chat and REST API (issue 5) ----------------------------
# Magic sign-in links expire after this many seconds and work once.
SUPPORTDESK_MAGIC_LINK_MAX_AGE = env_int("SUPPORTDESK_MAGIC_LINK_MAX_AGE", 900)
# Sign-in link requests: at most this many per address per 15 minutes and per client
# address per hour (portal/sign_in_limits.py); more get the same answer and no mail.
SUPPORTDESK_SIGN_IN_PER_ADDRESS = env_int("SUPPORTDESK_SIGN_IN_PER_ADDRESS", 3)
SUPPORTDESK_SIGN_IN_PER_IP = env_int("SUPPORTDESK_SIGN_IN_PER_IP", 20)
# API request rates (DRF throttles, api/throttles.py): per integration, and per client
# address for calls without valid credentials.
SUPPORTDESK_API_RATE = env_str("SUPPORTDESK_API_RATE", "1200/min")
SUPPORTDESK_API_ANON_RATE = env_str("SUPPORTDESK_API_ANON_RATE", "60/min")
# An agent counts as online for chat this long after the last heartbeat from the admin.
SUPPORTDESK_PRESENCE_TIMEOUT = env_int("SUPPORTDESK_PRESENCE_TIMEOUT", 90)
# HMAC-SHA256 secrets of integrations that sign request bodies instead of sending a token:
# "name:secret,name2:secret2" (integrations can also be created in the admin).
SUPPORTDESK_API_HMAC_SECRETS = dict(
    item.split(":", 1) for item in env_list("SUPPORTDESK_API_HMAC_SECRETS", []) if ":" in item
)
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "api.auth.IntegrationTokenAuthentication",
        "api.auth.HmacSignatureAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["api.auth.IsIntegration"],
    "DEFAULT_THROTTLE_CLASSES": [
        "api.throttles.IntegrationRateThrottle",
        "api.throttles.AddressRateThrottle",
    ],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["api.parsers.StrictJSONParser"],
}
SPECTACULAR_SETTINGS = {
    "TITLE": "SupportDesk API",
    "DESCRIPTION": "Push chat lines and call records; list, read and open tickets.",
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    "SERVE_PERMISSIONS": ["rest_framework.permissions.AllowAny"],
    "SERVE_AUTHENTICATION": [],
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "api.schema.add_error_responses",
    ],
}

# --- Attachments: one policy for every channel (tickets/attachment_policy.py) ----------
# Files larger than this, of a blocked extension or type, or with executable content are
# never stored: email keeps the mail with a note, the portal and the API refuse the file.
# (The SUPPORTDESK_EMAIL_* names are the former, email-only ones, still read.)
SUPPORTDESK_ATTACHMENT_MAX_BYTES = env_int(
    "SUPPORTDESK_ATTACHMENT_MAX_BYTES",
    env_int("SUPPORTDESK_EMAIL_MAX_ATTACHMENT_BYTES", 25 * 1024 * 1024),
)
SUPPORTDESK_ATTACHMENT_BLOCKED_EXTENSIONS = env_list(
    "SUPPORTDESK_ATTACHMENT_BLOCKED_EXTENSIONS",
    env_list(
        "SUPPORTDESK_EMAIL_BLOCKED_EXTENSIONS",
        [".exe", ".scr", ".bat", ".cmd", ".com", ".pif", ".vbs", ".vbe", ".js", ".jse", ".msi",
         ".msp", ".hta", ".cpl", ".jar", ".ps1", ".psm1", ".lnk", ".reg", ".wsf", ".wsh",
         ".dll", ".sys", ".gadget", ".application", ".appx", ".msix"],
    ),
)  # fmt: skip
SUPPORTDESK_EMAIL_MAX_ATTACHMENT_BYTES = SUPPORTDESK_ATTACHMENT_MAX_BYTES
# Largest mail taken whole on the ESP webhook URLs (by default room for the largest
# attachment in base64 and its text); a larger one is stored without the attachments
# that do not fit, and answered 200 so the ESP does not retry it.
SUPPORTDESK_WEBHOOK_MAX_BYTES = env_int(
    "SUPPORTDESK_WEBHOOK_MAX_BYTES", SUPPORTDESK_ATTACHMENT_MAX_BYTES * 4 // 3 + 2**21
)

# --- Email channel (issue 3) ------------------------------------------------------------
# The reseller ID customers quote in a subject or body (first group = the ID).
SUPPORTDESK_RESELLER_PATTERN = env_str(
    "SUPPORTDESK_RESELLER_PATTERN", r"(?i)reseller\s*(?:id)?\s*[:#]?\s*(\d{3,10})\b"
)
# Automatic acknowledgements: on/off, and at most this many per sender per hour.
SUPPORTDESK_AUTO_REPLY_ENABLED = env_bool("SUPPORTDESK_AUTO_REPLY_ENABLED", True)
SUPPORTDESK_AUTO_REPLY_PER_HOUR = env_int("SUPPORTDESK_AUTO_REPLY_PER_HOUR", 5)
# Domain of the Message-IDs we generate (replies thread by them).
SUPPORTDESK_EMAIL_MESSAGE_ID_DOMAIN = env_str(
    "SUPPORTDESK_EMAIL_MESSAGE_ID_DOMAIN", "supportdesk.localhost"
)
# IMAP mailboxes live in the admin (Mailboxes, the mailboxes app). The JSON variable of
# earlier releases, [{"name": "support", "host": "imap.example.com", "username": "...",
# "password": "...", "folder": "INBOX", "port": 993, "move_to": "Processed"}], is read for
# one more release: `migrate` copies each of its mailboxes to a row (mailboxes/legacy.py).
SUPPORTDESK_IMAP_MAILBOXES = __import__("json").loads(
    env_str("SUPPORTDESK_IMAP_MAILBOXES", "[]") or "[]"
)
SUPPORTDESK_IMAP_POLL_SECONDS = env_int("SUPPORTDESK_IMAP_POLL_SECONDS", 60)
# Fernet keys that encrypt mailbox credentials at rest, comma-separated: the first
# encrypts, all decrypt (mailboxes/crypto.py). Required in production.
SUPPORTDESK_MAILBOX_KEYS = env_list("SUPPORTDESK_MAILBOX_KEYS", [])
# Every socket operation of a poll waits at most this long for the server.
SUPPORTDESK_IMAP_TIMEOUT_SECONDS = env_int("SUPPORTDESK_IMAP_TIMEOUT_SECONDS", 30)
# A poll's hold on its mailbox, renewed with every mail stored (a dead worker's expires).
SUPPORTDESK_IMAP_LOCK_SECONDS = env_int("SUPPORTDESK_IMAP_LOCK_SECONDS", 150)
# How often a poll also compares the server's last backfill_days of mail with the desk's.
SUPPORTDESK_IMAP_RECONCILE_MINUTES = env_int("SUPPORTDESK_IMAP_RECONCILE_MINUTES", 15)
# Health: a mailbox without a successful poll for this long is stalled; this many polls
# in a row with an error is failing. Either alerts the admins (mail and workspace).
SUPPORTDESK_MAILBOX_STALLED_MINUTES = env_int("SUPPORTDESK_MAILBOX_STALLED_MINUTES", 15)
SUPPORTDESK_MAILBOX_ERROR_STREAK = env_int("SUPPORTDESK_MAILBOX_ERROR_STREAK", 3)
CELERY_BEAT_SCHEDULE["mailboxes-poll-due"] = {
    "task": "mailboxes.poll_due",
    "schedule": env_int("SUPPORTDESK_IMAP_DISPATCH_SECONDS", 10),
}
CELERY_BEAT_SCHEDULE["mailboxes-health"] = {
    "task": "mailboxes.scan_health",
    "schedule": env_int("SUPPORTDESK_MAILBOX_SCAN_SECONDS", 60),
}

# --- SLA (issue 4) ----------------------------------------------------------------------
from celery.schedules import crontab  # noqa: E402 - kept with the block that uses it

# A running SLA target is "at risk" once this share of its time is used up.
SLA_AT_RISK_PERCENT = env_int("SLA_AT_RISK_PERCENT", 80)
# Rows the beat scan handles per run (the rest wait for the next minute).
SLA_SCAN_BATCH_SIZE = env_int("SLA_SCAN_BATCH_SIZE", 1000)
# Calendar (slug) for departments without one and policies that name none; empty: 24/7.
SLA_DEFAULT_CALENDAR = env_str("SLA_DEFAULT_CALENDAR", "cet-office")
# Who hears about at-risk/breached tickets that have no assignee and no department list.
SLA_NOTIFY_FALLBACK = env_list("SLA_NOTIFY_FALLBACK", [])
CELERY_BEAT_SCHEDULE["sla-scan"] = {
    "task": "sla.scan_deadlines",
    "schedule": env_int("SLA_SCAN_EVERY_SECONDS", 60),
}
# Monthly rather than yearly: the holidays package learns next year's transfers (Russia's
# decree comes out in the autumn) in a release during the year; re-writing is idempotent.
CELERY_BEAT_SCHEDULE["sla-sync-holidays"] = {
    "task": "sla.sync_holidays",
    "schedule": crontab(minute=17, hour=3, day_of_month=1),
}

# The workspace turns SLA alerts on an agent's tickets into notifications.
CELERY_BEAT_SCHEDULE["workspace-sla-alerts"] = {
    "task": "workspace.collect_sla_alerts",
    "schedule": env_int("SLA_SCAN_EVERY_SECONDS", 60),
}
CELERY_BEAT_SCHEDULE["workspace-rows-tick"] = {
    "task": "workspace.rows_tick",
    "schedule": env_int("SLA_SCAN_EVERY_SECONDS", 60),
}

# --- Duplicate detection (issue 6) ------------------------------------------------------
# Candidates: open tickets of the same contact or account opened within this many days.
DUPLICATES_WINDOW_DAYS = env_int("DUPLICATES_WINDOW_DAYS", 14)
# A new inbound message re-runs detection while the ticket is younger than this.
DUPLICATES_YOUNG_HOURS = env_int("DUPLICATES_YOUNG_HOURS", 24)
# Flag a pair at this score (0..1); see `manage.py duplicates_eval` to tune it.
DUPLICATES_THRESHOLD = float(env_str("DUPLICATES_THRESHOLD", "0.58"))
# Exact re-sends (same normalised text, same contact, within these minutes) are merged
# into the earlier ticket automatically when enabled, and the customer is told its number.
DUPLICATES_AUTO_MERGE_EXACT = env_bool("DUPLICATES_AUTO_MERGE_EXACT", True)
DUPLICATES_EXACT_MINUTES = env_int("DUPLICATES_EXACT_MINUTES", 30)
# Other accounts' tickets naming the same domain, URL, address or error code are looked
# up this far back (a duplicate names the same object; an outage, the same code).
DUPLICATES_GLOBAL_WINDOW_HOURS = env_int("DUPLICATES_GLOBAL_WINDOW_HOURS", 72)
# Propose a problem ticket when this many accounts report the same error code or service
# within DUPLICATES_PROBLEM_WINDOW_HOURS.
DUPLICATES_PROBLEM_ACCOUNTS = env_int("DUPLICATES_PROBLEM_ACCOUNTS", 5)
DUPLICATES_PROBLEM_WINDOW_HOURS = env_int("DUPLICATES_PROBLEM_WINDOW_HOURS", 6)
# Names of our own services customers name when they fail ("mail3,ns2,YooKassa").
DUPLICATES_SERVICES = tuple(
    name.strip() for name in env_str("DUPLICATES_SERVICES", "").split(",") if name.strip()
)

# --- Outbox: every outgoing mail is stored, then sent by a worker (issue 11) -------------
# Mails per send task (one mail-server connection each).
SUPPORTDESK_OUTBOX_BATCH = env_int("SUPPORTDESK_OUTBOX_BATCH", 50)
# Temporary failures wait this long, doubling per attempt up to the maximum, and give up
# (status failed, "send again" in the admin) once the mail is this many hours old.
SUPPORTDESK_OUTBOX_RETRY_BASE_SECONDS = env_int("SUPPORTDESK_OUTBOX_RETRY_BASE_SECONDS", 30)
SUPPORTDESK_OUTBOX_RETRY_MAX_SECONDS = env_int("SUPPORTDESK_OUTBOX_RETRY_MAX_SECONDS", 3600)
SUPPORTDESK_OUTBOX_GIVE_UP_HOURS = env_int("SUPPORTDESK_OUTBOX_GIVE_UP_HOURS", 48)
# A worker's claim on a mail; longer than the send task's time limit (300 s).
SUPPORTDESK_OUTBOX_LEASE_SECONDS = env_int("SUPPORTDESK_OUTBOX_LEASE_SECONDS", 600)
# Beat queues again mails waiting this long past their time, every so many seconds.
SUPPORTDESK_OUTBOX_REQUEUE_AFTER_SECONDS = env_int("SUPPORTDESK_OUTBOX_REQUEUE_AFTER_SECONDS", 30)
# Search: words of new messages join the typo vocabulary ("did you mean").
CELERY_BEAT_SCHEDULE["search-words"] = {
    "task": "search.words_refresh",
    "schedule": env_int("SUPPORTDESK_SEARCH_WORDS_EVERY_SECONDS", 300),
}
# Search: the words' GIN index in bands of this many entries, newest read first
# (search/bands.py); beat closes the newest band once it is full.
SUPPORTDESK_SEARCH_BAND_ENTRIES = env_int("SUPPORTDESK_SEARCH_BAND_ENTRIES", 1_000_000)
CELERY_BEAT_SCHEDULE["search-bands"] = {
    "task": "search.bands",
    "schedule": env_int("SUPPORTDESK_SEARCH_BANDS_EVERY_SECONDS", 600),
}
# New entries wait unsorted in GIN's pending lists, which every search reads: moved into
# the indexes this often (search/bands.py pending_flush).
CELERY_BEAT_SCHEDULE["search-pending"] = {
    "task": "search.pending",
    "schedule": env_int("SUPPORTDESK_SEARCH_PENDING_EVERY_SECONDS", 60),
}

# Satisfaction surveys after every solve (email one-click links, portal, end of chat).
SUPPORTDESK_CSAT_ENABLED = env_bool("SUPPORTDESK_CSAT_ENABLED", True)
# Where customers reach this desk: the start of links in mails sent without a request.
SUPPORTDESK_PUBLIC_URL = env_str(
    "SUPPORTDESK_PUBLIC_URL", f"http://127.0.0.1:{env_str('PORT', '8000')}"
)
CELERY_BEAT_SCHEDULE["csat-ask-missed"] = {
    "task": "csat.ask_missed",
    "schedule": env_int("SUPPORTDESK_CSAT_CATCH_UP_SECONDS", 600),
}

# Dashboards and reports: days are dates in this zone; beat catches up every 10 minutes
# (tickets changed lately, yesterday's and today's figures, today's backlog).
SUPPORTDESK_REPORT_TIME_ZONE = env_str("SUPPORTDESK_REPORT_TIME_ZONE", TIME_ZONE)
CELERY_BEAT_SCHEDULE["reports-catch-up"] = {
    "task": "reports.catch_up",
    "schedule": env_int("SUPPORTDESK_REPORTS_CATCH_UP_SECONDS", 600),
}

CELERY_BEAT_SCHEDULE["outbox-requeue"] = {
    "task": "outbox.requeue_mails",
    "schedule": env_int("SUPPORTDESK_OUTBOX_REQUEUE_EVERY_SECONDS", 60),
}
