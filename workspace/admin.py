"""Configuration of the workspace in the admin: macros (canned answers)."""

from django.contrib import admin

from .models import Macro


@admin.register(Macro)
class MacroAdmin(admin.ModelAdmin):
    list_display = ("name", "language", "line", "set_status", "assign", "add_tags", "is_active")
    list_filter = ("language", "line", "is_active")
    search_fields = ("name", "body")
