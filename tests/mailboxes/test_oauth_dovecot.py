"""OAuth2 mailboxes (Google, Microsoft 365): a refresh token traded for access tokens,
and a real XOAUTH2 sign-in at dovecot.

Only the providers' HTTP is stood in for, by ``FakeProvider``: its token endpoint (what
Google's and Microsoft's are to us) and the token introspection endpoint that dovecot's
oauth2 passdb asks whether an access token is valid and whose it is (what the providers'
own IMAP servers do inside). The SASL XOAUTH2 string our client builds is parsed by
dovecot itself, so a wrong one fails the sign-in.
"""

from __future__ import annotations

import json
import secrets
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs

import pytest

from mailboxes import oauth
from mailboxes.models import AuthMethod, Mailbox
from mailboxes.poll import mailbox_poll

from ..channels_app.mail_helpers import make_mail
from ..dovecot import Dovecot
from .conftest import make_mailbox

pytestmark = pytest.mark.django_db


class FakeProvider:
    """An OAuth2 provider's token and introspection endpoints on loopback."""

    def __init__(self) -> None:
        self.refresh_tokens: dict[str, str] = {}  # refresh token -> account
        self.access_tokens: dict[str, tuple[str, float]] = {}  # token -> (account, expiry)
        self.token_requests: list[dict[str, str]] = []
        self.rotate_refresh = False  # Microsoft may hand out a new refresh token each time
        self.lifetime = 3600
        provider = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's name
                length = int(self.headers.get("Content-Length") or 0)
                form = {k: v[0] for k, v in parse_qs(self.rfile.read(length).decode()).items()}
                if self.path == "/token":
                    code, body = provider.token(form)
                else:
                    code, body = provider.introspect(form.get("token", ""))
                data = json.dumps(body).encode()
                self.send_response(code)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def grant(self, account: str) -> str:
        """Return a refresh token for ``account`` (what the consent screen hands out)."""
        token = secrets.token_urlsafe(24)
        self.refresh_tokens[token] = account
        return token

    def token(self, form: dict[str, str]) -> tuple[int, dict]:
        self.token_requests.append(form)
        account = self.refresh_tokens.get(form.get("refresh_token", ""))
        if form.get("grant_type") != "refresh_token" or account is None:
            return 400, {"error": "invalid_grant", "error_description": "Token has been revoked."}
        access = secrets.token_urlsafe(24)
        self.access_tokens[access] = (account, time.time() + self.lifetime)
        answer = {"access_token": access, "expires_in": self.lifetime, "token_type": "Bearer"}
        if self.rotate_refresh:
            del self.refresh_tokens[form["refresh_token"]]
            answer["refresh_token"] = self.grant(account)
        return 200, answer

    def introspect(self, token: str) -> tuple[int, dict]:
        account, expiry = self.access_tokens.get(token, ("", 0.0))
        if not account or expiry < time.time():
            return 200, {"active": "false"}
        return 200, {"active": "true", "username": account}

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture(scope="module")
def provider():
    fake = FakeProvider()
    yield fake
    fake.close()


@pytest.fixture(scope="module")
def oauth_dovecot(test_ca, provider):
    """A dovecot that takes XOAUTH2/OAUTHBEARER (checked with ``provider``) or passwords."""
    server = Dovecot(test_ca, oauth_introspection_url=f"{provider.url}/introspect")
    yield server
    server.close()


@pytest.fixture(autouse=True)
def _fresh_provider_state(provider):
    provider.token_requests.clear()
    provider.rotate_refresh = False
    provider.lifetime = 3600


def oauth_mailbox(server, departments, provider, auth: str) -> Mailbox:
    mailbox = make_mailbox(server, departments)
    mailbox.auth = auth
    mailbox.password_encrypted = ""  # an OAuth2 mailbox has no password to fall back on
    mailbox.oauth_client_id = "desk-client-id"
    mailbox.oauth_token_url = f"{provider.url}/token"
    mailbox.set_oauth_client_secret("desk-client-secret")
    mailbox.set_refresh_token(provider.grant(mailbox.username))
    mailbox.save()
    return mailbox


