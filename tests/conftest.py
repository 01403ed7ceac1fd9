"""Shared fixtures: named actors, real services, and which tests each pass runs.

Two passes run the same suite: embedded (SQLite, filesystem broker) and real
(PostgreSQL and Redis from DATABASE_URL / REDIS_URL). Tests marked ``postgres`` run only
on PostgreSQL; ``browser`` tests run when SUPPORTDESK_BROWSER_TESTS=1 (CI's real pass).
With SUPPORTDESK_REQUIRE_REAL_SERVICES=1 the session refuses to start on anything else.
"""

from __future__ import annotations

import os
import uuid
from pathlib import Path

import pytest
from django.conf import settings

from supportdesk.celery import app as celery_app
from supportdesk.queues import celery_queue_settings

from .factories import AccountFactory, AgentFactory, ContactFactory
from .redis_server import RedisServer

SESSION_QUEUE = f"test-{uuid.uuid4().hex[:10]}"


def pytest_configure(config: pytest.Config) -> None:
    # Tasks this session sends go to its own queue (and, embedded, its own folder), so a
    # developer's running desk never sees them and a test worker sees nothing else.
    celery_app.conf.update(celery_queue_settings(SESSION_QUEUE))
    if "KEY_PREFIX" in settings.CACHES["default"]:  # Redis: this session's keys only
        settings.CACHES["default"]["KEY_PREFIX"] = f"sdcache-{SESSION_QUEUE}"
    if settings.CELERY_BROKER_URL.startswith("filesystem://"):
        broker_dir = Path(settings.VAR_DIR) / "test-broker"
        broker_dir.mkdir(parents=True, exist_ok=True)
        celery_app.conf.broker_transport_options = {
            "queue_order_strategy": "priority",
            "data_folder_in": str(broker_dir),
            "data_folder_out": str(broker_dir),
            "processed_folder": str(broker_dir),
            "control_folder": str(broker_dir / "control"),
            "store_processed": False,
        }
    if os.environ.get("SUPPORTDESK_REQUIRE_REAL_SERVICES") == "1":
        engine = settings.DATABASES["default"]["ENGINE"]
        if "postgresql" not in engine or not settings.CELERY_BROKER_URL.startswith("redis://"):
            raise pytest.UsageError(
                "SUPPORTDESK_REQUIRE_REAL_SERVICES=1 but the suite is not on PostgreSQL and "
                f"Redis (engine {engine}, broker {settings.CELERY_BROKER_URL}): set DATABASE_URL "
                "and REDIS_URL."
            )


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    on_postgres = "postgresql" in settings.DATABASES["default"]["ENGINE"]
    browser = os.environ.get("SUPPORTDESK_BROWSER_TESTS") == "1"
    keep, drop = [], []
    for item in items:
        if (
            (item.get_closest_marker("postgres") and not on_postgres)
            or (item.get_closest_marker("sqlite") and on_postgres)
            or (item.get_closest_marker("browser") and not browser)
        ):
            drop.append(item)
        else:
            keep.append(item)
    if drop:
        config.hook.pytest_deselected(items=drop)
        items[:] = keep
        reason = []
        reason.append(
            "sqlite tests run in the embedded pass"
            if on_postgres
            else "postgres tests need DATABASE_URL=postgres://…"
        )
        if not browser:
            reason.append("browser tests need SUPPORTDESK_BROWSER_TESTS=1")
        config._supportdesk_deselected = (len(drop), "; ".join(reason))  # type: ignore[attr-defined]


def pytest_terminal_summary(terminalreporter, exitstatus: int, config: pytest.Config) -> None:
    info = getattr(config, "_supportdesk_deselected", None)
    if info:
        terminalreporter.write_line(
            f"supportdesk: {info[0]} test(s) deselected in this pass ({info[1]})."
        )


