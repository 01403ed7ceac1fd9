"""The minimal knowledge base: search, suggestions while typing, helpful votes."""

from __future__ import annotations

import pytest

from kb.models import Article, Category
from kb.search import article_search

pytestmark = pytest.mark.django_db


@pytest.fixture
def articles(db):
    domains = Category.objects.create(name="Domains", slug="domains")
    transfer = Article.objects.create(
        title="How to transfer a domain",
        slug="transfer",
        category=domains,
        body="Unlock the domain and request the auth code.",
        keywords="transfer authcode epp",
        published=True,
        helpful_yes=11,
        helpful_no=11,
    )
    dns = Article.objects.create(
        title="DNS zone not resolving",
        slug="dns",
        category=domains,
        body="Check the nameservers. A transfer does not change them.",
        keywords="servfail",
        published=True,
    )
    Article.objects.create(
        title="Draft transfer notes", slug="draft", body="transfer", published=False
    )
    return transfer, dns


def test_search_ranks_title_and_keywords_over_body_and_skips_drafts(articles):
    transfer, dns = articles
    assert article_search("domain transfer failed") == [transfer, dns]
    assert article_search("SERVFAIL") == [dns]
    assert article_search("the and of") == []


def test_suggest_endpoint_and_helpful_summary(client, articles):
    data = client.get("/kb/suggest.json", {"q": "transfer"}).json()
    assert data["articles"][0] == {
        "title": "How to transfer a domain",
        "url": "/kb/transfer/",
        "category": "Domains",
        "helpful": "11 out of 22 found this helpful",
    }


def test_one_vote_per_session(client, articles):
    transfer, _ = articles
    client.post("/kb/transfer/vote/", {"helpful": "yes"})
    client.post("/kb/transfer/vote/", {"helpful": "yes"})
    transfer.refresh_from_db()
    assert transfer.helpful_summary == "12 out of 23 found this helpful"
    page = client.get("/kb/transfer/").content.decode()
    assert "12 out of 23 found this helpful" in page and "Thanks for your feedback" in page


def test_drafts_are_not_served_and_search_page_works(client, articles):
    assert client.get("/kb/draft/").status_code == 404
    assert "How to transfer a domain" in client.get("/kb/", {"q": "transfer"}).content.decode()


def test_portal_form_shows_suggestions_without_javascript(client, anna, articles):
    from tests.portal.conftest import sign_in_link

    client.post("/portal/sign-in/", {"email": "anna@northwind.example"})
    client.post(sign_in_link())
    page = client.post(
        "/portal/tickets/new/",
        {
            "topic": "technical",
            "subject": "transfer stuck",
            "description": "help",
            "severity": "3",
            "_suggest": "1",
        },
    ).content.decode()
    assert "How to transfer a domain" in page
