"""One production build of the frontend, shared by every server the tests start.

A server's frontend is Reflex's production build (`reflex export --frontend-only`, as
`reflex run --env prod` makes it). It differs from one port to another in one thing
only: the backend's address (`api_url`, `http://localhost:PORT`), which the build writes
into `env.json`, the small `reflex-env-*.js` module and the sitemap. So the build is made
once, for a placeholder port, and each server gets a copy with that address written for
its own port, and the rewritten files compressed again as the build compresses them (gzip
9, brotli 11), so that a test server sends what `make run` sends: the keep-alive interval
sits in every page's script, and a page's script sent uncompressed once cost the pair page
90 KiB in the Lighthouse bench. A script whose only change is the interval is compressed
once per interval, kept beside the build. Every test process of a run shares it through a folder in
the system's temp directory, named after what the build depends on (the app's sources,
Reflex's version, the settings given to the server), and locked while it is made: the
first process to need it builds it, the others wait for it.

A `make test` run built the frontend five times before (two browser processes, the sweep's
app, the fault tests' app and the scale-out tests), about 20 s of two cores each.
"""

from __future__ import annotations

import fcntl
import gzip
import hashlib
import importlib.metadata
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Mapping
from pathlib import Path

import brotli

from components.layout import keep_alive_every_s
from tests.support.appserver import PROJECT_ROOT, app_env

PLACEHOLDER_PORT = 59173
PLACEHOLDER = f"localhost:{PLACEHOLDER_PORT}".encode()
CACHE_ROOT = Path(os.environ.get("MENTOR_TEST_BUILDS", "/tmp/mentor-frontend-builds"))
SOURCES = ("mentor_app", "state", "components", "assets", "rxconfig.py", "pyproject.toml")
# What each server has of its own, and what only its backend reads: not part of the build.
PER_SERVER = {
    "PORT",
    "MENTOR_DATA_DIR",
    "REFLEX_WEB_WORKDIR",
    "REFLEX_STATES_WORKDIR",
    "DATABASE_URL",
    "REDIS_URL",
    "GRANIAN_WORKERS",
    "PYTHONUNBUFFERED",
}
# Read by the backend only: a server's value does not make a build of its own.
BACKEND_ONLY = {"MENTOR_ALLOWED_ORIGINS", "MENTOR_OUTBOX_EVERY_S", "MENTOR_SCHEDULER"}
# An open page's keep-alive interval is written into the page's script: every build is
# made with this one (milliseconds no other number in the bundles has), and each server's
# copy gets its own (`keep_alive_every_s` of its environment).
KEEP_ALIVE_PLACEHOLDER_S = "86399.127"
KEEP_ALIVE_PLACEHOLDER = b"86399127"
COMPRESSED = (".gz", ".br", ".zst")
# As Reflex's compress-static.js makes them (zstd is not among the app's formats).
COMPRESSORS = {
    ".gz": lambda raw: gzip.compress(raw, compresslevel=9, mtime=0),
    ".br": lambda raw: brotli.compress(raw, quality=11),
}
KEEP_OLD_BUILDS_S = 2 * 24 * 3600


def build_settings(env: Mapping[str, str], port: int) -> dict[str, str]:
    """The app's settings in `env` that its build could depend on, with the server's port
    written as the placeholder's."""
    settings = {
        name: value.replace(f":{port}", f":{PLACEHOLDER_PORT}")
        for name, value in sorted(env.items())
        if name.startswith(("MENTOR_", "APP_", "REFLEX_")) and name not in PER_SERVER | BACKEND_ONLY
    }
    if settings.get("APP_ORIGIN") == f"http://localhost:{PLACEHOLDER_PORT}":
        del settings["APP_ORIGIN"]  # the default, named
    settings["MENTOR_KEEP_ALIVE_S"] = KEEP_ALIVE_PLACEHOLDER_S
    return settings


