"""Read raw mails from files: .eml files, mbox files and Maildir folders, in a stable order.

Pure module (standard library only). A file named on the command line is always read; in
a directory (sorted name order) only mail-like files are: ``*.eml``, ``*.mbox``, ``*.mbx``
and files without a suffix (MH folders); others (e.g. ``.json`` sidecars) are skipped. A
Maildir (a folder with ``cur``/``new``) yields ``new`` then ``cur``, each sorted by name.
"""

from __future__ import annotations

import mailbox
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

MBOX_MAGIC = b"From "
MAIL_SUFFIXES = frozenset({".eml", ".mbox", ".mbx", ""})


@dataclass(frozen=True)
class RawMail:
    """One mail read from disk (``raw`` None and ``error`` set when it could not be read)."""

    origin: str
    raw: bytes | None
    error: str = ""


def iter_mails(paths: list[str | Path]) -> Iterator[RawMail]:
    """Yield every mail under ``paths`` in the order given (directories sorted by name)."""
    for path in paths:
        yield from _walk(Path(path))


def _walk(path: Path) -> Iterator[RawMail]:
    if path.is_dir():
        if (path / "cur").is_dir() or (path / "new").is_dir():
            yield from _maildir(path)
            return
        for child in sorted(path.iterdir(), key=lambda p: p.name):
            if child.name.startswith("."):
                continue
            if child.is_dir() or child.suffix.lower() in MAIL_SUFFIXES:
                yield from _walk(child)
        return
    try:
        with path.open("rb") as handle:
            head = handle.read(len(MBOX_MAGIC))
    except OSError as exc:
        yield RawMail(str(path), None, f"cannot read {path}: {exc.strerror or exc}")
        return
    if head == MBOX_MAGIC:
        yield from _mbox(path)
    else:
        try:
            yield RawMail(str(path), path.read_bytes())
        except OSError as exc:
            yield RawMail(str(path), None, f"cannot read {path}: {exc.strerror or exc}")


def _maildir(path: Path) -> Iterator[RawMail]:
    for sub in ("new", "cur"):
        folder = path / sub
        if not folder.is_dir():
            continue
        for item in sorted(folder.iterdir(), key=lambda p: p.name):
            if item.is_file() and not item.name.startswith("."):
                try:
                    yield RawMail(str(item), item.read_bytes())
                except OSError as exc:
                    yield RawMail(str(item), None, f"cannot read {item}: {exc.strerror or exc}")


def _mbox(path: Path) -> Iterator[RawMail]:
    box = mailbox.mbox(path, create=False)
    try:
        for index, key in enumerate(box.iterkeys()):
            origin = f"{path}#{index + 1}"
            try:
                yield RawMail(origin, box.get_bytes(key))
            except Exception as exc:  # one unreadable entry must not stop the rest
                yield RawMail(origin, None, f"cannot read {origin}: {exc}")
    finally:
        box.close()
