"""A careful IMAP session on top of the standard library's imaplib.

What it adds: a timeout on every socket operation (a server that stops answering ends the
poll with a clear error, it never hangs it), TLS with verified certificates and names
(implicit TLS or STARTTLS, never plain text), capabilities read again after login (servers
announce MOVE and UIDPLUS only then), UID commands only, MOVE or COPY + UID EXPUNGE (never a
plain EXPUNGE, which would also remove mail another client had only flagged deleted), and
errors a person can act on. ``ConnectionLost`` means the session is unusable: the poll
stops instead of trying every remaining mail on a dead socket.
"""

from __future__ import annotations

import imaplib
import re
import socket
import ssl
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

# imaplib refuses lines longer than this (a server's answer to a big UID SEARCH).
imaplib._MAXLINE = 10_000_000  # type: ignore[attr-defined]  # private, not in typeshed

_UID = re.compile(rb"\bUID (\d+)")
# imaplib leaves out a None argument: SEARCH without CHARSET (typeshed wants a str).
_NO_CHARSET: Any = None
_SIZE = re.compile(rb"\bRFC822\.SIZE (\d+)")
_DATE = re.compile(rb'\bINTERNALDATE "([^"]+)"')
_SEQ = re.compile(rb"^(\d+) \(")


class MailboxError(Exception):
    """A problem with the mailbox, worded for the admin who has to fix it."""


class ConnectionLost(MailboxError):  # noqa: N818 - the session is gone, not a bug
    """The connection dropped or the server stopped answering."""


class CommandFailed(MailboxError):  # noqa: N818
    """The server refused one command (NO/BAD); the session is still usable."""


@dataclass(frozen=True)
class MailMeta:
    uid: int
    size: int | None
    internal_date: datetime | None
    message_id: str


@dataclass(frozen=True)
class Endpoint:
    host: str
    port: int
    starttls: bool
    ca_pem: str = ""


def tls_context(ca_pem: str = "") -> ssl.SSLContext:
    """Return a client context that verifies the chain and the host name (a private CA's
    PEM replaces the system's authorities when given)."""
    context = ssl.create_default_context(cadata=ca_pem or None)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    return context