def build_key(settings: Mapping[str, str]) -> str:
    digest = hashlib.sha256()
    digest.update(importlib.metadata.version("reflex").encode())
    for name, value in sorted(settings.items()):
        digest.update(f"{name}={value}\n".encode())
    for source in SOURCES:
        root = PROJECT_ROOT / source
        files = sorted(root.rglob("*")) if root.is_dir() else [root]
        for path in files:
            if path.is_file() and "__pycache__" not in path.parts:
                digest.update(str(path.relative_to(PROJECT_ROOT)).encode())
                digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def built_web(settings: Mapping[str, str]) -> Path:
    """The web folder of the build for these settings, made now unless already made."""
    CACHE_ROOT.mkdir(parents=True, exist_ok=True)
    key = build_key(settings)
    folder = CACHE_ROOT / key
    with (CACHE_ROOT / f"{key}.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # another process building it: wait for it
        if not (folder / "done").exists():
            _drop_old_builds()
            shutil.rmtree(folder, ignore_errors=True)
            _build(folder, settings)
            (folder / "done").write_text(key)
    return folder / "web"


def _build(folder: Path, settings: Mapping[str, str]) -> None:
    folder.mkdir(parents=True)
    env = app_env(PLACEHOLDER_PORT, folder, **settings)
    log = folder / "build.log"
    for command in (
        [sys.executable, "-m", "mentor_app.migrations"],  # the app module opens its database
        [sys.executable, "-m", "reflex", "export", "--frontend-only", "--no-zip"],
    ):
        with log.open("ab") as out:
            result = subprocess.run(
                command, cwd=PROJECT_ROOT, env=env, stdout=out, stderr=subprocess.STDOUT
            )
        if result.returncode != 0:
            tail = "\n".join(log.read_text(errors="replace").splitlines()[-40:])
            raise RuntimeError(f"{' '.join(command)} failed:\n{tail}")


def _drop_old_builds() -> None:
    now = time.time()
    for entry in CACHE_ROOT.iterdir():
        if entry.is_dir() and now - entry.stat().st_mtime > KEEP_OLD_BUILDS_S:
            shutil.rmtree(entry, ignore_errors=True)


def _compressed_once(cached: Path, suffix: str, content: bytes) -> bytes:
    """`content` compressed for `suffix`, kept at `cached` + `suffix` for the next server
    (written whole or not at all: servers of other processes may read it meanwhile)."""
    kept = cached.with_name(cached.name + suffix)
    if kept.exists():
        return kept.read_bytes()
    data = COMPRESSORS[suffix](content)
    kept.parent.mkdir(parents=True, exist_ok=True)
    partial = kept.with_name(f"{kept.name}.{os.getpid()}.part")
    partial.write_bytes(data)
    partial.replace(kept)
    return data


def install_web(env: Mapping[str, str], port: int, destination: Path) -> None:
    """Put the shared build, with the backend's address written for `port`, in
    `destination` (a server's REFLEX_WEB_WORKDIR)."""
    source = built_web(build_settings(env, port))
    if destination.exists():
        shutil.rmtree(destination)
    shutil.copytree(source, destination, ignore=shutil.ignore_patterns("node_modules"))
    address = f"localhost:{port}".encode()
    keep_alive_ms = str(int(keep_alive_every_s(env) * 1000)).encode()
    keep_alives = 0
    for path in destination.rglob("*"):
        if not path.is_file() or path.suffix in COMPRESSED:
            continue
        content = path.read_bytes()
        if PLACEHOLDER not in content and KEEP_ALIVE_PLACEHOLDER not in content:
            continue
        keep_alives += content.count(KEEP_ALIVE_PLACEHOLDER)
        port_specific = PLACEHOLDER in content
        content = content.replace(PLACEHOLDER, address)
        content = content.replace(KEEP_ALIVE_PLACEHOLDER, keep_alive_ms)
        path.write_bytes(content)
        for suffix in COMPRESSED:
            compressed = path.with_name(path.name + suffix)
            if not compressed.exists():
                continue
            if suffix not in COMPRESSORS:
                compressed.unlink()  # the server then sends the file as it is
            elif port_specific:
                compressed.write_bytes(COMPRESSORS[suffix](content))
            else:
                relative = path.relative_to(destination)
                cached = source.parent / "recompressed" / keep_alive_ms.decode() / relative
                compressed.write_bytes(_compressed_once(cached, suffix, content))
    leftover = [
        str(p)
        for p in destination.rglob("*")
        if p.is_file() and (PLACEHOLDER in (b := p.read_bytes()) or KEEP_ALIVE_PLACEHOLDER in b)
    ]
    if leftover:
        raise RuntimeError(f"a placeholder is still in {leftover}")
    if keep_alives == 0:
        raise RuntimeError("no keep-alive interval found in the build to write")
    if str(PLACEHOLDER_PORT) in (destination / "env.json").read_text():
        raise RuntimeError("env.json still names the placeholder port")
