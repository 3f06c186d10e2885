"""The one settings module. Everything that differs between the embedded
default (SQLite, filesystem broker, files under ./var) and production
(Postgres, Redis, volumes) comes from the environment; see the README's
configuration table.
"""
from __future__ import annotations

import json
import secrets
from pathlib import Path

import dj_database_url

from webapp.env import env_bool, env_float, env_int, env_list, env_str

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(env_str("FORENSICS_VAR_DIR", str(BASE_DIR / "var")))
VAR_DIR.mkdir(parents=True, exist_ok=True)


def _secret_key() -> str:
    """Use DJANGO_SECRET_KEY; on the embedded default, keep a random one under var/."""
    configured = env_str("DJANGO_SECRET_KEY", "")
    if configured:
        return configured
    path = VAR_DIR / "secret_key"
    if not path.exists():
        path.write_text(secrets.token_urlsafe(50))
        path.chmod(0o600)
    return path.read_text().strip()


SECRET_KEY = _secret_key()
DEBUG = env_bool("DJANGO_DEBUG", False)
ALLOWED_HOSTS = env_list("DJANGO_ALLOWED_HOSTS", ["127.0.0.1", "localhost", "testserver"])
CSRF_TRUSTED_ORIGINS = env_list("DJANGO_CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "webapp.accounts",
    "webapp.ui",
    "forensics",
    "provenance",
    "privacy",
    "webapp.reporting",
    "webapp.webhooks",
]

MIDDLEWARE = [
    "webapp.middleware.RequestLatency",  # first: times everything below (README "Operating it": Metrics)
    "django.middleware.security.SecurityMiddleware",
    "webapp.middleware.ContentSecurityPolicy",
    "webapp.middleware.RefuseNulBytes",
    "webapp.middleware.DatabaseUnavailable",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

# --- HTTPS and browser security (README "Operating it"): off on the embedded default --------
# DJANGO_HTTPS=1 turns on everything `manage.py check --deploy` asks for behind TLS: redirect to
# https, HSTS (a year, with subdomains), cookies sent over https only. Each can be set on its own.
_https = env_bool("DJANGO_HTTPS", False)
SECURE_SSL_REDIRECT = env_bool("DJANGO_SECURE_SSL_REDIRECT", _https)
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$", r"^metrics$"]  # the container health check speaks plain http inside the network
SECURE_HSTS_SECONDS = env_int("DJANGO_SECURE_HSTS_SECONDS", 31_536_000 if _https else 0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("DJANGO_SECURE_HSTS_INCLUDE_SUBDOMAINS", _https)
SECURE_HSTS_PRELOAD = env_bool("DJANGO_SECURE_HSTS_PRELOAD", False)
SESSION_COOKIE_SECURE = env_bool("DJANGO_SESSION_COOKIE_SECURE", _https)
CSRF_COOKIE_SECURE = env_bool("DJANGO_CSRF_COOKIE_SECURE", _https)


def _proxy_ssl_header(raw: str) -> tuple[str, str] | None:
    """``X-Forwarded-Proto`` (value https) or ``X-Forwarded-Proto=https`` -> Django's (META key, value)."""
    if not raw.strip():
        return None
    name, _, value = raw.partition("=")
    return "HTTP_" + name.strip().upper().replace("-", "_"), (value.strip() or "https")


# Trust this header from the TLS-terminating proxy (and only set it when the proxy always sets or strips it).
SECURE_PROXY_SSL_HEADER = _proxy_ssl_header(env_str("DJANGO_SECURE_PROXY_SSL_HEADER", ""))
# Content-Security-Policy of console pages (webapp/middleware.py); empty disables it. Inline style
# attributes place heatmaps and face boxes; scripts come only from this origin (no inline script).
FORENSICS_CSP = env_str(
    "FORENSICS_CSP",
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; "
    "media-src 'self' blob:; object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'",
)
# Console log-in throttling (webapp/accounts/login_throttle.py): after this many failed attempts for one
# username from one address, that pair is locked out for the window (an audit event records it).
FORENSICS_LOGIN_MAX_FAILURES = env_int("FORENSICS_LOGIN_MAX_FAILURES", 5)
FORENSICS_LOGIN_LOCKOUT_SECONDS = env_int("FORENSICS_LOGIN_LOCKOUT_SECONDS", 900)

ROOT_URLCONF = "webapp.urls"
WSGI_APPLICATION = "webapp.wsgi.application"

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
                "webapp.ui.context.tenant",
            ],
        },
    },
]