class ImapSession:
    """One connection to one mailbox; use as a context manager (it logs out)."""

    def __init__(self, endpoint: Endpoint, *, timeout: float) -> None:
        self.endpoint = endpoint
        where = f"{endpoint.host}:{endpoint.port}"
        try:
            context = tls_context(endpoint.ca_pem)
        except ssl.SSLError as exc:
            raise MailboxError(
                f"The CA certificate given for the mailbox is not valid PEM: {exc}"
            ) from exc
        try:
            if endpoint.starttls:
                self.client = imaplib.IMAP4(endpoint.host, endpoint.port, timeout=timeout)
                if "STARTTLS" not in self.client.capabilities:
                    self._close()
                    raise MailboxError(
                        f"{where} does not offer STARTTLS: choose implicit TLS (port 993) "
                        "or enable STARTTLS on the server (mail is never read in plain text)."
                    )
                self.client.starttls(ssl_context=context)
            else:
                self.client = imaplib.IMAP4_SSL(
                    endpoint.host, endpoint.port, ssl_context=context, timeout=timeout
                )
        except ssl.SSLCertVerificationError as exc:
            raise MailboxError(
                f"The certificate of {where} was refused: {exc.verify_message or exc}. "
                "Check the host name, or give the CA of a private server."
            ) from exc
        except (OSError, imaplib.IMAP4.error) as exc:
            raise _lost(exc, f"connect to {where}") from exc
        self.capabilities: set[str] = set(self.client.capabilities)

    def __enter__(self) -> ImapSession:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._close()

    def _close(self) -> None:
        try:
            self.client.logout()
        except Exception:  # noqa: BLE001, S110 - a dead connection is closed either way
            pass
        try:
            self.client.shutdown()
        except Exception:  # noqa: BLE001, S110
            pass

    # --- sign in ----------------------------------------------------------------------------

    def login_password(self, username: str, password: str) -> None:
        """Sign in (AUTHENTICATE PLAIN when offered: UTF-8 passwords; LOGIN otherwise)."""
        if "AUTH=PLAIN" in self.capabilities:
            answer = f"\0{username}\0{password}".encode()
            self._auth("PLAIN", _once(answer), username)
        else:
            self._call(lambda: self.client.login(username, password), "sign in", auth=username)
        self._after_login()

    def login_xoauth2(self, username: str, access_token: str) -> None:
        """Sign in with an OAuth2 access token (SASL XOAUTH2, Google and Microsoft)."""
        answer = f"user={username}\x01auth=Bearer {access_token}\x01\x01".encode()
        self._auth("XOAUTH2", _once(answer), username)
        self._after_login()

    def _auth(self, mechanism: str, answer: Callable[[bytes], bytes], username: str) -> None:
        self._call(lambda: self.client.authenticate(mechanism, answer), "sign in", auth=username)

    def _after_login(self) -> None:
        # imaplib keeps the capabilities it read before login; servers say more after it.
        typ, data = self._call(self.client.capability, "read the capabilities")
        words = b" ".join(d for d in data if isinstance(d, bytes)).decode("ascii", "replace")
        self.capabilities = {word.upper() for word in words.split()}
        self.client.capabilities = tuple(sorted(self.capabilities))

    # --- folders ----------------------------------------------------------------------------

    def select(self, folder: str) -> tuple[int, int | None]:
        """Open ``folder`` for reading and writing; return its UIDVALIDITY and UIDNEXT."""
        try:
            typ, data = self.client.select(_quoted(folder))
        except (OSError, imaplib.IMAP4.abort) as exc:
            raise _lost(exc, f"open the folder {folder!r}") from exc
        if typ != "OK":
            raise CommandFailed(
                f"The folder {folder!r} cannot be opened ({_text(data)}): check its name."
            )
        validity = self.client.untagged_responses.get("UIDVALIDITY") or []
        if not validity:
            raise CommandFailed(f"The server gave no UIDVALIDITY for {folder!r}.")
        uidnext = self.client.untagged_responses.get("UIDNEXT") or []
        return int(cast(bytes, validity[-1])), int(cast(bytes, uidnext[-1])) if uidnext else None

    def folder_exists(self, folder: str) -> bool:
        typ, data = self._call(lambda: self.client.list('""', _quoted(folder)), "list folders")
        return any(isinstance(d, bytes) and d for d in data)

    # --- reading ------------------------------------------------------------------------------

    def uids_above(self, last_uid: int) -> list[int]:
        """Return the UIDs greater than ``last_uid``, ascending (``n:*`` also names the
        highest existing UID when none is above: filtered out)."""
        typ, data = self._call(
            lambda: self.client.uid("SEARCH", _NO_CHARSET, f"UID {last_uid + 1}:*"),
            "search the folder",
        )
        return sorted(u for u in _numbers(data) if u > last_uid)

    def uids_since(self, day: datetime) -> list[int]:
        """Return the UIDs of mail that reached the server on ``day`` or later."""
        since = day.strftime("%d-%b-%Y")
        typ, data = self._call(
            lambda: self.client.uid("SEARCH", _NO_CHARSET, f"SINCE {since}"), "search the folder"
        )
        return sorted(_numbers(data))

    def fetch_meta(self, uids: list[int], *, message_ids: bool = False) -> dict[int, MailMeta]:
        """Return size and arrival time of each mail still there (what the server keeps
        in its index: reading them opens no mail), and the Message-ID if asked (that
        reads each mail's header: ask for one UID at a time)."""
        if not uids:
            return {}
        items = "(UID RFC822.SIZE INTERNALDATE)"
        if message_ids:
            items = "(UID RFC822.SIZE INTERNALDATE BODY.PEEK[HEADER.FIELDS (MESSAGE-ID)])"
        typ, data = self._call(
            lambda: self.client.uid("FETCH", sequence_set(uids), items), "read mail headers"
        )
        wanted, found = set(uids), {}
        for head, literal in _fetch_parts(data):
            match = _UID.search(head)
            if not match or int(match[1]) not in wanted:
                continue  # an unsolicited FETCH (another client changed flags)
            uid = int(match[1])
            size = _SIZE.search(head)
            found[uid] = MailMeta(
                uid=uid,
                size=int(size[1]) if size else None,
                internal_date=_internal_date(head),
                message_id=_message_id(literal or b""),
            )
        return found

    def fetch_body(self, uid: int) -> bytes:
        """Return the raw mail (BODY.PEEK: reading it changes no flag on the server)."""
        typ, data = self._call(
            lambda: self.client.uid("FETCH", str(uid), "(UID BODY.PEEK[])"), f"fetch UID {uid}"
        )
        for head, literal in _fetch_parts(data):
            match = _UID.search(head)
            if match and int(match[1]) == uid and literal is not None:
                return literal
        raise CommandFailed(f"The server sent no content for UID {uid}.")

    # --- after storing --------------------------------------------------------------------------

    def move(self, uids: list[int], folder: str) -> None:
        """Move mails by UID: MOVE, else COPY + flag deleted + UID EXPUNGE of exactly
        these UIDs. Without UIDPLUS the copies are flagged deleted and left for a person
        to expunge (a plain EXPUNGE would also remove other clients' deleted mail)."""
        if not uids:
            return
        where = sequence_set(uids)
        if "MOVE" in self.capabilities:
            self._call(
                lambda: self.client.uid("MOVE", where, _quoted(folder)), f"move mail to {folder!r}"
            )
            return
        self._call(
            lambda: self.client.uid("COPY", where, _quoted(folder)), f"copy mail to {folder!r}"
        )
        self._call(
            lambda: self.client.uid("STORE", where, "+FLAGS.SILENT", r"(\Deleted)"),
            "flag the copied mail deleted",
        )
        if "UIDPLUS" in self.capabilities:
            self._call(lambda: self.client.uid("EXPUNGE", where), "expunge the moved mail")

    def mark_seen(self, uids: list[int]) -> None:
        if uids:
            self._call(
                lambda: self.client.uid("STORE", sequence_set(uids), "+FLAGS.SILENT", r"(\Seen)"),
                "mark mail as read",
            )

    # --- plumbing ---------------------------------------------------------------------------------

    def _call(
        self, command: Callable[[], tuple[str, Any]], what: str, *, auth: str = ""
    ) -> tuple[str, list]:
        try:
            typ, data = command()
        except imaplib.IMAP4.abort as exc:
            raise _lost(exc, what) from exc
        except imaplib.IMAP4.error as exc:
            if auth:
                raise CommandFailed(
                    f"The server refused the sign-in of {auth!r} ({exc}): check the user name "
                    "and the password or the connected account."
                ) from exc
            raise CommandFailed(f"Could not {what}: {exc}") from exc
        except OSError as exc:
            raise _lost(exc, what) from exc
        if typ != "OK":
            raise CommandFailed(f"Could not {what}: {typ} {_text(data)}")
        return typ, data


