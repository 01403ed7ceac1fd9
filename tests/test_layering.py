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
