"""HTML that is safe to show agents: nh3 (ammonia) keeps formatting, drops active content.

Pure module (nh3 only, no Django): the email parser uses it too, so mail HTML is cleaned
by the same rules whether it is parsed alone or stored through the services.
"""

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
