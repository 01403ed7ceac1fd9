"""HTML that is safe to show agents: nh3 (ammonia) keeps formatting, drops active content.

Pure module (nh3 only, no Django): the email parser uses it too, so mail HTML is cleaned
by the same rules whether it is parsed alone or stored through the services.
"""

from collections.abc import Callable

import nh3

# Formatting mail clients really send; no script, style, form, iframe or event handler.
ALLOWED_TAGS = {
    "a", "abbr", "b", "blockquote", "br", "caption", "code", "col", "colgroup", "dd", "del",
    "div", "dl", "dt", "em", "font", "h1", "h2", "h3", "h4", "h5", "h6", "hr", "i", "img",
    "ins", "kbd", "li", "ol", "p", "pre", "q", "s", "small", "span", "strike", "strong",
    "sub", "sup", "table", "tbody", "td", "tfoot", "th", "thead", "tr", "tt", "u", "ul",
}  # fmt: skip
# Removed together with their content: code, page metadata and embedded objects.
CLEAN_CONTENT_TAGS = {"script", "style", "head", "title", "noscript", "iframe", "object"}
ALLOWED_ATTRIBUTES = {
    "*": {"title", "lang", "dir", "align", "style"},
    "a": {"href", "name"},
    "img": {"src", "alt", "width", "height"},
    "td": {"colspan", "rowspan", "valign"},
    "th": {"colspan", "rowspan"},
    "font": {"color"},
}
# Inline styles are kept only for these properties: no url(), position or expression().
ALLOWED_STYLE_PROPERTIES = {
    "color", "background-color", "font-weight", "font-style", "font-size", "font-family",
    "text-align", "text-decoration", "margin", "padding", "border", "width", "height",
}  # fmt: skip
# cid: keeps inline images that arrived as attachments; no javascript:, no data:.
URL_SCHEMES = {"http", "https", "mailto", "tel", "cid"}

_CLEANER = nh3.Cleaner(
    tags=ALLOWED_TAGS,
    clean_content_tags=CLEAN_CONTENT_TAGS,
    attributes=ALLOWED_ATTRIBUTES,
    url_schemes=URL_SCHEMES,
    filter_style_properties=ALLOWED_STYLE_PROPERTIES,
    link_rel="noopener noreferrer nofollow",
    strip_comments=True,
)


def sanitize_html(html: str) -> str:
    """Return ``html`` with everything that could run or phone home removed."""
    if not html:
        return ""
    return _CLEANER.clean(html)


def html_for_display(
    html: str, *, inline_url: Callable[[str], str | None], allow_remote: bool = False
) -> tuple[str, int]:
    """Return stored (sanitized) mail HTML ready to show agents, and how many remote
    images it blocked.

    ``cid:`` images point at ``inline_url(content_id)`` (the stored attachment; None drops
    them). Remote images would tell the sender when, where and by whom the mail was read
    (tracking pixels), so they are replaced by a local placeholder unless
    ``allow_remote`` (the agent asked to show them for this message).
    """
    blocked = 0

    def rewrite(tag: str, attribute: str, value: str) -> str | None:
        nonlocal blocked
        if tag != "img" or attribute != "src":
            return value
        lowered = value.strip().lower()
        if lowered.startswith("cid:"):
            return inline_url(value.strip()[4:].strip("<>"))
        if allow_remote and lowered.startswith(("http://", "https://")):
            return value
        blocked += 1
        return BLOCKED_IMAGE_SRC

    cleaner = nh3.Cleaner(
        tags=ALLOWED_TAGS,
        clean_content_tags=CLEAN_CONTENT_TAGS,
        attributes=ALLOWED_ATTRIBUTES,
        url_schemes=URL_SCHEMES,
        filter_style_properties=ALLOWED_STYLE_PROPERTIES,
        link_rel="noopener noreferrer nofollow",
        strip_comments=True,
        attribute_filter=rewrite,
    )
    return cleaner.clean(html or ""), blocked


# A placeholder with no request to anyone: an empty image (data: is not kept by the
# stored-HTML sanitizer, only by this display step).
BLOCKED_IMAGE_SRC = "data:image/gif;base64,R0lGODlhAQABAAAAACw="
