"""Keyword search over published articles, and the helpful votes: the KB's only logic."""

from __future__ import annotations

import re
from typing import Any, cast

from django.db.models import F, Q, QuerySet
from django.utils.translation import get_language

from supportdesk.db_router import replica_alias

from .models import Article, ArticleTranslation

_WORD = re.compile(r"[\w.-]{3,}", re.UNICODE)
# Words that match nearly every article and say nothing about the problem.
_STOP = frozenset(
    "the and for with not does doesn can cannot how what why when where have has from this that "
    "you your our are was were will would please help issue problem error".split()
)
MAX_CANDIDATES = 200


def query_words(text: str) -> list[str]:
    """Return the distinct, meaningful lower-cased words of ``text`` (at most 8)."""
    words: list[str] = []
    for word in _WORD.findall((text or "").lower()):
        word = word.strip(".-")
        if len(word) >= 3 and word not in _STOP and word not in words:
            words.append(word)
    return words[:8]


def article_search(text: str, *, limit: int = 5) -> list[Article]:
    """Return the published articles that best match ``text``, best first, in the active
    language (an article's translation is searched and shown where it has one).

    A word in the title counts 3, in the keywords 2, in the body 1; ties go to the
    article more readers found helpful.
    """
    words = query_words(text)
    if not words:
        return []
    language = get_language() or ""
    match = Q()
    for word in words:
        match |= Q(title__icontains=word) | Q(keywords__icontains=word) | Q(body__icontains=word)
        match |= Q(translations__language=language) & (
            Q(translations__title__icontains=word)
            | Q(translations__keywords__icontains=word)
            | Q(translations__body__icontains=word)
        )
    db = replica_alias()  # search tolerates a few seconds of lag
    found = published_articles().using(db).filter(match).values_list("pk", flat=True).distinct()
    candidates = localize(
        list(
            Article.objects.using(db)
            .filter(pk__in=list(found[:MAX_CANDIDATES]))
            .select_related("category")
        ),
        language,
    )

    def score(article: Article) -> tuple[int, int]:
        title, keywords, body = (
            article.title.lower(),
            article.keywords.lower(),
            article.body.lower(),
        )
        points = sum(3 * (w in title) + 2 * (w in keywords) + (w in body) for w in words)
        return points, article.helpful_yes - article.helpful_no

    candidates.sort(key=score, reverse=True)
    return candidates[:limit]


def published_articles() -> QuerySet[Article]:
    return Article.objects.filter(published=True)


def localize(articles: list[Article], language: str | None = None) -> list[Article]:
    """Show each article in ``language`` (default: the active one) where it has a
    translation: its title, body and keywords are replaced in memory (one query)."""
    language = language or get_language() or ""
    if not articles:
        return articles
    translated = {
        t.article_id: t
        for t in ArticleTranslation.objects.filter(
            article__in=[a.pk for a in articles], language=language
        )
    }
    for article in articles:
        if (t := translated.get(article.pk)) is not None:
            article.title, article.body, article.keywords = t.title, t.body, t.keywords
            cast(Any, article).language = language  # shown in it (not a field of Article)
    return articles


def article_vote(*, article: Article, helpful: bool) -> Article:
    """Count one "was this helpful?" answer (atomic increment, no lost votes)."""
    field = "helpful_yes" if helpful else "helpful_no"
    Article.objects.filter(pk=article.pk).update(**{field: F(field) + 1})
    article.refresh_from_db(fields=["helpful_yes", "helpful_no"])
    return article
