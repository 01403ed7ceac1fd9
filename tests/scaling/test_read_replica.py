"""With DATABASE_REPLICA_URL, search and list counts read the replica; writes, and reads
inside a write, stay on the primary. The replica here is a second PostgreSQL database
cloned from the test database, then left behind by later writes to the primary (as a
lagging replica would be): what a process answers shows which database it read."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from django.utils import timezone

from kb.models import Article
from tests.factories import open_ticket
from tests.processes import BASE_DIR, service_env
from workspace.queues import bounded_counts, builtin_views

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

PROBE = """
import json
from django.db import connections, transaction
from kb.search import article_search
from supportdesk.db_router import replica_alias
from kb.models import Article
out = {"alias": replica_alias(), "search": [a.slug for a in article_search("lagging widget")]}
with transaction.atomic():
    out["alias_in_write"] = replica_alias()
    out["search_in_write"] = [a.slug for a in article_search("lagging widget")]
Article.objects.filter(slug="fresh").update(helpful_yes=7)  # a write: the primary
out["written"] = list(Article.objects.filter(helpful_yes=7).values_list("slug", flat=True))
out["replica_name"] = connections["replica"].settings_dict["NAME"]
from django.contrib.auth import get_user_model
from django.utils import timezone
from workspace.queues import bounded_counts, builtin_views
agent = get_user_model().objects.get(username="alice")
out["unassigned"] = bounded_counts(builtin_views(), agent, timezone.now())["unassigned"]
print("PROBE" + json.dumps(out))
"""


def _article(slug: str, title: str) -> Article:
    return Article.objects.create(slug=slug, title=title, body="How to fix it.", published=True)


@pytest.fixture
def old_article():
    return _article("old", "Lagging widget, old answer")


def test_search_and_counts_read_the_replica_and_writes_the_primary(
    agent, departments, old_article, replica_url
):
    # After the copy: the primary moves on, the replica does not (a lagging replica).
    old_article.delete()
    _article("fresh", "Lagging widget, fresh answer")
    open_ticket(subject="Arrived after the copy")

    result = subprocess.run(
        [sys.executable, "manage.py", "shell", "-c", PROBE],
        cwd=BASE_DIR,
        env=service_env(DATABASE_REPLICA_URL=replica_url),
        capture_output=True,
        text=True,
        timeout=120,
    )
    line = next((x for x in result.stdout.splitlines() if x.startswith("PROBE")), None)
    assert line, result.stdout + result.stderr
    probe = json.loads(line[len("PROBE") :])
    assert probe["replica_name"] in replica_url
    assert probe["alias"] == "replica"
    assert probe["search"] == ["old"]  # search read the replica
    assert probe["alias_in_write"] == "default"
    assert probe["search_in_write"] == ["fresh"]  # inside a write: the primary
    assert probe["written"] == ["fresh"]
    assert Article.objects.get(slug="fresh").helpful_yes == 7  # the write reached the primary
    assert probe["unassigned"] == 0  # the list count read the replica (the primary has 1)
    assert bounded_counts(builtin_views(), agent, timezone.now())["unassigned"] == 1


def test_without_a_replica_every_read_is_on_the_primary():
    from supportdesk.db_router import replica_alias

    assert replica_alias() == "default"