# --- Database -------------------------------------------------------------
DATABASES = {
    "default": dj_database_url.parse(
        env_str("DATABASE_URL", f"sqlite:///{VAR_DIR / 'db.sqlite3'}"),
        conn_max_age=env_int("DATABASE_CONN_MAX_AGE", 0),
    )
}
# The embedded default (SQLite under var/) as opposed to a server database; commands that would create
# demo data do so only here.
FORENSICS_EMBEDDED_DATABASE = DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3"
if FORENSICS_EMBEDDED_DATABASE:
    # The web process and the worker write to one file: wait for the lock
    # instead of failing with "database is locked". IMMEDIATE transactions take
    # the write lock up front (a deferred one that must upgrade fails at once),
    # and WAL lets readers go on while one process writes.
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {"timeout": 30, "transaction_mode": "IMMEDIATE", "init_command": "PRAGMA journal_mode=WAL;"}
    )
    DATABASES["default"]["TEST"] = {"NAME": env_str("SQLITE_TEST_NAME", str(VAR_DIR / "test-db.sqlite3"))}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "ui:items"
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

# --- Files ----------------------------------------------------------------
STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "static"
STATIC_ROOT.mkdir(exist_ok=True)
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
WHITENOISE_USE_FINDERS = True
MEDIA_ROOT = Path(env_str("MEDIA_ROOT", str(VAR_DIR / "media")))
MODELS_DIR = Path(env_str("FORENSICS_MODELS_DIR", str(BASE_DIR / "detectors" / "weights")))

# Uploads larger than this spool to disk instead of memory (bytes).
FILE_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024
DATA_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024

# --- Limits on what we accept (the ingest step enforces them) ---------------
FORENSICS_MAX_UPLOAD_BYTES = env_int("FORENSICS_MAX_UPLOAD_BYTES", 200 * 1024 * 1024)
FORENSICS_MAX_IMAGE_PIXELS = env_int("FORENSICS_MAX_IMAGE_PIXELS", 40_000_000)
FORENSICS_MAX_VIDEO_SECONDS = env_float("FORENSICS_MAX_VIDEO_SECONDS", 600.0)
FORENSICS_MAX_TEXT_CHARS = env_int("FORENSICS_MAX_TEXT_CHARS", 100_000)

# --- Workers --------------------------------------------------------------
FORENSICS_DEVICE = env_str("FORENSICS_DEVICE", "auto")  # auto | cpu | cuda | cuda:N
FORENSICS_MAX_ATTEMPTS = env_int("FORENSICS_MAX_ATTEMPTS", 3)
# An analysis whose worker stopped heartbeating for this long is requeued.
FORENSICS_STALE_AFTER_SECONDS = env_int("FORENSICS_STALE_AFTER_SECONDS", 300)
# A job waiting for a detection worker this long without being taken gets its message sent again (lost
# messages); waiting is never counted as a crash.
FORENSICS_WAITING_RESEND_SECONDS = env_int("FORENSICS_WAITING_RESEND_SECONDS", 1800)
# Time limits per job kind, in seconds per run of its task (0 = none), checked at every heartbeat by the job
# itself (webapp.job_lifecycle: also under --pool solo, where Celery enforces none); a job past its limit ends
# failed with the reason. Where the pool enforces them, Celery's soft limit (10 s later) and hard limit (60 s
# later) back them up (CELERY_TASK_ANNOTATIONS below).
FORENSICS_ANALYSIS_TIME_LIMIT = env_float("FORENSICS_ANALYSIS_TIME_LIMIT", 900.0)
FORENSICS_CALIBRATION_TIME_LIMIT = env_float("FORENSICS_CALIBRATION_TIME_LIMIT", 3600.0)
FORENSICS_REPORT_EXPORT_TIME_LIMIT = env_float("FORENSICS_REPORT_EXPORT_TIME_LIMIT", 600.0)
FORENSICS_PRIVATE_JOB_TIME_LIMIT = env_float("FORENSICS_PRIVATE_JOB_TIME_LIMIT", 6 * 3600.0)
# Who may read /metrics: a request with this bearer token, or (unset) only requests from the machine itself.
FORENSICS_METRICS_TOKEN = env_str("FORENSICS_METRICS_TOKEN", "")
# Per-tenant calibration (forensics.calibrations): the fewest known-real items a detector must have judged
# before its threshold is fitted, the bootstrap draws behind the expected false-positive rate, and the
# largest calibration set accepted.
FORENSICS_CALIBRATION_MIN_REAL = env_int("FORENSICS_CALIBRATION_MIN_REAL", 200)
FORENSICS_CALIBRATION_BOOTSTRAP = env_int("FORENSICS_CALIBRATION_BOOTSTRAP", 200)
FORENSICS_CALIBRATION_MAX_ITEMS = env_int("FORENSICS_CALIBRATION_MAX_ITEMS", 5000)
# Unset, the two earlier text detectors stay out of the verdict: on chat-model text (held-out M4 Llama-2-chat)
# text-supervised flags 14% of human texts at its threshold and text-binoculars' shipped small pair catches 1% of
# machine texts (README, "LLM-generated text"); text-lm-features replaces both. A deployer who brings a bigger
# observer/performer pair gets text-binoculars back.
FORENSICS_TEXT_OBSERVER = env_str("FORENSICS_TEXT_OBSERVER", "")
FORENSICS_TEXT_PERFORMER = env_str("FORENSICS_TEXT_PERFORMER", "")
FORENSICS_DISABLED_DETECTORS = env_list(
    "FORENSICS_DISABLED_DETECTORS",
    ["text-supervised"] + ([] if FORENSICS_TEXT_OBSERVER and FORENSICS_TEXT_PERFORMER else ["text-binoculars"]),
)
# Ed25519 key that signs exported reports (created on first use, mode 0600).
FORENSICS_SIGNING_KEY = env_str("FORENSICS_SIGNING_KEY", str(VAR_DIR / "keys" / "report-signing.pem"))
# A PEM bundle of C2PA trust anchors (roots) to trust beyond the library's own list.
FORENSICS_C2PA_TRUST_ANCHORS = env_str("FORENSICS_C2PA_TRUST_ANCHORS", "")
# Per-detector constructor options as JSON, e.g. {"video-faces": {"fps": 4, "max_frames": 64, "pooling": "median"}}.
FORENSICS_DETECTOR_OPTIONS = json.loads(env_str("FORENSICS_DETECTOR_OPTIONS", "{}") or "{}")
# FORENSICS_TEXT_OBSERVER / _PERFORMER (above): local HF causal LM directories (sharing a tokenizer) for
# text-binoculars; unset = the shipped small pair.
_text_pair = {k: v for k, v in (("observer", FORENSICS_TEXT_OBSERVER), ("performer", FORENSICS_TEXT_PERFORMER)) if v}
if _text_pair:
    FORENSICS_DETECTOR_OPTIONS["text-binoculars"] = {**FORENSICS_DETECTOR_OPTIONS.get("text-binoculars", {}), **_text_pair}
