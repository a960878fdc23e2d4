"""Every setting, read from the environment in one place."""

from __future__ import annotations

import os
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
    # Origins allowed to open the websocket: the app's own, plus MENTOR_ALLOWED_ORIGINS
    # (comma-separated), e.g. each address of a load-balanced pool.
    allowed_origins: tuple[str, ...] = ()
    smtp_url: str | None = None  # unset: e-mails are printed, not sent
    mail_from: str = "Mentor circles <no-reply@localhost>"


def load() -> Settings:
    port = int(os.environ.get("PORT", "8000"))
    data_dir = Path(os.environ.get("MENTOR_DATA_DIR", PROJECT_ROOT / "data")).resolve()
    database_url = os.environ.get("DATABASE_URL") or f"sqlite:///{data_dir / 'mentor.db'}"
    app_origin = os.environ.get("APP_ORIGIN", f"http://localhost:{port}").rstrip("/")
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
    )


def _origins(app_origin: str, extra: str) -> tuple[str, ...]:
    origins = [app_origin] + [o.strip().rstrip("/") for o in extra.split(",") if o.strip()]
    return tuple(dict.fromkeys(origins))


def _host(origin: str) -> str:
    return urlsplit(origin).hostname or "localhost"


settings = load()
