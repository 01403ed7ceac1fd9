"""Settings come from the environment; production refuses unsafe ones."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from .processes import BASE_DIR

SAFE_KEY = "k" * 50


SUMMARY = (
    "s.DEBUG, s.DATABASES['default']['ENGINE'], s.CELERY_BROKER_URL, "
    "s.CACHES['default']['BACKEND'], s.SESSION_ENGINE, s.SUPPORTDESK_LIST_CACHE_SECONDS"
)


def load_settings(*, prints: str = SUMMARY, **env: str) -> subprocess.CompletedProcess[str]:
    """Import the settings in a fresh interpreter with exactly these variables set, and
    print ``prints`` (Python expressions over the settings ``s``)."""
    clean = {
        k: v
        for k, v in os.environ.items()
        if k
        not in {
            "DEBUG",
            "SECRET_KEY",
            "ALLOWED_HOSTS",
            "SUPPORTDESK_ENV",
            "DATABASE_URL",
            "REDIS_URL",
            "CELERY_BROKER_URL",
            "CACHE_URL",
            "SUPPORTDESK_LIST_CACHE_SECONDS",
            "ANYMAIL_WEBHOOK_SECRET",
            "MAILGUN_WEBHOOK_SIGNING_KEY",
            "SUPPORTDESK_INBOUND_ESPS",
            "DB_PREPARED_STATEMENTS",
        }
    }
    code = f"import django; django.setup(); from django.conf import settings as s; print({prints})"
    return subprocess.run(
        [sys.executable, "-c", code],
        cwd=BASE_DIR,
        capture_output=True,
        text=True,
        env={**clean, "DJANGO_SETTINGS_MODULE": "supportdesk.settings", **env},
        timeout=60,
    )


@pytest.mark.parametrize(
    ("env", "message"),
    [
        (
            {"DEBUG": "1", "SECRET_KEY": SAFE_KEY, "ALLOWED_HOSTS": "desk.example"},
            "refuses DEBUG=1",
        ),
        ({"DEBUG": "0", "ALLOWED_HOSTS": "desk.example"}, "needs SECRET_KEY"),
        (
            {"DEBUG": "0", "SECRET_KEY": "short", "ALLOWED_HOSTS": "desk.example"},
            "needs SECRET_KEY",
        ),
        ({"DEBUG": "0", "SECRET_KEY": SAFE_KEY}, "needs ALLOWED_HOSTS"),
    ],
)
def test_production_refuses_unsafe_settings(env, message):
    result = load_settings(SUPPORTDESK_ENV="production", **env)
    assert result.returncode != 0
    assert message in result.stderr


def test_production_starts_with_safe_settings():
    result = load_settings(**PRODUCTION, ANYMAIL_WEBHOOK_SECRET="hook:long-random-password")
    assert result.returncode == 0, result.stderr
    assert result.stdout.split()[0] == "False"


PRODUCTION = {
    "SUPPORTDESK_ENV": "production",
    "DEBUG": "0",
    "SECRET_KEY": SAFE_KEY,
    "ALLOWED_HOSTS": "desk.example",
}


def test_production_refuses_inbound_webhooks_anyone_could_post_to():
    """Without ANYMAIL_WEBHOOK_SECRET, anymail takes any post to most ESPs' webhooks: a
    forged mail "from" a customer. Production does not start like that."""
    result = load_settings(**PRODUCTION)
    assert result.returncode != 0
    assert "refuses unauthenticated inbound webhooks" in result.stderr
    assert "postmark" in result.stderr and "ANYMAIL_WEBHOOK_SECRET" in result.stderr
    # Mailgun signs its posts (and anymail refuses them without the key): not listed.
    assert "mailgun" not in result.stderr.split("webhooks (")[1].split(")")[0]


def test_production_takes_only_signing_esps_without_basic_auth():
    mailgun_only = load_settings(
        **PRODUCTION, SUPPORTDESK_INBOUND_ESPS="mailgun", MAILGUN_WEBHOOK_SIGNING_KEY="k" * 20
    )
    assert mailgun_only.returncode == 0, mailgun_only.stderr
    with_postmark = load_settings(
        **PRODUCTION,
        SUPPORTDESK_INBOUND_ESPS="mailgun,postmark",
        MAILGUN_WEBHOOK_SIGNING_KEY="k" * 20,
    )
    assert with_postmark.returncode != 0
    assert "unauthenticated inbound webhooks (postmark)" in with_postmark.stderr


def test_unknown_inbound_esp_is_a_clear_error():
    result = load_settings(SUPPORTDESK_INBOUND_ESPS="postmark,mailgunn")
    assert result.returncode != 0 and "unknown ESPs mailgunn" in result.stderr


def test_only_enabled_esps_inbound_webhooks_are_served():
    from django.urls import Resolver404, resolve

    from supportdesk.webhooks import inbound_urlpatterns

    routes = [str(p.pattern) for p in inbound_urlpatterns(["postmark", "mandrill"])]
    assert routes == ["postmark/inbound/", "mandrill/"]
    assert resolve("/anymail/postmark/inbound/").url_name == "postmark_inbound_webhook"
    with pytest.raises(Resolver404):  # tracking webhooks are not used: not served
        resolve("/anymail/postmark/tracking/")


def test_embedded_default_needs_no_service():
    result = load_settings()
    assert result.returncode == 0, result.stderr
    debug, engine, broker, cache, sessions, list_cache = result.stdout.split()
    assert (debug, engine, broker) == ("True", "django.db.backends.sqlite3", "filesystem://")
    # No shared cache: sessions in the database, ticket lists never replayed.
    assert cache.endswith("LocMemCache") and sessions.endswith(".db") and list_cache == "0"


def test_urls_select_postgres_and_redis():
    result = load_settings(
        DATABASE_URL="postgres://u:p@db.example:5432/desk", REDIS_URL="redis://cache.example:6379/0"
    )
    assert result.returncode == 0, result.stderr
    _, engine, broker, cache, sessions, list_cache = result.stdout.split()
    assert engine == "supportdesk.postgresql" and broker == "redis://cache.example:6379/0"
    assert cache == "django_redis.cache.RedisCache" and sessions == "supportdesk.sessions"
    assert int(list_cache) > 0


def test_bad_boolean_is_a_clear_error():
    result = load_settings(DEBUG="maybe")
    assert result.returncode != 0 and "is not a boolean" in result.stderr


@pytest.mark.sqlite
@pytest.mark.django_db
def test_sqlite_runs_in_wal_mode():
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("PRAGMA journal_mode")
        assert cursor.fetchone()[0] == "wal"


def test_follow_up_tasks_have_their_own_queue_read_after_the_main_one(settings):
    """SLA recomputes and duplicate checks wait while mail is being turned into tickets."""
    from supportdesk.celery import app
    from supportdesk.queues import concern_queue, followup_queue

    names = [q.name for q in app.conf.task_queues]
    main = names[0]
    assert main == app.conf.task_default_queue
    for task, queue in (
        ("sla.recompute_tickets", followup_queue(main)),
        ("duplicates.detect_many", concern_queue(main, "duplicates")),
    ):
        assert app.amqp.router.route({}, task)["queue"].name == queue
        assert names.index(queue) > names.index(concern_queue(main, "outbox")) > 0
    assert app.amqp.router.route({}, "channels_app.process_inbound_records")["queue"].name == main
    assert app.conf.broker_transport_options["queue_order_strategy"] == "priority"


def test_each_concern_has_its_own_queue_for_its_own_workers():
    """Ingest, SLA, duplicates, outbox and mailbox polls can each get their own workers."""
    from supportdesk.celery import app

    main = app.conf.task_default_queue
    expected = {
        "channels_app.process_inbound_record": main,
        "sla.scan_deadlines": f"{main}.sla",
        "workspace.collect_sla_alerts": f"{main}.sla",
        "outbox.send_mails": f"{main}.outbox",
        "channels_app.poll_imap_mailbox": f"{main}.mailbox",
        "duplicates.announce": f"{main}.duplicates",
        "reports.catch_up": f"{main}.housekeeping",
    }
    for task, queue in expected.items():
        assert app.amqp.router.route({}, task)["queue"].name == queue, task
    assert {q.name for q in app.conf.task_queues} == set(expected.values()) | {f"{main}.followups"}


def test_redis_clients_have_socket_and_connect_timeouts():
    """A frozen Redis (connections accepted, never answered) must not hang a request."""
    result = load_settings(
        prints="s.CACHES['default']['OPTIONS']['SOCKET_TIMEOUT'], "
        "s.CACHES['default']['OPTIONS']['SOCKET_CONNECT_TIMEOUT'], "
        "s.CELERY_BROKER_TRANSPORT_OPTIONS['socket_timeout'], "
        "s.CELERY_BROKER_TRANSPORT_OPTIONS['socket_connect_timeout'], s.SESSION_ENGINE",
        REDIS_URL="redis://cache.example:6379/0",
    )
    assert result.returncode == 0, result.stderr
    *timeouts, engine = result.stdout.split()
    assert all(0 < float(t) <= 10 for t in timeouts)
    assert engine == "supportdesk.sessions"


def test_prepared_statements_are_on_unless_turned_off():
    # On since each department, line and saved view has a statement (and a plan) of its
    # own (workspace/prepared.py); an operator behind pgbouncer turns them off.
    answers = [
        load_settings(prints="s.DB_PREPARED_STATEMENTS", **extra).stdout.split()[-1]
        for extra in ({}, {"DB_PREPARED_STATEMENTS": "0"}, {"DB_PREPARED_STATEMENTS": "1"})
    ]
    assert answers == ["True", "False", "True"]
