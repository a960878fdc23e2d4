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
