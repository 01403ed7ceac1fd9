"""Template tags for the portal's long lists."""

from __future__ import annotations

from html import escape

from django import template
from django.utils.safestring import SafeString, mark_safe

register = template.Library()


@register.simple_tag
def ticket_rows(rows: list[dict[str, str]]) -> SafeString:
    """Return the ``<tr>`` elements of the portal ticket list, every value escaped.

    The list is the portal's busiest page: a ``{% for %}`` loop resolving and escaping
    six variables in each of 50 rows cost more than the rest of the request together,
    while joining escaped strings here costs a few microseconds per row.
    """
    return mark_safe(  # noqa: S308 - every interpolated value goes through escape()
        "".join(
            f'<tr><td><a href="{escape(r["url"])}">{escape(r["reference"])}</a></td>'
            f"<td>{escape(r['subject'])}</td><td>{escape(r['status'])}</td>"
            f"<td>{escape(r['department'])}</td><td>{escape(r['updated'])}</td></tr>"
            for r in rows
        )
    )
