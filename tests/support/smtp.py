"""A real SMTP server for the e-mail tests (aiosmtpd, on a free local port): it keeps every
message it accepts, and can refuse a recipient (550), answer DATA with a temporary failure
(451) a number of times, be slow, or require STARTTLS and a log-in."""

from __future__ import annotations

import socket
import ssl
import subprocess
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from email import message_from_bytes
from email.message import Message
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword


@dataclass
class Mailbox:
    """The server's handler: what it received, and how it misbehaves."""

    refuse: set[str] = field(default_factory=set)  # RCPT TO answered 550
    fail_times: int = 0  # DATA answered 451 this many times (-1: always)
    delay_s: float = 0.0  # each DATA takes this long
    messages: list[Message] = field(default_factory=list)  # accepted
    attempts: list[Message] = field(default_factory=list)  # every DATA, accepted or not
    logins: list[tuple[str, str]] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, options: Any
    ) -> str:
        if address in self.refuse:
            return "550 5.1.1 No such user here"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if self.delay_s:
            time.sleep(self.delay_s)  # the server's one thread: senders queue behind it
        message = message_from_bytes(envelope.content)
        with self._lock:
            self.attempts.append(message)
            if self.fail_times != 0:
                self.fail_times -= 1
                return "451 4.3.0 Server busy, try again later"
            self.messages.append(message)
        return "250 OK"

    def to(self) -> list[str]:
        return [str(m["To"]) for m in self.messages]


@dataclass
class SmtpServer:
    mailbox: Mailbox
    port: int

    @property
    def url(self) -> str:
        return f"smtp://127.0.0.1:{self.port}"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def smtp_server() -> Iterator[SmtpServer]:
    mailbox = Mailbox()
    port = free_port()
    controller = Controller(mailbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield SmtpServer(mailbox, port)
    finally:
        controller.stop()


def self_signed(folder: Path) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1 and its key, made by openssl for this test only."""
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        [
            "openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
            "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
            "-keyout", str(key), "-out", str(cert),
        ],
        check=True,
        capture_output=True,
    )  # fmt: skip
    return cert, key


@pytest.fixture
def tls_smtp_server(tmp_path: Path) -> Iterator[tuple[SmtpServer, Path]]:
    """A server that requires STARTTLS before AUTH and before mail; (server, its cert)."""
    cert, key = self_signed(tmp_path)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    mailbox = Mailbox()

    def authenticator(server: Any, session: Any, envelope: Any, mechanism: str, auth: Any) -> Any:
        if isinstance(auth, LoginPassword):
            mailbox.logins.append((auth.login.decode(), auth.password.decode()))
            return AuthResult(success=auth.password == b"p@ss")
        return AuthResult(success=False)

    port = free_port()
    controller = Controller(
        mailbox,
        hostname="127.0.0.1",
        port=port,
        tls_context=context,
        require_starttls=True,
        authenticator=authenticator,
        auth_require_tls=True,
    )
    controller.start()
    try:
        yield SmtpServer(mailbox, port), cert
    finally:
        controller.stop()
