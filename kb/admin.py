from django.contrib import admin

from .models import Article, ArticleTranslation, Category


class ArticleTranslationInline(admin.StackedInline):
    model = ArticleTranslation
    extra = 0


@admin.register(Category)
class CategoryAdmin(admin.ModelAdmin):
    list_display = ("name", "slug", "position")
    prepopulated_fields = {"slug": ("name",)}


@admin.register(Article)
class ArticleAdmin(admin.ModelAdmin):
    list_display = ("title", "category", "published", "helpful_summary", "updated_at")
    list_filter = ("published", "category")
    search_fields = ("title", "keywords", "body")
    prepopulated_fields = {"slug": ("title",)}
    readonly_fields = ("helpful_yes", "helpful_no")
    inlines = [ArticleTranslationInline]
