"""The message class the email parser builds: the stdlib's, with header parameters
parsed once.

Reading a part asks for its Content-Type parameters several times (the charset hint for
raw 8-bit headers, the text's charset, a file name in ``name``), and Content-Disposition's
twice; the stdlib parses the header text each time. The parameters are a function of
that text alone, and most mails carry the same few (``text/plain; charset="utf-8"``), so
they are parsed once a process per distinct text. Pure module (standard library only).
"""

from __future__ import annotations

import functools
from email import utils
from email.message import Message, _parseparam  # type: ignore[attr-defined]
from typing import Any

_MISSING = object()


class Part(Message):
    """``email.message.Message`` whose header parameters come from a shared cache."""

    def _get_params_preserve(self, failobj: Any, header: str) -> Any:
        value = self.get(header, _MISSING)
        if value is _MISSING:
            return failobj
        # A list as the stdlib returns (get_params hands it to its caller), of immutables.
        return list(header_params(str(value)))


@functools.lru_cache(maxsize=4096)
def header_params(text: str) -> tuple[Any, ...]:
    """Return the parameters of a header's text as ``Message._get_params_preserve``
    (Python 3.11) works them out: ``(name, value)`` pairs, RFC 2231 values decoded."""
    params = []
    for p in _parseparam(text):
        try:
            name, val = p.split("=", 1)
            name = name.strip()
            val = val.strip()
        except ValueError:  # a bare attribute
            name = p.strip()
            val = ""
        params.append((name, val))
    return tuple(utils.decode_params(params))