# Fernet key that encrypts tenant secrets (watermark keys) at rest; without
# it one is derived from SECRET_KEY (see webapp/accounts/secret_box.py).
FORENSICS_KEY_ENCRYPTION_KEY = env_str("FORENSICS_KEY_ENCRYPTION_KEY", "")
# Callables (tenant, detector_name) -> dict of per-tenant detector options
# (watermark keys, privately fine-tuned weights); see forensics/detector_options.py.
FORENSICS_TENANT_DETECTOR_PROVIDERS = env_list(
    "FORENSICS_TENANT_DETECTOR_PROVIDERS",
    ["webapp.accounts.watermark_keys.detector_options", "privacy.serving.detector_options"],
)
# Detector instances a worker keeps loaded (one per detector and tenant option set).
FORENSICS_DETECTOR_CACHE_SIZE = env_int("FORENSICS_DETECTOR_CACHE_SIZE", 16)
# Python modules that register extra detectors (plugins), imported by the pipeline.
FORENSICS_DETECTOR_PLUGINS = env_list("FORENSICS_DETECTOR_PLUGINS", [])

# --- Webhooks and batches (see webapp/webhooks/delivery.py, destinations.py) ---
FORENSICS_WEBHOOK_MAX_ATTEMPTS = env_int("FORENSICS_WEBHOOK_MAX_ATTEMPTS", 8)
# First retry delay; doubles per attempt (with +-20 % jitter) up to the cap.
FORENSICS_WEBHOOK_BACKOFF_SECONDS = env_float("FORENSICS_WEBHOOK_BACKOFF_SECONDS", 10.0)
FORENSICS_WEBHOOK_MAX_BACKOFF_SECONDS = env_float("FORENSICS_WEBHOOK_MAX_BACKOFF_SECONDS", 3600.0)
FORENSICS_WEBHOOK_TIMEOUT_SECONDS = env_float("FORENSICS_WEBHOOK_TIMEOUT_SECONDS", 10.0)
# A claimed delivery is leased for its one POST (the timeout) plus this margin; a worker that dies mid-POST
# leaves it leased, and the sweep sends it again once the lease has ended (webapp/webhooks/delivery.py).
FORENSICS_WEBHOOK_LEASE_MARGIN_SECONDS = env_float("FORENSICS_WEBHOOK_LEASE_MARGIN_SECONDS", 60.0)
# Plain http:// to 127.0.0.1/localhost only; on by default only with DJANGO_DEBUG.
FORENSICS_WEBHOOK_ALLOW_HTTP_LOCALHOST = env_bool("FORENSICS_WEBHOOK_ALLOW_HTTP_LOCALHOST", DEBUG)
# https:// URLs that resolve to private/loopback/link-local addresses (SSRF guard); off by default.
FORENSICS_WEBHOOK_ALLOW_PRIVATE_NETWORKS = env_bool("FORENSICS_WEBHOOK_ALLOW_PRIVATE_NETWORKS", False)
FORENSICS_BATCH_MAX_ITEMS = env_int("FORENSICS_BATCH_MAX_ITEMS", 50)

