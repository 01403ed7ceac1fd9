"""Satisfaction answers in the admin (read-only: customers give them)."""

from __future__ import annotations

from django.contrib import admin
from django.http import HttpRequest

from .models import Survey


@admin.register(Survey)
class SurveyAdmin(admin.ModelAdmin):
    list_display = ("ticket", "rating", "rated_via", "rated_at", "email", "language", "created_at")
    list_filter = ("rating", "rated_via", "language")
    list_select_related = ("ticket",)
    search_fields = ("ticket__number", "comment", "email")
    readonly_fields = [f.name for f in Survey._meta.fields]
    show_full_result_count = False

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Survey | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Survey | None = None) -> bool:
        return False  # an answer is evidence, as tickets are
