"""The domain stays at the bottom: ``tickets`` imports none of the apps around it (they
subscribe to ``tickets.signals.ticket_events`` and register through its hooks)."""

from __future__ import annotations

import ast
from pathlib import Path

from django.conf import settings

ROOT = Path(__file__).resolve().parent.parent


def _project_apps() -> set[str]:
    return {app.split(".")[0] for app in settings.INSTALLED_APPS if (ROOT / app).is_dir()}


def _imported(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            names |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.split(".")[0])
    return names


def test_tickets_imports_no_other_app():
    others = _project_apps() - {"tickets"}
    assert {"webcache", "api", "portal", "sla"} <= others
    offenders = {
        str(path.relative_to(ROOT)): sorted(_imported(path) & others)
        for path in (ROOT / "tickets").rglob("*.py")
        if _imported(path) & others
    }
    assert offenders == {}


# What each app imports of the others (``supportdesk``, the project package, aside): the
# README's dependency picture. An import that adds or drops an arrow fails here until the
# README and this table say so.
DEPENDS_ON = {
    "tickets": set(),
    "outbox": {"tickets"},
    "kb": {"tickets"},
    "webcache": {"tickets"},
    "channels_app": {"tickets", "outbox"},
    "mailboxes": {"tickets", "outbox", "channels_app"},
    "sla": {"tickets", "outbox"},
    "duplicates": {"tickets", "outbox"},
    "portal": {"tickets", "outbox", "channels_app", "sla", "kb", "webcache"},
    "api": {"tickets", "channels_app", "sla", "webcache"},
    "csat": {"tickets", "outbox", "portal"},
    "workspace": {
        "tickets",
        "outbox",
        "channels_app",
        "mailboxes",
        "sla",
        "duplicates",
        "kb",
        "portal",
    },
    "search": {"tickets", "channels_app", "kb", "portal", "workspace"},
    "reports": {"tickets", "sla", "duplicates", "kb", "csat", "workspace"},
}


def _app_imports(app: str, apps: set[str]) -> dict[str, set[str]]:
    """Return, per other app ``app`` imports, the modules that import it."""
    found: dict[str, set[str]] = {}
    for path in (ROOT / app).rglob("*.py"):
        for other in _imported(path) & (apps - {app}):
            found.setdefault(other, set()).add(str(path.relative_to(ROOT)))
    return found


def test_the_dependency_picture_is_the_import_graph():
    apps = _project_apps() - {"supportdesk"}
    assert set(DEPENDS_ON) == apps
    actual = {app: set(_app_imports(app, apps)) for app in sorted(apps)}
    assert actual == DEPENDS_ON


def test_the_api_and_the_channels_import_no_web_app():
    """The API opens tickets through ``tickets.submission``, not the portal; the channels
    (chat and phone among them) import neither the portal nor the API nor the workspace."""
    apps = _project_apps()
    assert "portal" not in _app_imports("api", apps)
    assert set(_app_imports("channels_app", apps)) & {"portal", "api", "workspace"} == set()