# --- Review (see forensics/reviews.py) ---------------------------------------
# A final decision on an item scored at or above this needs two agreeing
# reviewers (different people); "off" or empty disables the rule.
_second_review = env_str("FORENSICS_SECOND_REVIEW_SCORE", "0.9").strip().lower()
FORENSICS_SECOND_REVIEW_SCORE = (
    None if _second_review in ("", "off", "none") else env_float("FORENSICS_SECOND_REVIEW_SCORE", 0.9)
)

# --- Private fine-tuning (see privacy/) ----------------------------------------
# Base detectors a tenant may fine-tune (whole-image detectors with safetensors weights and a card).
FORENSICS_PRIVACY_BASE_DETECTORS = env_list("FORENSICS_PRIVACY_BASE_DETECTORS", ["synthetic-image"])
# Limits on an uploaded dataset zip: images in it, bytes once expanded (the zip itself: FORENSICS_MAX_UPLOAD_BYTES).
FORENSICS_PRIVACY_MAX_DATASET_FILES = env_int("FORENSICS_PRIVACY_MAX_DATASET_FILES", 20_000)
FORENSICS_PRIVACY_MAX_DATASET_BYTES = env_int("FORENSICS_PRIVACY_MAX_DATASET_BYTES", 1024 * 1024 * 1024)
# The delta a new dataset's budget gets unless an admin sets another.
FORENSICS_PRIVACY_DEFAULT_DELTA = env_float("FORENSICS_PRIVACY_DEFAULT_DELTA", 1e-5)
# Share of each class kept out of training, for utility, calibration and the membership-inference audit.
FORENSICS_PRIVACY_HOLDOUT_FRACTION = env_float("FORENSICS_PRIVACY_HOLDOUT_FRACTION", 0.25)

# --- Celery ---------------------------------------------------------------
_redis_url = env_str("REDIS_URL", "")
CELERY_BROKER_URL = env_str("CELERY_BROKER_URL", _redis_url or "filesystem://localhost/")
BROKER_DIR = VAR_DIR / "broker"
if CELERY_BROKER_URL.startswith("filesystem://"):
    # The embedded broker: messages are files under var/broker, so the web
    # process and the worker need nothing but a shared disk.
    for sub in ("queue", "processed", "control"):
        (BROKER_DIR / sub).mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(BROKER_DIR / "queue"),
        "data_folder_out": str(BROKER_DIR / "queue"),
        "processed_folder": str(BROKER_DIR / "processed"),
        "control_folder": str(BROKER_DIR / "control"),
        "store_processed": False,
    }
else:
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        # Redis redelivers a message whose worker died after this many seconds.
        "visibility_timeout": env_int("CELERY_VISIBILITY_TIMEOUT", 3600),
    }
