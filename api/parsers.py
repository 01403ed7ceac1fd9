"""A JSON parser that refuses what the database cannot store, with a 400 that says so.

Python's json module takes ``"\\u0000"`` (PostgreSQL text cannot hold NUL), lone
surrogates such as ``"\\ud800"`` (no encoding can write them), ``1e999``, ``NaN`` and
``Infinity`` (JSON columns refuse them), and nesting deep enough to exhaust the
interpreter's stack. Each of them was a 500 once it reached the raw-first store.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser

MAX_DEPTH = 32
_UNUSABLE = re.compile("[\x00\ud800-\udfff]")


def _finite(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ParseError(f"Number {text} is out of range.")
    return value


def _constant(name: str) -> Any:
    raise ParseError(f"{name} is not JSON: send a number or null.")


class StrictJSONParser(JSONParser):
    def parse(self, stream: Any, media_type: str | None = None, parser_context: Any = None):
        raw = stream.read() if stream is not None else b""
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise ParseError("The body is not UTF-8.") from exc
        try:
            data = json.loads(text, parse_float=_finite, parse_constant=_constant)
        except RecursionError as exc:
            raise ParseError(f"JSON nested deeper than {MAX_DEPTH} levels.") from exc
        except ValueError as exc:
            raise ParseError(f"JSON parse error: {exc}") from exc
        _check(data, 0)
        return data


def _check(value: Any, depth: int) -> None:
    """Refuse nesting over ``MAX_DEPTH`` and strings (or keys) with NUL or a surrogate."""
    if depth > MAX_DEPTH:
        raise ParseError(f"JSON nested deeper than {MAX_DEPTH} levels.")
    if isinstance(value, str):
        if _UNUSABLE.search(value):
            raise ParseError("A string holds a NUL character or an unpaired surrogate.")
    elif isinstance(value, dict):
        for key, item in value.items():
            _check(key, depth + 1)
            _check(item, depth + 1)
    elif isinstance(value, list):
        for item in value:
            _check(item, depth + 1)
