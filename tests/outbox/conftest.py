"""A real SMTP server (aiosmtpd on a loopback port) the outbox sends to: it accepts,
refuses temporarily (451) or rejects recipients (550), and records what it received."""

from __future__ import annotations

import asyncio
import email
from email.message import Message

import pytest
from aiosmtpd.controller import Controller

from tests.processes import free_port


class MailServer:
    """What the SMTP server does next, and what it received."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.tempfail = False
        self.stall = 0.0  # seconds the server sits on a mail's DATA before answering
        self.rejected: set[str] = set()
        self.received: list[Message] = []
        self._controller: Controller | None = None

    # aiosmtpd hooks (run in the server's thread)
    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):  # noqa: N802
        if address.lower() in self.rejected:
            return "550 5.1.1 No such user here"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):  # noqa: N802
        if self.stall:
            await asyncio.sleep(self.stall)
        if self.tempfail:
            return "451 4.3.0 Mailbox busy, try again later"
        self.received.append(email.message_from_bytes(envelope.content))
        return "250 2.0.0 Accepted"

    def start(self) -> None:
        self._controller = Controller(self, hostname="127.0.0.1", port=self.port)
        self._controller.start()

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    def subjects(self) -> list[str]:
        return [str(m["Subject"]) for m in self.received]


@pytest.fixture
def mail_server():
    """A stopped SMTP server on a free port (``start()`` it: until then the port refuses
    connections, like a mail server that is down)."""
    server = MailServer(free_port())
    yield server
    server.stop()


@pytest.fixture
def smtp_settings(settings, mail_server):
    """This process sends through Django's SMTP backend to ``mail_server``."""
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = "127.0.0.1"
    settings.EMAIL_PORT = mail_server.port
    settings.EMAIL_USE_TLS = False
    settings.EMAIL_HOST_USER = settings.EMAIL_HOST_PASSWORD = ""
    settings.EMAIL_TIMEOUT = 10
    return settings


def smtp_env(server: MailServer) -> dict[str, str]:
    """Environment for a worker process that sends to ``server`` and retries fast."""
    return {
        "EMAIL_BACKEND": "django.core.mail.backends.smtp.EmailBackend",
        "EMAIL_HOST": "127.0.0.1",
        "EMAIL_PORT": str(server.port),
        "EMAIL_USE_TLS": "0",
        "EMAIL_HOST_USER": "",
        "EMAIL_HOST_PASSWORD": "",
        "SUPPORTDESK_OUTBOX_RETRY_BASE_SECONDS": "1",
        "SUPPORTDESK_OUTBOX_RETRY_MAX_SECONDS": "2",
    }
