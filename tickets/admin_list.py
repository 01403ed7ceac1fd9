"""The agents' ticket list at volume: a capped count and rows rendered without templates.

The ticket changelist is the admin page agents reload all day, over the biggest table.
Django's changelist spends most of its time outside the database: ``items_for_result``
resolves, formats and ``format_html``-escapes every cell and reverses one URL per link,
and the paginator counts every ticket. Here the count stops at ``COUNT_CAP`` and the rows
of the plain case (no actions, no list_editable, no popup) are joined from escaped
strings with each column's way of showing its value decided once per page.
``tests/tickets/test_admin_list.py`` holds the output equal to Django's own rows.
"""

from __future__ import annotations

from collections.abc import Callable
from html import escape
from typing import Any, cast

from django.contrib.admin.templatetags.admin_list import result_headers
from django.contrib.admin.templatetags.admin_urls import add_preserved_filters
from django.contrib.admin.utils import display_for_value, quote
from django.contrib.admin.views.main import ChangeList
from django.core.exceptions import FieldDoesNotExist
from django.core.paginator import Paginator
from django.db import models
from django.db.models import QuerySet
from django.urls import reverse
from django.utils import timezone
from django.utils.dateformat import format as date_format
from django.utils.formats import get_format
from django.utils.functional import cached_property
from django.utils.safestring import SafeData, mark_safe

# Beyond 200 pages nobody pages: agents filter or search. Counting to the cap reads at
# most this many index entries instead of every ticket matching the filters.
COUNT_CAP = 10_000


class CappedCountPaginator(Paginator):
    """A paginator whose count stops at ``COUNT_CAP`` (``capped`` says it did)."""

    capped = False

    @cached_property
    def count(self) -> int:
        found = cast(QuerySet, self.object_list).order_by().values("pk")[: COUNT_CAP + 1].count()
        self.capped = found > COUNT_CAP
        return min(found, COUNT_CAP)


Cell = Callable[[Any], str]  # a row's object -> the cell's HTML


class TicketChangeList(ChangeList):
    """The ticket changelist; ``fast_results`` renders its rows, or is None to let Django."""

    @cached_property
    def fast_results(self) -> dict[str, Any] | None:
        """Return the header and row context for the results table, or None.

        None means an unusual page (actions, list_editable, a popup, a column kind not
        handled below): the template then falls back to Django's ``result_list``.
        """
        if self.formset is not None or self.is_popup or "action_checkbox" in self.list_display:
            return None
        found = [self._cell(name, index) for index, name in enumerate(self.list_display)]
        cells = [cell for cell in found if cell is not None]
        if len(cells) < len(found):
            return None
        headers = list(result_headers(self))
        rows = "".join(
            "<tr>" + "".join(cell(obj) for cell in cells) + "</tr>\n" for obj in self.result_list
        )
        return {
            "result_headers": headers,
            "num_sorted_fields": sum(1 for h in headers if h["sortable"] and h["sort_priority"]),
            "rows": mark_safe(rows),  # noqa: S308 - each cell escapes what it shows
        }

    def _cell(self, name: object, index: int) -> Cell | None:
        """Return how column ``name`` shows a row, as Django's ``items_for_result`` does."""
        if not isinstance(name, str):
            return None
        empty = self.model_admin.get_empty_value_display()  # marked safe, as Django shows it
        classes = "field-" + name
        try:
            field = self.lookup_opts.get_field(name)
        except FieldDoesNotExist:
            field = None
        if isinstance(field, models.ForeignKey):
            classes += " nowrap"
            show = _shown(lambda obj: getattr(obj, field.name), empty)
        elif isinstance(field, models.DateTimeField):
            classes += " nowrap"
            show = _datetime(field.attname, empty)
        elif isinstance(field, models.Field) and field.flatchoices:
            labels = {value: escape(str(label)) for value, label in field.flatchoices}
            show = lambda obj: labels.get(getattr(obj, field.attname), empty)  # noqa: E731
        elif isinstance(field, models.CharField | models.TextField):
            show = _shown(lambda obj: getattr(obj, field.attname), empty)
        elif field is None and callable(method := getattr(self.model_admin, name, None)):
            if getattr(method, "boolean", False) or hasattr(method, "empty_value_display"):
                return None
            show = _shown(method, empty)
        else:
            return None
        return self._wrap(name, index, f' class="{classes}"', show)

    def _wrap(self, name: str, index: int, css: str, show: Cell) -> Cell:
        links = self.list_display_links
        if links is None or (links and name not in links) or (not links and index > 0):
            return lambda obj: f"<td{css}>{show(obj)}</td>"
        tag = "th" if name == self._first_link else "td"
        # One reverse per page, not per row: the pk goes where the placeholder was.
        url = reverse(
            f"admin:{self.opts.app_label}_{self.opts.model_name}_change",
            args=("__pk__",),
            current_app=self.model_admin.admin_site.name,
        )
        url = add_preserved_filters(
            {"preserved_filters": self.preserved_filters, "opts": self.opts}, url
        )
        before, _, after = url.partition("__pk__")
        return lambda obj: (
            f'<{tag}{css}><a href="{escape(f"{before}{quote(obj.pk)}{after}")}">'
            f"{show(obj)}</a></{tag}>"
        )

    @cached_property
    def _first_link(self) -> object:  # a column: a name or a callable
        links = self.list_display_links or self.list_display[:1]
        return next(name for name in self.list_display if name in links)


def _shown(get: Callable[[Any], Any], empty: str) -> Cell:
    def show(obj: Any) -> str:
        value = get(obj)
        if isinstance(value, str) and not value.strip():
            value = ""
        text = display_for_value(value, empty)
        return text if isinstance(text, SafeData) else escape(str(text))

    return show


def _datetime(attname: str, empty: str) -> Cell:
    pattern = get_format("DATETIME_FORMAT")

    def show(obj: Any) -> str:
        value = getattr(obj, attname)
        if value is None:
            return empty
        local = timezone.template_localtime(value)  # type: ignore[attr-defined]  # not in stubs
        return escape(date_format(local, pattern))

    return show
