"""A real IMAP server for tests: Debian's dovecot on loopback, in a folder of its own.

Each ``Dovecot`` has its own config, users file (passwd-file), Maildir root, runtime
folders and ports (implicit TLS and STARTTLS), so it runs beside a system dovecot and as
any user: as root its mail and login processes run as ``nobody``, otherwise as the user
running the tests. Certificates come from ``TestCA`` (made here with ``cryptography``):
a CA the tests trust, a server certificate for ``localhost``/127.0.0.1, and on request
one for another name or a self-signed one. Tests stop, freeze (SIGSTOP) and restart it.
"""

from __future__ import annotations

import datetime as dt
import grp
import imaplib
import os
import pwd
import re
import shutil
import signal
import ssl
import subprocess
import tempfile
import time
import uuid
from ipaddress import ip_address
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from .processes import free_port, wait_until

DOVECOT = shutil.which("dovecot") or "/usr/sbin/dovecot"


class TestCA:
    """A certificate authority of the test session."""

    __test__ = False  # not a test class

    def __init__(self) -> None:
        self.key = ec.generate_private_key(ec.SECP256R1())
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "SupportDesk test CA")])
        now = dt.datetime.now(dt.UTC)
        self.cert = (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(name)
            .public_key(self.key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(days=1))
            .not_valid_after(now + dt.timedelta(days=30))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .add_extension(
                x509.KeyUsage(
                    digital_signature=True, key_cert_sign=True, crl_sign=True,
                    content_commitment=False, key_encipherment=False, data_encipherment=False,
                    key_agreement=False, encipher_only=False, decipher_only=False,
                ),
                critical=True,
            )
            .sign(self.key, hashes.SHA256())
        )  # fmt: skip

    @property
    def pem(self) -> str:
        return self.cert.public_bytes(serialization.Encoding.PEM).decode()

    def server_cert(self, name: str, *, self_signed: bool = False) -> tuple[bytes, bytes]:
        """Return (certificate PEM, key PEM) for host ``name`` (and 127.0.0.1 for
        localhost), signed by this CA or by itself."""
        key = ec.generate_private_key(ec.SECP256R1())
        subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
        names: list[x509.GeneralName] = [x509.DNSName(name)]
        if name == "localhost":
            names.append(x509.IPAddress(ip_address("127.0.0.1")))
        now = dt.datetime.now(dt.UTC)
        cert = (
            x509.CertificateBuilder()
            .subject_name(subject)
            .issuer_name(subject if self_signed else self.cert.subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(days=1))
            .not_valid_after(now + dt.timedelta(days=30))
            .add_extension(x509.SubjectAlternativeName(names), critical=False)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .sign(key if self_signed else self.key, hashes.SHA256())
        )
        key_pem = key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        return cert.public_bytes(serialization.Encoding.PEM), key_pem


