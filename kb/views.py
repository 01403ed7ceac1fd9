"""Public knowledge-base pages and the JSON suggestions the portal asks for while typing."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from .models import Category
from .search import article_search, article_vote, localize, published_articles

VOTED_SESSION_KEY = "kb_voted"


@require_GET
def index(request: HttpRequest) -> HttpResponse:
    query = request.GET.get("q", "").strip()
    categories = list(Category.objects.prefetch_related("articles"))
    localize([a for c in categories for a in c.articles.all()])  # the reader's language
    context = {
        "query": query,
        "results": article_search(query, limit=20) if query else None,
        "categories": categories,
    }
    return render(request, "kb/index.html", context)


@require_GET
def article_detail(request: HttpRequest, slug: str) -> HttpResponse:
    article = get_object_or_404(published_articles().select_related("category"), slug=slug)
    localize([article])
    voted = article.pk in request.session.get(VOTED_SESSION_KEY, [])
    return render(request, "kb/article.html", {"article": article, "voted": voted})


@require_POST
def vote(request: HttpRequest, slug: str) -> HttpResponse:
    article = get_object_or_404(published_articles(), slug=slug)
    voted = request.session.get(VOTED_SESSION_KEY, [])
    if article.pk not in voted:  # one vote per browser session
        article_vote(article=article, helpful=request.POST.get("helpful") == "yes")
        request.session[VOTED_SESSION_KEY] = [*voted, article.pk]
    return HttpResponseRedirect(reverse("kb:article", args=[article.slug]) + "#vote")


@require_GET
def suggest(request: HttpRequest) -> JsonResponse:
    """Return up to 5 articles matching ``q`` (the portal calls this while a subject is typed)."""
    articles = article_search(request.GET.get("q", ""), limit=5)
    return JsonResponse(
        {
            "articles": [
                {
                    "title": a.title,
                    "url": reverse("kb:article", args=[a.slug]),
                    "category": a.category.name if a.category else "",
                    "helpful": a.helpful_summary,
                }
                for a in articles
            ]
        }
    )