@pytest.fixture(autouse=True)
def _session_queues_emptied_after_commits(request: pytest.FixtureRequest):
    """After a test that committed, drop the tasks its commits queued on this session's
    queues: its rows are gone with its database, and left there they are a backlog the
    next test's worker must chew through (failing on the missing rows) before its own
    task, which on a loaded machine outlasted that test's wait."""
    yield
    marker = request.node.get_closest_marker("django_db")
    committed = bool(
        (marker and (marker.kwargs.get("transaction") or (marker.args and marker.args[0])))
        or {"transactional_db", "live_server"} & set(request.fixturenames)
    )
    if committed:
        celery_app.control.purge()


@pytest.fixture
def worker(departments):
    """A real Celery worker process on this session's queue, against the test database.

    Use with ``django_db(transaction=True)``: the worker only sees committed rows.
    """
    from .processes import start_worker

    process = start_worker()
    yield process
    process.stop()


@pytest.fixture
def boss(db):
    """A superuser agent."""
    return AgentFactory(username="boss", is_superuser=True)


@pytest.fixture
def admin(client, boss):
    """A test client logged in to the admin as ``boss``."""
    client.force_login(boss)
    return client


@pytest.fixture
def agent(db):
    """Alice, an active support agent (staff)."""
    return AgentFactory(username="alice", first_name="Alice", last_name="Agent")


@pytest.fixture
def departments(db) -> dict:
    """The three standard departments the migrations install, by slug.

    Ensured again here because transactional tests flush the migration's rows.
    """
    from tickets.defaults import ensure_standard_departments
    from tickets.models import Department

    ensure_standard_departments(Department)
    return {d.slug: d for d in Department.objects.all()}


@pytest.fixture
def lines(departments) -> dict:
    """The standard support lines, by slug: ``ecommerce`` (the vendor, default) and
    ``reseller`` (the domain reseller), with their departments and inboxes."""
    from tickets.models import SupportLine

    return {line.slug: line for line in SupportLine.objects.all()}


@pytest.fixture
def reseller(db):
    """Northwind Domains, a reseller account with ID 200417."""
    return AccountFactory(name="Northwind Domains", reseller_id="200417")


@pytest.fixture
def anna(reseller):
    """Anna, the verified owner of the Northwind reseller account."""
    return ContactFactory(
        account=reseller,
        name="Anna de Vries",
        email="Anna@Northwind.example",
        role="owner",
        verified=True,
    )


@pytest.fixture(autouse=True)
def _rate_limits_out_of_the_way(settings):
    """Counters outlive a test in the cache: limits are far away unless a test about
    them sets its own (tests/test_rate_limits.py)."""
    settings.SUPPORTDESK_SIGN_IN_PER_ADDRESS = settings.SUPPORTDESK_SIGN_IN_PER_IP = 10**6
    settings.SUPPORTDESK_API_RATE = settings.SUPPORTDESK_API_ANON_RATE = "1000000/min"


@pytest.fixture(autouse=True)
def _fresh_calendar_cache():
    """Forget built calendars: a rolled-back test may leave a (pk, version) pair behind."""
    from sla import calendar_store

    calendar_store._CACHE.clear()
    yield
    calendar_store._CACHE.clear()


@pytest.fixture(autouse=True)
def _fresh_sla_intake_map():
    """Forget which tickets an intake's recompute covered: a rolled-back test's ids come
    back in the next test on SQLite (a real commit's never do)."""
    from sla import receivers

    receivers._covered().clear()
    yield
    receivers._covered().clear()


@pytest.fixture
def presets(departments):
    """The SLA preset calendars, department links and policies (re-ensured: a transactional
    test's flush removes the migration's rows)."""
    from sla.models import BusinessCalendar
    from sla.presets import ensure_presets

    ensure_presets()
    return {c.slug: c for c in BusinessCalendar.objects.all()}


@pytest.fixture
def session_reads() -> int:
    """Queries a signed-in request spends reading its session: 1 from the database, 0 when
    sessions live in Redis (``cached_db``, the real pass)."""
    return 1 if settings.SESSION_ENGINE.endswith(".db") else 0


@pytest.fixture
def redis_server(tmp_path):
    """A throwaway Redis on loopback, stopped after the test."""
    server = RedisServer(tmp_path)
    yield server
    server.stop()