def test_google_mailbox_signs_in_with_xoauth2_and_reuses_the_access_token(
    oauth_dovecot, departments, provider
):
    mailbox = oauth_mailbox(oauth_dovecot, departments, provider, AuthMethod.GOOGLE)
    oauth_dovecot.deliver(mailbox.username, make_mail(subject="first"))
    report = mailbox_poll(mailbox.pk)
    assert (report.stored, report.error) == (1, "")
    (request,) = provider.token_requests
    assert request["grant_type"] == "refresh_token"
    assert (request["client_id"], request["client_secret"]) == (
        "desk-client-id",
        "desk-client-secret",
    )
    assert "scope" not in request  # Google keeps the consent's scope
    mailbox.refresh_from_db()
    assert mailbox.oauth_access_expires_at is not None
    assert "access" not in mailbox.oauth_access_token_encrypted  # stored encrypted
    # The next poll signs in with the kept access token: no second trip to the provider.
    oauth_dovecot.deliver(mailbox.username, make_mail(subject="second"))
    assert mailbox_poll(mailbox.pk).stored == 1
    assert len(provider.token_requests) == 1


def test_an_expiring_access_token_is_refreshed_before_the_sign_in(
    oauth_dovecot, departments, provider
):
    provider.lifetime = 60  # within oauth.EARLY of its end at once: refreshed every poll
    mailbox = oauth_mailbox(oauth_dovecot, departments, provider, AuthMethod.GOOGLE)
    for n in range(2):
        oauth_dovecot.deliver(mailbox.username, make_mail(subject=f"mail {n}"))
        assert mailbox_poll(mailbox.pk).error == ""
    assert len(provider.token_requests) == 2


def test_microsoft_mailbox_asks_for_imap_scope_and_keeps_the_rotated_refresh_token(
    oauth_dovecot, departments, provider
):
    provider.rotate_refresh = True
    provider.lifetime = 60
    mailbox = oauth_mailbox(oauth_dovecot, departments, provider, AuthMethod.MICROSOFT)
    first_refresh = mailbox.refresh_token()
    oauth_dovecot.deliver(mailbox.username, make_mail())
    assert mailbox_poll(mailbox.pk).stored == 1
    assert provider.token_requests[0]["scope"] == oauth.MICROSOFT_SCOPE
    mailbox.refresh_from_db()
    assert mailbox.refresh_token() not in ("", first_refresh)  # the new one replaced it
    # The provider revoked the first: polls keep working with the rotated one.
    assert mailbox_poll(mailbox.pk).error == ""
    assert provider.token_requests[1]["refresh_token"] != first_refresh


def test_a_revoked_refresh_token_is_an_error_on_the_mailbox(oauth_dovecot, departments, provider):
    mailbox = oauth_mailbox(oauth_dovecot, departments, provider, AuthMethod.MICROSOFT)
    provider.refresh_tokens.pop(mailbox.refresh_token())
    oauth_dovecot.deliver(mailbox.username, make_mail())
    report = mailbox_poll(mailbox.pk)
    assert report.stored == 0
    assert "refused to refresh the token" in report.error and "Token has been revoked" in (
        report.error
    )
    mailbox.refresh_from_db()
    assert mailbox.error_streak == 1 and "connect the account again" in mailbox.last_error


def test_an_access_token_the_server_refuses_fails_the_sign_in(oauth_dovecot, departments, provider):
    """dovecot checks the token's owner against the user named in XOAUTH2: a token of
    another account is refused, and the desk says so."""
    mailbox = oauth_mailbox(oauth_dovecot, departments, provider, AuthMethod.GOOGLE)
    other = oauth_dovecot.add_user()
    mailbox.set_refresh_token(provider.grant(other))
    mailbox.save()
    report = mailbox_poll(mailbox.pk)
    assert "refused the sign-in" in report.error


def test_default_token_endpoints_are_the_providers():
    google = Mailbox(auth=AuthMethod.GOOGLE)
    microsoft = Mailbox(auth=AuthMethod.MICROSOFT, oauth_tenant="contoso.onmicrosoft.com")
    assert oauth.token_url(google) == "https://oauth2.googleapis.com/token"
    assert oauth.token_url(microsoft) == (
        "https://login.microsoftonline.com/contoso.onmicrosoft.com/oauth2/v2.0/token"
    )
    assert "organizations" in oauth.token_url(Mailbox(auth=AuthMethod.MICROSOFT))
