"""Reports tests run the real chain: a commit announces ticket events, receivers queue the
tasks, and the tasks run at once (Celery eager) in this process."""

from __future__ import annotations

import pytest

from supportdesk.celery import app as celery_app


@pytest.fixture
def eager_tasks():
    """Run queued tasks in the caller (as a worker would, without a worker process)."""
    celery_app.conf.task_always_eager = True
    celery_app.conf.task_eager_propagates = True
    yield
    celery_app.conf.task_always_eager = False
    celery_app.conf.task_eager_propagates = False


@pytest.fixture
def lead(db):
    """Lena, a team lead: an agent who may see dashboards and reports."""
    from django.contrib.auth.models import Permission

    from tests.factories import AgentFactory
    from tests.workspace.conftest import grant_ticket_permissions

    user = AgentFactory(username="lena", first_name="Lena", last_name="Lead")
    grant_ticket_permissions(user)
    user.user_permissions.add(
        Permission.objects.get(content_type__app_label="reports", codename="view_dashboard")
    )
    return user
