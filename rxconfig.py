"""Reflex configuration; every value comes from mentor_app.settings (the environment)."""

import os

import reflex as rx

from mentor_app.lean_scripts import LeanScriptsPlugin
from mentor_app.lean_styles import ACCENT, LeanTailwindPlugin
from mentor_app.settings import listen_host, settings

# Never phone home: this network reaches package registries only.
os.environ.setdefault("REFLEX_TELEMETRY_ENABLED", "false")
os.environ.setdefault("REFLEX_CHECK_LATEST_VERSION", "false")

if settings.database_url.startswith("sqlite"):
    settings.data_dir.mkdir(parents=True, exist_ok=True)

# Without Redis (the embedded default, one worker), each tab's states live in the worker's
# memory: Reflex's disk state manager also kept them there, and pickled every tab's 32
# states to files besides, on the event loop, which cost every member's events (while 5
# admins reloaded a big dashboard, a chat send's p95 went from 19-33 ms to 12-29 ms, and
# its slowest from 42-273 ms to under 42: bench/interference.py --only dashboards, README).
# A restart forgot them with either (Reflex empties the state folder as it starts): each
# page's socket reconnects with a full hydrate and loads its page again (test_faults).
# REFLEX_STATE_MANAGER_MODE overrides it; with REDIS_URL, Reflex's Redis state manager.
_state_manager = {} if settings.redis_url else {"state_manager_mode": "memory"}

config = rx.Config(
    app_name="mentor_app",
    db_url=settings.database_url,
    redis_url=settings.redis_url,
    frontend_port=settings.port,
    backend_port=settings.port,
    backend_host=listen_host(),  # "::": localhost, 127.0.0.1 and [::1] all answer
    api_url=settings.app_origin,
    deploy_url=settings.app_origin,
    cors_allowed_origins=list(settings.allowed_origins),
    telemetry_enabled=False,
    **_state_manager,
    show_built_with_reflex=False,
    # Every page imported all of Radix Themes (for components sent at run time, which the
    # app never sends): 23 KiB less script on each page's first load (bench/lighthouse.py).
    frontend_lazy_bundled_libraries=True,
    # Brotli beside gzip, for the browsers that take it (Chromium does on https and on
    # localhost): less script to download on a first load (bench/lighthouse.py).
    frontend_compression_formats=["brotli", "gzip"],
    plugins=[
        rx.plugins.SitemapPlugin(),
        # Not even lazily: the whole of Radix Themes was in every page's shared chunk (470 KB
        # of script on the pair page; mentor_app/lean_scripts.py).
        LeanScriptsPlugin(),
        # Tailwind v4, with Radix Themes' stylesheet cut to the colours the app uses (150
        # KiB of colour scales were on every page's critical path: mentor_app/lean_styles.py).
        LeanTailwindPlugin(),
        # Solid panels: translucent ones put `backdrop-filter: blur(64px)` behind every
        # card, which a browser without GPU compositing redraws at about 50 ms a frame
        # (it tripled the chat's Send-to-visible time in bench/chat_latency.py).
        rx.plugins.RadixThemesPlugin(
            theme=rx.theme(accent_color=ACCENT, radius="medium", panel_background="solid")
        ),
    ],
)