def _lost(exc: BaseException, what: str) -> MailboxError:
    if isinstance(exc, TimeoutError | socket.timeout):
        return ConnectionLost(
            f"The server stopped answering (no reply in time) while trying to {what}."
        )
    if isinstance(exc, ssl.SSLCertVerificationError):
        return MailboxError(f"The server's certificate was refused: {exc.verify_message or exc}.")
    detail = getattr(exc, "strerror", None) or str(exc) or type(exc).__name__
    return ConnectionLost(f"The connection was lost while trying to {what}: {detail}.")


def _once(answer: bytes) -> Callable[[bytes], bytes]:
    """A SASL responder: the credentials first, then an empty answer to the server's error
    challenge (XOAUTH2 sends one before its NO)."""
    sent: list[bool] = []

    def respond(_challenge: bytes) -> bytes:
        if sent:
            return b""
        sent.append(True)
        return answer

    return respond


def sequence_set(uids: Iterable[int]) -> str:
    """Return an IMAP sequence set for ``uids``: ``1:3,7,9:10``."""
    ordered = sorted(set(uids))
    parts: list[str] = []
    start: int | None = None
    prev = 0  # set with ``start``
    for uid in ordered:
        if start is None:
            start = prev = uid
        elif uid == prev + 1:
            prev = uid
        else:
            parts.append(f"{start}:{prev}" if start != prev else str(start))
            start = prev = uid
    if start is not None:
        parts.append(f"{start}:{prev}" if start != prev else str(start))
    return ",".join(parts)


def _quoted(folder: str) -> str:
    escaped = folder.replace("\\", "\\\\").replace('"', '\\"')
    return f'"{escaped}"'


def _numbers(data: list) -> list[int]:
    words = b" ".join(d for d in data if isinstance(d, bytes)).split()
    return [int(w) for w in words if w.isdigit()]


def _fetch_parts(data: list) -> list[tuple[bytes, bytes | None]]:
    """Return (response text, literal) per FETCH response in imaplib's ``data``: a tuple
    opens a response with a literal; plain bytes are either its rest (after the literal)
    or a whole response without literal."""
    out: list[list] = []
    for part in data:
        if isinstance(part, tuple):
            out.append([part[0], part[1]])
        elif isinstance(part, bytes):
            if _SEQ.match(part):
                out.append([part, None])
            elif out:
                out[-1][0] += b" " + part
    return [(head, literal) for head, literal in out]


def _internal_date(head: bytes) -> datetime | None:
    match = _DATE.search(head)
    if not match:
        return None
    try:
        return datetime.strptime(match[1].decode().strip(), "%d-%b-%Y %H:%M:%S %z")
    except ValueError:
        return None


def _message_id(header: bytes) -> str:
    text = header.decode("utf-8", "replace")
    unfolded = re.sub(r"\r?\n[ \t]+", " ", text)
    match = re.search(r"(?im)^message-id:\s*(.*?)\s*$", unfolded)
    return match[1].strip() if match else ""


def _text(data: list) -> str:
    return " ".join(d.decode("utf-8", "replace") for d in data if isinstance(d, bytes))
