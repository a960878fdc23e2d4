"""Every setting, read from the environment in one place."""

from __future__ import annotations

import os
import secrets
import socket
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

PROJECT_ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Settings:
    port: int
    data_dir: Path
    database_url: str
    redis_url: str | None
    app_origin: str
    cookie_secure: bool
    # Origins allowed to open the websocket: the app's own (and, for http://localhost:PORT,
    # the same port on 127.0.0.1 and [::1]), plus MENTOR_ALLOWED_ORIGINS (comma-separated),
    # e.g. each address of a load-balanced pool.
    allowed_origins: tuple[str, ...] = ()
    smtp_url: str | None = None  # unset: e-mails are printed, not sent
    mail_from: str = "Mentor circles <no-reply@localhost>"
    outbox_every_s: int = 60  # how often the scheduler's leader delivers due e-mails
    # Signs the unsubscribe links in e-mails (HMAC). Unset: a secret generated once and kept
    # in the data dir (`email_secret`); several hosts must share one, so set it for them.
    email_secret_env: str | None = None
    # Behind a reverse proxy: the header naming the client's address (its right-most
    # entry, the one the proxy wrote), e.g. "X-Forwarded-For". Unset: the TCP peer.
    client_ip_header: str | None = None
    # APP_ORIGIN left to its default: a page asked for under a name the websocket would
    # refuse is told which address to use (mentor_app.wrong_address). Off once APP_ORIGIN
    # is set: a reverse proxy may rewrite the Host header.
    default_origin: bool = False


def switched_on(name: str, env: Mapping[str, str] | None = None) -> bool:
    """A switch that is on unless the variable `name` says off ("off", "0", "false", "no")."""
    value = (os.environ if env is None else env).get(name, "on")
    return value.strip().lower() not in ("off", "0", "false", "no")


def load() -> Settings:
    port = int(os.environ.get("PORT", "8000"))
    data_dir = Path(os.environ.get("MENTOR_DATA_DIR", PROJECT_ROOT / "data")).resolve()
    database_url = os.environ.get("DATABASE_URL") or f"sqlite:///{data_dir / 'mentor.db'}"
    chosen_origin = os.environ.get("APP_ORIGIN")
    app_origin = (chosen_origin or f"http://localhost:{port}").rstrip("/")
    return Settings(
        port=port,
        data_dir=data_dir,
        database_url=database_url,
        redis_url=os.environ.get("REDIS_URL") or None,
        app_origin=app_origin,
        allowed_origins=_origins(app_origin, os.environ.get("MENTOR_ALLOWED_ORIGINS", "")),
        cookie_secure=app_origin.startswith("https://"),
        smtp_url=os.environ.get("SMTP_URL") or None,
        mail_from=os.environ.get("MAIL_FROM") or f"Mentor circles <no-reply@{_host(app_origin)}>",
        outbox_every_s=max(1, int(os.environ.get("MENTOR_OUTBOX_EVERY_S", "60"))),
        email_secret_env=os.environ.get("MENTOR_EMAIL_SECRET") or None,
        client_ip_header=os.environ.get("MENTOR_CLIENT_IP_HEADER", "").strip() or None,
        default_origin=not chosen_origin,
    )


EMAIL_SECRET_FILE = "email-secret"

# The nice value of the helper processes (mentor_app.apart) and their fork server: on a
# machine whose cores are all busy, the worker's event loop (every member's chat) goes
# first, and the helpers take what is left.
HELPER_NICENESS = 10


def email_secret(current: Settings | None = None) -> bytes:
    """The key that signs unsubscribe links: MENTOR_EMAIL_SECRET, else a random one made
    the first time it is needed and kept (readable by the owner only) in the data dir, so
    links in e-mails already sent keep working after a restart. Two processes starting
    at once both end up with the one file that was created first."""
    current = current or settings
    if current.email_secret_env:
        return current.email_secret_env.encode("utf-8")
    path = current.data_dir / EMAIL_SECRET_FILE
    if not path.exists():
        current.data_dir.mkdir(parents=True, exist_ok=True)
        # Written whole under a name of its own, then linked in: a reader never sees a
        # half-written file, and of two processes racing the first link wins.
        draft = path.with_name(f"{EMAIL_SECRET_FILE}.{os.getpid()}.{secrets.token_hex(4)}")
        fd = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as file:
            file.write(secrets.token_urlsafe(48))
        try:
            os.link(draft, path)
        except FileExistsError:
            pass  # another process made it first: use theirs
        finally:
            draft.unlink()
    secret = path.read_text().strip()
    if not secret:
        raise RuntimeError(f"{path} is empty: delete it to have a new secret made")
    return secret.encode("utf-8")


def listen_host() -> str:
    """Where the server listens: every address, IPv6 and IPv4 both ("::", dual-stack) so
    that http://[::1]:PORT answers as well as http://127.0.0.1:PORT; "0.0.0.0" on a
    machine without IPv6."""
    try:
        with socket.socket(socket.AF_INET6, socket.SOCK_STREAM) as probe:
            probe.bind(("::", 0))
    except OSError:
        return "0.0.0.0"
    return "::"


# The other names of this machine's loopback address, allowed beside `localhost`.
LOOPBACK_ALIASES = ("127.0.0.1", "[::1]")


def loopback_aliases(origin: str) -> list[str]:
    """`http://localhost:PORT` (the default APP_ORIGIN) is the same app as
    `http://127.0.0.1:PORT` and `http://[::1]:PORT`: a newcomer may type any of them, and
    the page's websocket then comes from that origin. Any other origin has no aliases."""
    parts = urlsplit(origin)
    if parts.hostname != "localhost":
        return []
    port = f":{parts.port}" if parts.port else ""
    return [f"{parts.scheme}://{name}{port}" for name in LOOPBACK_ALIASES]


def _origins(app_origin: str, extra: str) -> tuple[str, ...]:
    origins = [app_origin, *loopback_aliases(app_origin)]
    origins += [o.strip().rstrip("/") for o in extra.split(",") if o.strip()]
    return tuple(dict.fromkeys(origins))


def _host(origin: str) -> str:
    return urlsplit(origin).hostname or "localhost"


settings = load()
