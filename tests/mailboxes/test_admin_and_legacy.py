"""Mailboxes are data: added in the admin (credentials encrypted, never shown again), and
the SUPPORTDESK_IMAP_MAILBOXES variable of earlier releases copied into rows."""

from __future__ import annotations

import pytest
from django.core import checks

from mailboxes.crypto import CredentialKeyError
from mailboxes.legacy import settings_mailboxes_import
from mailboxes.models import Mailbox
from mailboxes.poll import mailbox_poll

from ..channels_app.mail_helpers import make_mail

pytestmark = pytest.mark.django_db

FORM = {
    "name": "support",
    "is_active": "on",
    "host": "localhost",
    "security": "tls",
    "folder": "INBOX",
    "move_to": "",
    "mark_seen": "on",
    "auth": "password",
    "oauth_client_id": "",
    "oauth_tenant": "",
    "oauth_token_url": "",
    "oauth_client_secret": "",
    "oauth_refresh_token": "",
    "poll_every_seconds": "60",
    "backfill_days": "7",
    "alerts-TOTAL_FORMS": "0",
    "alerts-INITIAL_FORMS": "0",
}


def test_a_mailbox_added_in_the_admin_polls_and_keeps_its_password_secret(
    admin, dovecot, departments
):
    user = dovecot.add_user()
    password = dovecot.passwords[user]
    form = FORM | {
        "department": departments["customer-support"].pk,
        "port": str(dovecot.imaps_port),
        "ca_certificates": dovecot.ca.pem,
        "username": user,
        "password": password,
    }
    response = admin.post("/admin/mailboxes/mailbox/add/", form)
    assert response.status_code == 302, response.content.decode()[:2000]
    mailbox = Mailbox.objects.get(name="support")
    assert password not in mailbox.password_encrypted and mailbox.password() == password
    page = admin.get(f"/admin/mailboxes/mailbox/{mailbox.pk}/change/")
    assert password.encode() not in page.content
    # Saving again with the password field empty keeps the stored one.
    form["password"] = ""
    form["folder"] = "INBOX"
    assert admin.post(f"/admin/mailboxes/mailbox/{mailbox.pk}/change/", form).status_code == 302
    assert Mailbox.objects.get(pk=mailbox.pk).password() == password
    dovecot.deliver(user, make_mail())
    assert mailbox_poll(mailbox.pk).stored == 1


def test_a_new_password_mailbox_needs_a_password(admin, departments):
    form = FORM | {"department": departments["customer-support"].pk, "port": "993", "username": "u"}
    response = admin.post("/admin/mailboxes/mailbox/add/", form)
    assert response.status_code == 200 and b"Enter the mailbox" in response.content


def test_credentials_need_the_environment_key_in_production(settings, departments):
    settings.PRODUCTION = True
    settings.SUPPORTDESK_MAILBOX_KEYS = []
    mailbox = Mailbox(name="x", department=departments["customer-support"], host="h", username="u")
    with pytest.raises(CredentialKeyError, match="SUPPORTDESK_MAILBOX_KEYS"):
        mailbox.set_password("p")
    from cryptography.fernet import Fernet

    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    settings.SUPPORTDESK_MAILBOX_KEYS = [old]
    mailbox.set_password("p")
    settings.SUPPORTDESK_MAILBOX_KEYS = [new, old]  # rotation: the old key still opens it
    assert mailbox.password() == "p"
    settings.SUPPORTDESK_MAILBOX_KEYS = [new]
    with pytest.raises(CredentialKeyError, match="cannot be decrypted"):
        mailbox.password()


def test_the_settings_variable_is_copied_into_rows_once(settings, departments, dovecot):
    user = dovecot.add_user()
    settings.SUPPORTDESK_IMAP_MAILBOXES = [
        {
            "name": "Old Support",
            "host": "localhost",
            "port": dovecot.imaps_port,
            "username": user,
            "password": dovecot.passwords[user],
            "move_to": "Done",
        }
    ]
    assert settings_mailboxes_import() == ["old-support"]
    assert settings_mailboxes_import() == []  # the row wins from now on
    mailbox = Mailbox.objects.get(name="old-support")
    assert (mailbox.port, mailbox.move_to, mailbox.security) == (dovecot.imaps_port, "Done", "tls")
    assert mailbox.password() == dovecot.passwords[user]
    warnings = [m for m in checks.run_checks() if m.id == "mailboxes.W001"]
    assert warnings and "deprecated" in warnings[0].msg
    # Certificates are verified now: a private CA must be given in the admin.
    assert "certificate" in mailbox_poll(mailbox.pk).error
