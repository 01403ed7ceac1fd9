"""docker-compose.yml and the Dockerfile describe the production shape correctly.

No Docker engine runs here, so these tests read the files and check them against the
project: every service is wired to PostgreSQL and Redis and runs a command that exists.
"""

from __future__ import annotations

import importlib
import os
import re
import secrets
import subprocess
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
APP_SERVICES = ("migrate", "web", "worker", "beat")


def compose() -> dict:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def test_compose_has_the_production_services_with_health_checks():
    services = compose()["services"]
    assert {"postgres", "redis", "web", "worker", "beat"} <= set(services)
    for name in ("postgres", "redis", "web", "worker"):
        assert "healthcheck" in services[name], name
    assert services["web"]["command"][0] == "gunicorn"


def test_app_services_get_database_redis_and_production_mode():
    services = compose()["services"]
    for name in APP_SERVICES:
        env = services[name]["environment"]
        assert (
            env["DATABASE_URL"].startswith("postgres://")
            and "@postgres:5432/" in env["DATABASE_URL"]
        )
        assert env["REDIS_URL"] == "redis://redis:6379/0"
        assert env["SUPPORTDESK_ENV"] == "production" and env["DEBUG"] == "0"
        assert "SECRET_KEY" in env
        depends = services[name]["depends_on"]
        # Either waits for healthy services itself, or for the migration that waits for them.
        if name == "migrate":
            assert depends["postgres"]["condition"] == "service_healthy"
            assert depends["redis"]["condition"] == "service_healthy"
        else:
            assert depends["migrate"]["condition"] == "service_completed_successfully"


def test_commands_point_at_real_modules():
    services = compose()["services"]
    wsgi = services["web"]["command"][1]
    assert hasattr(importlib.import_module(wsgi), "application")
    for name in ("worker", "beat"):
        command = services[name]["command"]
        assert command[:3] == ["celery", "-A", "supportdesk"]
    assert hasattr(importlib.import_module("supportdesk"), "celery_app")


def test_dockerfile_copies_every_app():
    dockerfile = (ROOT / "Dockerfile").read_text()
    apps = [p.name for p in ROOT.iterdir() if (p / "apps.py").exists() or p.name == "supportdesk"]
    assert {"tickets", "channels_app", "sla"} <= set(apps)
    for folder in [*apps, "templates"]:
        assert f"COPY {folder} ./{folder}" in dockerfile, folder


def compose_environment(**required: str) -> dict[str, str]:
    """Return the app services' environment as compose would pass it with nothing set in
    the shell: ``${X:-default}`` gives the default, ``${X:?message}`` takes ``required[X]``
    (compose refuses to start without it), ``${X}`` is empty."""
    env = {}
    for name, value in compose()["x-app"]["environment"].items():
        value = str(value)
        for match in re.finditer(r"\$\{(\w+)(?:(:?[-?])([^}]*))?\}", value):
            variable, kind, default = match.groups()
            if kind and kind.endswith("?"):
                assert variable in required, f"compose requires {variable}: give it here"
                replacement = required[variable]
            else:
                replacement = default or ""
            value = value.replace(match.group(0), replacement)
        env[name] = value
    return env


def test_compose_requires_a_webhook_secret_and_keeps_cookies_secure():
    raw = compose()["x-app"]["environment"]
    assert raw["ANYMAIL_WEBHOOK_SECRET"].startswith("${ANYMAIL_WEBHOOK_SECRET:?")
    env = compose_environment(SECRET_KEY="k" * 50, ANYMAIL_WEBHOOK_SECRET="hook:pw")
    for flag in ("SESSION_COOKIE_SECURE", "CSRF_COOKIE_SECURE"):
        assert env.get(flag, "1") not in ("0", "false", "no", "off", "")


def test_check_deploy_is_clean_with_the_compose_settings(tmp_path):
    env = compose_environment(SECRET_KEY=secrets.token_urlsafe(50), ANYMAIL_WEBHOOK_SECRET="a:b")
    env |= {"STATIC_ROOT": str(tmp_path / "static"), "MEDIA_ROOT": str(tmp_path / "media")}
    env["SUPPORTDESK_VAR_DIR"] = str(tmp_path / "var")
    keep = {k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "LANG", "TMPDIR")}
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env={**keep, **env},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout


def test_the_image_build_step_passes_the_production_checks(tmp_path):
    """The Dockerfile runs collectstatic with SUPPORTDESK_ENV=production and build-only
    values: they must pass every check production makes at start (or the build fails)."""
    dockerfile = (ROOT / "Dockerfile").read_text()
    step = re.search(r"RUN ((?:\w+=\S+\s+(?:\\\s+)?)+)python manage.py collectstatic", dockerfile)
    assert step, "no collectstatic step"
    env = dict(pair.split("=", 1) for pair in step[1].replace("\\", " ").split())
    env |= {"STATIC_ROOT": str(tmp_path / "static"), "SUPPORTDESK_VAR_DIR": str(tmp_path)}
    keep = {k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "LANG", "TMPDIR")}
    result = subprocess.run(
        [sys.executable, "manage.py", "check"],
        cwd=ROOT,
        env={**keep, "SUPPORTDESK_ENV": "production", **env},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr[-2000:]


def test_web_and_the_benches_run_gunicorn_with_one_settings_file(monkeypatch):
    """What bench/desk.py and bench/web.py measure is what the web service runs."""
    sys.path.insert(0, str(ROOT / "bench"))
    try:
        from web import CONF
    finally:
        sys.path.remove(str(ROOT / "bench"))
    command = compose()["services"]["web"]["command"]
    assert command[command.index("-c") + 1] == CONF
    assert f'"-c", "{CONF}"' in (ROOT / "Dockerfile").read_text()
    assert "--access-logfile" not in command
    settings: dict = {}
    monkeypatch.delenv("GUNICORN_ACCESS_LOG", raising=False)
    exec((ROOT / CONF).read_text(), settings)  # noqa: S102 - the project's own file
    assert settings["accesslog"] is None and settings["worker_class"] == "sync"
    monkeypatch.setenv("GUNICORN_ACCESS_LOG", "-")
    exec((ROOT / CONF).read_text(), settings)  # noqa: S102
    assert settings["accesslog"] == "-"