class Dovecot:
    """One dovecot instance on loopback (see the module docstring)."""

    def __init__(
        self,
        ca: TestCA,
        *,
        cert_name: str = "localhost",
        self_signed: bool = False,
        capabilities: str = "",
        oauth_introspection_url: str = "",
    ) -> None:
        assert os.path.exists(DOVECOT), (
            "dovecot is missing: apt-get install dovecot-imapd (.ci/services.sh installs it)"
        )
        # Under /tmp with 0755: dovecot's unprivileged processes must reach the folder.
        self.dir = Path(tempfile.mkdtemp(prefix="sd-dovecot-", dir="/tmp"))
        self.dir.chmod(0o755)
        self.ca = ca
        self.imaps_port, self.imap_port = free_port(), free_port()
        if os.geteuid() == 0:
            self.user, self.group = "nobody", grp.getgrgid(pwd.getpwnam("nobody").pw_gid).gr_name
        else:
            self.user = pwd.getpwuid(os.geteuid()).pw_name
            self.group = grp.getgrgid(os.getegid()).gr_name
        self.uid = pwd.getpwnam(self.user).pw_uid
        self.gid = grp.getgrnam(self.group).gr_gid
        for sub in ("run", "state", "mail"):
            (self.dir / sub).mkdir()
        os.chown(self.dir / "mail", self.uid, self.gid)
        cert, key = ca.server_cert(cert_name, self_signed=self_signed)
        (self.dir / "cert.pem").write_bytes(cert)
        (self.dir / "key.pem").write_bytes(key)
        (self.dir / "key.pem").chmod(0o600)
        (self.dir / "passwd").write_text("")
        self.passwords: dict[str, str] = {}
        self._write_config(capabilities, oauth_introspection_url)
        self.proc: subprocess.Popen | None = None
        self.start()

    # --- configuration ----------------------------------------------------------------------

    def _write_config(self, capabilities: str, oauth_url: str) -> None:
        d = self.dir
        oauth = ""
        mechanisms = "plain login"
        if oauth_url:
            mechanisms += " xoauth2 oauthbearer"
            (d / "oauth2.conf").write_text(
                f"introspection_mode = post\nintrospection_url = {oauth_url}\n"
                "username_attribute = username\nactive_attribute = active\n"
                "active_value = true\n"
            )
            oauth = (
                "passdb {\n  driver = oauth2\n  mechanisms = xoauth2 oauthbearer\n"
                f"  args = {d}/oauth2.conf\n}}\n"
            )
        capability_line = f"imap_capability = {capabilities}\n" if capabilities else ""
        (d / "dovecot.conf").write_text(
            f"""base_dir = {d}/run
state_dir = {d}/state
log_path = {d}/log
instance_name = sd-{d.name}
protocols = imap
listen = 127.0.0.1
ssl = yes
ssl_cert = <{d}/cert.pem
ssl_key = <{d}/key.pem
disable_plaintext_auth = yes
auth_mechanisms = {mechanisms}
default_internal_user = {self.user}
default_internal_group = {self.group}
default_login_user = {self.user}
first_valid_uid = 1
mail_location = maildir:{d}/mail/%u
{capability_line}{oauth}passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {d}/passwd
}}
userdb {{
  driver = static
  args = uid={self.user} gid={self.group} home={d}/mail/%u
}}
service imap-login {{
  chroot =
  inet_listener imap {{
    address = 127.0.0.1
    port = {self.imap_port}
  }}
  inet_listener imaps {{
    address = 127.0.0.1
    port = {self.imaps_port}
    ssl = yes
  }}
}}
service anvil {{
  chroot =
}}
"""
        )

    # --- process ------------------------------------------------------------------------------

    def start(self) -> None:
        self.proc = subprocess.Popen(  # noqa: S603
            [DOVECOT, "-F", "-c", str(self.dir / "dovecot.conf")],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,  # its own process group: stop/freeze reach every child
        )
        wait_until(self._answers, 30, f"dovecot to listen (log: {self.dir}/log)")

    def _answers(self) -> bool:
        try:
            client = imaplib.IMAP4_SSL(
                "127.0.0.1", self.imaps_port, ssl_context=_trusting(), timeout=2
            )
        except OSError:
            return False
        client.shutdown()
        return True

    def _listening(self) -> bool:
        import socket

        try:
            socket.create_connection(("127.0.0.1", self.imaps_port), timeout=1).close()
        except OSError:
            return False
        return True

    def stop(self) -> None:
        assert self.proc is not None
        self.thaw()
        os.killpg(self.proc.pid, signal.SIGTERM)
        self.proc.wait(timeout=30)
        # Its children (login and imap processes) may linger a moment after the master.
        wait_until(lambda: not self._listening(), 30, "dovecot to stop listening")

    def freeze(self) -> None:
        """SIGSTOP every dovecot process: connections are accepted, never answered."""
        assert self.proc is not None
        os.killpg(self.proc.pid, signal.SIGSTOP)

    def thaw(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGCONT)

    def close(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)

    # --- users and mail -----------------------------------------------------------------------

    def add_user(self, name: str | None = None, password: str | None = None) -> str:
        """Add a mail user (dovecot re-reads the users file); return its name."""
        name = name or f"u{uuid.uuid4().hex[:10]}"
        password = password or uuid.uuid4().hex
        self.passwords[name] = password
        with (self.dir / "passwd").open("a") as handle:
            handle.write(f"{name}:{{PLAIN}}{password}\n")
        # dovecot looks at the users file at most once a second: wait until it knows.
        wait_until(lambda: self._can_sign_in(name), 10, f"dovecot to know user {name}")
        return name

    def _can_sign_in(self, user: str) -> bool:
        try:
            self.client(user).logout()
        except imaplib.IMAP4.error:
            return False
        return True

    def client(self, user: str) -> imaplib.IMAP4_SSL:
        """Another mail client, signed in as ``user`` (a person's, not the desk's)."""
        # The test's own client (not under test) takes any certificate this server has.
        client = imaplib.IMAP4_SSL(
            "127.0.0.1", self.imaps_port, ssl_context=_trusting(), timeout=30
        )
        client.login(user, self.passwords[user])
        return client

    def deliver(
        self,
        user: str,
        raw: bytes,
        folder: str = "INBOX",
        flags: str = "",
        arrived: dt.datetime | None = None,
    ) -> None:
        """APPEND ``raw`` as a mail that reached the server at ``arrived`` (now)."""
        client = self.client(user)
        try:
            when = imaplib.Time2Internaldate(arrived) if arrived else None
            typ, data = client.append(f'"{folder}"', flags or None, when, raw)
            assert typ == "OK", data
        finally:
            client.logout()

    def create_folder(self, user: str, folder: str) -> None:
        client = self.client(user)
        try:
            assert client.create(f'"{folder}"')[0] == "OK"
        finally:
            client.logout()

    def count(self, user: str, folder: str = "INBOX", criterion: str = "ALL") -> int:
        client = self.client(user)
        try:
            typ, data = client.select(f'"{folder}"')
            assert typ == "OK", data
            typ, data = client.uid("SEARCH", None, criterion)
            return len((data[0] or b"").split())
        finally:
            client.logout()

    def maildir(self, user: str, folder: str = "INBOX") -> Path:
        base = self.dir / "mail" / user
        return base if folder == "INBOX" else base / f".{folder}"

    def drop_into_maildir(self, user: str, raw: bytes) -> None:
        """Deliver as an MTA's maildir delivery does, with or without dovecot running."""
        box = self.maildir(user)
        for sub in ("cur", "new", "tmp"):
            (box / sub).mkdir(parents=True, exist_ok=True)
            os.chown(box / sub, self.uid, self.gid)
        os.chown(box, self.uid, self.gid)
        name = f"{time.time_ns()}.{uuid.uuid4().hex}.sdtest"
        tmp = box / "tmp" / name
        tmp.write_bytes(raw)
        os.chown(tmp, self.uid, self.gid)
        tmp.rename(box / "new" / name)

    def renumber(self, user: str, rewrite=None) -> None:
        """Make the server give INBOX a new UIDVALIDITY and new UIDs, as a restored or
        rebuilt server does: stop, drop dovecot's UID list and indexes (optionally
        rewriting each mail file with ``rewrite(bytes) -> bytes``), start."""
        self.stop()
        box = self.maildir(user)
        for path in box.iterdir():
            if path.name.startswith("dovecot"):
                path.unlink()
        if rewrite is not None:
            for sub in ("cur", "new"):
                for path in (box / sub).iterdir():
                    path.write_bytes(rewrite(path.read_bytes()))
                    # The size in a Maildir file name (,S= ,W=) would no longer match.
                    path.rename(path.with_name(re.sub(r",[SW]=\d+", "", path.name)))
        time.sleep(1.1)  # UIDVALIDITY is a time in seconds: make it a new one
        self.start()


def _trusting() -> ssl.SSLContext:
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    return context
