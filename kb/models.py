"""A minimal knowledge base: categorised articles, keyword search, "was this helpful" votes."""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext

from tickets.models import Language


class Category(models.Model):
    name = models.CharField(max_length=100, unique=True)
    slug = models.SlugField(max_length=100, unique=True)
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["position", "name"]
        verbose_name_plural = "categories"

    def __str__(self) -> str:
        return self.name


class Article(models.Model):
    """One answer customers can find before they ask."""

    title = models.CharField(max_length=200)
    slug = models.SlugField(max_length=200, unique=True)
    category = models.ForeignKey(
        Category, null=True, blank=True, on_delete=models.SET_NULL, related_name="articles"
    )
    body = models.TextField(help_text="Plain text; blank lines separate paragraphs.")
    keywords = models.CharField(
        max_length=400,
        blank=True,
        help_text="Words customers use for this problem, space-separated.",
    )
    published = models.BooleanField(default=False)
    helpful_yes = models.PositiveIntegerField(default=0, editable=False)
    helpful_no = models.PositiveIntegerField(default=0, editable=False)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["title"]
        indexes = [models.Index(fields=["published", "title"], name="kb_article_published")]
        constraints = [
            models.CheckConstraint(
                condition=Q(helpful_yes__gte=0) & Q(helpful_no__gte=0), name="kb_votes_positive"
            )
        ]

    def __str__(self) -> str:
        return self.title

    @property
    def votes(self) -> int:
        return self.helpful_yes + self.helpful_no

    @property
    def helpful_summary(self) -> str:
        """Return e.g. "11 out of 22 found this helpful" (empty before the first vote)."""
        if not self.votes:
            return ""
        return gettext("%(yes)d out of %(total)d found this helpful") % {
            "yes": self.helpful_yes,
            "total": self.votes,
        }


class ArticleTranslation(models.Model):
    """The article in another language; readers of that language see it instead."""

    article = models.ForeignKey(Article, on_delete=models.CASCADE, related_name="translations")
    language = models.CharField(max_length=5, choices=Language.choices)
    title = models.CharField(max_length=200)
    body = models.TextField(help_text="Plain text; blank lines separate paragraphs.")
    keywords = models.CharField(max_length=400, blank=True)

    class Meta:
        ordering = ["article", "language"]
        constraints = [
            models.UniqueConstraint(
                fields=["article", "language"], name="kb_one_translation_per_language"
            )
        ]

    def __str__(self) -> str:
        return f"{self.title} ({self.language})"