# Results live in the database (Analysis rows), not in a Celery backend.
CELERY_TASK_IGNORE_RESULT = True
CELERY_RESULT_BACKEND = None
# A job is acknowledged only when it finished, so a crashed worker's job is
# delivered again instead of being lost.
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_DEFAULT_QUEUE = "cpu"
CELERY_TASK_ROUTES = {
    "forensics.tasks.run_provenance_stage": {"queue": "cpu"},
    "forensics.tasks.run_detection_stage": {"queue": "gpu"},
    # Sweeps and checkpoints run on their own queue, so a backlog of uploads never delays them.
    "forensics.tasks.recover_stale_analyses": {"queue": "control"},
    "forensics.tasks.run_calibration": {"queue": "gpu"},
    "provenance.tasks.checkpoint_audit_chains": {"queue": "control"},
    "provenance.tasks.run_report_export": {"queue": "cpu"},
    "provenance.tasks.recover_stale_exports": {"queue": "control"},
    "privacy.tasks.run_private_finetune": {"queue": "gpu"},
    "privacy.tasks.recover_stale_private_jobs": {"queue": "control"},
    "webapp.webhooks.tasks.deliver_webhook": {"queue": "cpu"},
    "webapp.webhooks.tasks.sweep_webhook_deliveries": {"queue": "control"},
}
# Celery's own time limits per task, behind the jobs' in-task deadlines (FORENSICS_*_TIME_LIMIT above): the
# soft limit raises in the task, which ends the job failed with the time limit as its reason; the hard limit
# kills a task that ignores it (its job is then swept like a crashed one).
_JOB_TASK_LIMITS = {
    "forensics.tasks.run_provenance_stage": FORENSICS_ANALYSIS_TIME_LIMIT,
    "forensics.tasks.run_detection_stage": FORENSICS_ANALYSIS_TIME_LIMIT,
    "forensics.tasks.run_calibration": FORENSICS_CALIBRATION_TIME_LIMIT,
    "provenance.tasks.run_report_export": FORENSICS_REPORT_EXPORT_TIME_LIMIT,
    "privacy.tasks.run_private_finetune": FORENSICS_PRIVATE_JOB_TIME_LIMIT,
}
CELERY_TASK_ANNOTATIONS = {name: {"soft_time_limit": limit + 10, "time_limit": limit + 60}
                           for name, limit in _JOB_TASK_LIMITS.items() if limit > 0}
CELERY_BEAT_SCHEDULE = {
    "recover-stale-analyses": {
        "task": "forensics.tasks.recover_stale_analyses",
        "schedule": 60.0,
    },
    "recover-stale-private-jobs": {
        "task": "privacy.tasks.recover_stale_private_jobs",
        "schedule": 60.0,
    },
    "sweep-webhook-deliveries": {
        "task": "webapp.webhooks.tasks.sweep_webhook_deliveries",
        "schedule": 60.0,
    },
    "recover-stale-exports": {
        "task": "provenance.tasks.recover_stale_exports",
        "schedule": 60.0,
    },
    "checkpoint-audit-chains": {
        "task": "provenance.tasks.checkpoint_audit_chains",
        "schedule": env_float("FORENSICS_CHECKPOINT_EVERY_SECONDS", 3600.0),
    },
}
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_WORKER_HIJACK_ROOT_LOGGER = False

# --- Cache (rate limits): shared between processes on both shapes ----------
CACHES = {
    "default": (
        {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": _redis_url}
        if _redis_url
        else {"BACKEND": "django.core.cache.backends.filebased.FileBasedCache", "LOCATION": str(VAR_DIR / "cache")}
    )
}

# --- REST API -------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "webapp.accounts.authentication.ApiKeyAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["webapp.accounts.permissions.IsTenantMember"],
    "DEFAULT_PAGINATION_CLASS": "webapp.api.pagination.CreatedAtCursorPagination",
    "PAGE_SIZE": 50,
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "webapp.api.errors.problem_details_handler",
    "DEFAULT_THROTTLE_CLASSES": ["webapp.api.throttling.PerCredentialThrottle"],
    # Requests per API key (or per user) per period; 429 with Retry-After beyond it.
    "DEFAULT_THROTTLE_RATES": {"credential": env_str("FORENSICS_API_RATE", "120/min")},
    "DEFAULT_PARSER_CLASSES": [
        "webapp.api.parsers.SafeJSONParser",
        "rest_framework.parsers.MultiPartParser",
    ],
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Media forensics API",
    "DESCRIPTION": "Deepfake, synthetic-text and watermark detection with provenance and audit.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    # Calibrations and private fine-tuning jobs share these states: one enum, named for both; an analysis's
    # operating point says where its thresholds came from (a calibration's "source" is its items').
    "ENUM_NAME_OVERRIDES": {"RefusableJobStateEnum": ["queued", "running", "done", "failed", "refused"],
                            "OperatingPointSourceEnum": ["calibration", "shipped"], "SourceEnum": ["reviewed", "files"]},
}

# --- Logging: structured, one JSON object per line --------------------------
LOG_LEVEL = env_str("LOG_LEVEL", "INFO")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "json": {
            "()": "pythonjsonlogger.json.JsonFormatter",
            "fmt": "%(asctime)s %(levelname)s %(name)s %(message)s",
            "rename_fields": {"asctime": "time", "levelname": "level", "name": "logger"},
        },
        "text": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"},
    },
    "handlers": {
        "console": {"class": "logging.StreamHandler", "formatter": env_str("LOG_FORMAT", "json")},
    },
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
    },
}
