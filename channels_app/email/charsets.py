"""Decode bytes in whatever charset a mail declares, or fails to declare correctly.

Pure module (standard library only). Never raises on bad input: a wrong or unknown
charset degrades to a best-effort decode.
"""

from __future__ import annotations

import codecs
import re
from functools import lru_cache

__all__ = ["codec_name", "decode_text", "is_utf8"]

_CHARSET_ALIASES = {
    "gb2312": "gb18030", "gbk": "gb18030", "x-gbk": "gb18030", "euc-cn": "gb18030",
    "ks_c_5601-1987": "cp949", "ks_c_5601": "cp949", "euc-kr": "cp949",
    "shift_jis": "cp932", "shift-jis": "cp932", "sjis": "cp932", "x-sjis": "cp932",
    "windows-31j": "cp932", "iso-2022-jp": "iso2022_jp_ext", "big5": "big5hkscs",
    "iso-8859-1": "cp1252", "latin1": "cp1252", "latin-1": "cp1252", "us-ascii": "cp1252",
    "ascii": "cp1252", "iso-8859-8-i": "iso-8859-8", "tis-620": "cp874",
    "unicode-1-1-utf-7": "utf-7", "utf8": "utf-8",
}  # fmt: skip
# Codecs whose bytes are pure ASCII, so the ASCII fast path would be wrong for them.
_SEVEN_BIT_CODECS = ("iso2022", "utf-7", "utf_7", "hz")
# Related charsets to try when the declared one fails (mislabelled CJK mail is common).
_FAMILY_FALLBACKS = {
    "iso2022_jp_ext": ("iso2022_jp_2004",), "cp932": ("euc_jis_2004",),
    "euc_jp": ("euc_jis_2004", "cp932"), "gb18030": ("big5hkscs",), "big5hkscs": ("gb18030",),
}  # fmt: skip
_HIGH_BYTE_RE = re.compile(rb"[\x80-\xff]")
_UTF8_SEQ_RE = re.compile(
    rb"[\xc2-\xdf][\x80-\xbf]|[\xe0-\xef][\x80-\xbf]{2}|[\xf0-\xf4][\x80-\xbf]{3}"
)
_JIS_RUN_RE = re.compile(rb"\x1b\$[@B]([^\x1b]*)")
_JIS_ESCAPE_RE = re.compile(rb"\x1b\([BJ]")


@lru_cache(maxsize=256)
def codec_name(charset: str | None) -> str | None:
    """Return a Python codec name for a declared MIME charset, or None if unknown."""
    if not charset:
        return None
    label = charset.strip().strip("\"'").lower()
    label = _CHARSET_ALIASES.get(label, label)
    try:
        return codecs.lookup(label).name
    except LookupError:
        return None


def decode_text(data: bytes, charset: str | None) -> str:
    """Decode bytes using the declared charset, falling back to UTF-8, then CP1252/Latin-1.

    Never raise: a wrong or unknown declared charset degrades to a best-effort decode.
    """
    codec = codec_name(charset)
    if codec is None and b"\x1b$" in data:
        codec = "iso2022_jp_ext"  # undeclared ISO-2022-JP is recognisable by its escapes
    seven_bit = bool(codec and codec.startswith(_SEVEN_BIT_CODECS))
    if data.isascii() and not seven_bit:
        return data.decode("ascii")
    if codec == "cp1252" and is_utf8(data):
        # Mails declared Latin-1/ASCII are very often really UTF-8; valid multi-byte UTF-8
        # almost never occurs by accident in genuine Latin-1 text.
        return data.decode("utf-8")
    candidates = [codec, *_FAMILY_FALLBACKS.get(codec or "", ())]
    if codec and codec.startswith("iso2022_jp") and not data.isascii():
        candidates += ["cp932", "euc_jis_2004"]  # 8-bit Japanese mislabelled as ISO-2022-JP
    if not (seven_bit and data.isascii()):
        candidates.append("utf-8")  # pure ASCII "decodes" as UTF-8 but says nothing
    for name in candidates:
        if name:
            try:
                return data.decode(name)
            except (UnicodeDecodeError, LookupError):
                pass
    if codec and codec.startswith("iso2022_jp"):
        return _lenient_iso2022_jp(data)
    if _mostly_utf8(data):
        return data.decode("utf-8", _MIXED_UTF8_ERRORS)
    if codec and codec not in ("utf-8", "cp1252", "latin-1", "ascii"):
        return data.decode(codec, "replace")
    try:
        return data.decode("cp1252")
    except UnicodeDecodeError:
        return data.decode("latin-1")


def _cp1252_fallback(exc: UnicodeError) -> tuple[str, int]:
    """Decode the bytes UTF-8 rejected as CP1252 (Latin-1 for its five undefined bytes)."""
    if not isinstance(exc, UnicodeDecodeError):
        raise exc
    bad = exc.object[exc.start : exc.end]
    return "".join(bytes([b]).decode("cp1252", "ignore") or chr(b) for b in bad), exc.end


_MIXED_UTF8_ERRORS = "supportdesk-cp1252-fallback"
codecs.register_error(_MIXED_UTF8_ERRORS, _cp1252_fallback)


def _mostly_utf8(data: bytes) -> bool:
    """Return whether most 8-bit bytes form valid UTF-8 (text pasted from two sources)."""
    high = len(_HIGH_BYTE_RE.findall(data))
    in_utf8 = sum(len(seq) for seq in _UTF8_SEQ_RE.findall(data))
    return in_utf8 * 2 >= high > 0


def _lenient_iso2022_jp(data: bytes) -> str:
    """Decode ISO-2022-JP with Windows (CP50220) extensions such as circled digits.

    JIS X 0208 runs are shifted to EUC and decoded as EUC-JIS-2004, whose rows 13+ hold
    the NEC extension characters that the strict ISO-2022-JP codecs reject.
    """
    out = _JIS_RUN_RE.sub(lambda m: bytes(b | 0x80 if b > 0x20 else b for b in m[1]), data)
    return _JIS_ESCAPE_RE.sub(b"", out).decode("euc_jis_2004", "replace")


def is_utf8(data: bytes) -> bool:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True
