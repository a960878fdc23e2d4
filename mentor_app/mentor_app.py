"""The Reflex app: page registration."""

import reflex as rx

# rx.Model shares SQLModel's metadata, so importing the tables is enough for
# `reflex db makemigrations` to see them.
from components.layout import connection_notice, loading_shell
from mentor_app import models, web_auth  # noqa: F401
from mentor_app.apart import helpers_lifespan
from mentor_app.away import schedule as schedule_away_notices
from mentor_app.gc_tuning import gc_freeze_lifespan
from mentor_app.http_headers import with_security_headers
from mentor_app.loop_watch import loop_watch_lifespan
from mentor_app.outbox import schedule as schedule_outbox
from mentor_app.page_paths import pages_without_redirect
from mentor_app.pages import (
    auth,
    dashboard,
    groups,
    home,
    journey,
    moderation,
    notifications,
    pairing,
    programs,
    settings,
)
from mentor_app.scheduler import scheduler_lifespan
from mentor_app.throttle_cleanup import schedule as schedule_throttle_cleanup
from mentor_app.wrong_address import only_known_addresses
from state.account_data import AccountDataState
from state.auth import LogInState, SignUpState
from state.dashboard import ProgramDashboardState
from state.groups import GroupPageState, MyGroupsState
from state.journey import PairPageState
from state.moderation import ModerationQueueState
from state.notifications import NotificationCenterState
from state.off_loop import install as run_handlers_off_the_loop
from state.off_loop import off_loop_lifespan
from state.pairing import MyPairsState, PairingWorkspaceState
from state.programs import NewProgramState, ProgramPageState, WizardState
from state.session import SessionState, backend_exception_handler
from state.settings import SettingsState
from state.state_files import install as purge_state_files_now_and_then
from state.write_ahead import install as announce_chat_writes_on_arrival

TITLE = "Mentor circles"
# Every page's meta description (search results and link previews; Lighthouse's SEO audit).
DESCRIPTION = (
    "Mentorship programs for community groups: sign up as a mentor or a mentee, get paired, "
    "and walk a guided week-by-week journey together."
)

web_auth.install()  # the websocket learns its session from the upgrade request's cookie
run_handlers_off_the_loop()  # our sync handlers' bodies run in threads (state/off_loop.py)
purge_state_files_now_and_then()  # not at every write (state/state_files.py)
announce_chat_writes_on_arrival()  # helpers make way as a send arrives (state/write_ahead.py)
app = rx.App(
    backend_exception_handler=backend_exception_handler,
    # The accent's contrast (WCAG AA) and reduced motion (assets/theme.css).
    stylesheets=["/theme.css"],
    # Painted from the HTML of the pages not prerendered, before their scripts have run.
    hydrate_fallback=loading_shell,
    # The auth endpoints mount Reflex's app under them; the headers wrap them both.
    # A page asked for under a name its websocket would be refused at says which to use.
    # A prerendered page is served at its address without a slash, with no 307 to add one.
    api_transformer=[
        web_auth.routes(),
        pages_without_redirect,
        only_known_addresses,
        with_security_headers,
    ],
)
# The page's own connection notice instead of Reflex's toast and pulsing icon.
app.app_wraps[(5, "Overlay")] = lambda stateful: connection_notice() if stateful else None
# First: the jobs the scheduler starts push to open pages on the loop it marks.
app.register_lifespan_task(off_loop_lifespan)
app.register_lifespan_task(scheduler_lifespan)  # nudges etc.; leader-locked
app.register_lifespan_task(loop_watch_lifespan)  # logs where the event loop was blocked
app.register_lifespan_task(gc_freeze_lifespan)  # start-up's objects out of the GC's walks
app.register_lifespan_task(helpers_lifespan)  # the helper processes, up before first needed
schedule_outbox()  # the e-mail outbox's sender, every minute, on the scheduler's leader
schedule_away_notices()  # presence heartbeat (every worker), away notices (the leader)
schedule_throttle_cleanup()  # old log-in, sign-up and group counts, every 10 min (the leader)
app.add_page(
    home.index,
    route="/",
    title=TITLE,
    description=DESCRIPTION,
    on_load=[SessionState.load_public_page, AccountDataState.load_farewell],
)
app.add_page(
    auth.signup,
    route="/signup",
    title=f"Sign up · {TITLE}",
    description=DESCRIPTION,
    on_load=SignUpState.open_form,
)
app.add_page(
    auth.login,
    route="/login",
    title=f"Log in · {TITLE}",
    description=DESCRIPTION,
    on_load=LogInState.open_form,
)
app.add_page(
    groups.my_groups,
    route="/groups",
    title=f"My groups · {TITLE}",
    description=DESCRIPTION,
    on_load=[MyGroupsState.load, MyPairsState.load],
)
app.add_page(
    groups.group_page,
    route="/groups/[group_id]",
    title=f"Group · {TITLE}",
    description=DESCRIPTION,
    on_load=GroupPageState.load,
)
app.add_page(
    programs.new_program,
    route="/groups/[group_id]/programs/new",
    title=f"New program · {TITLE}",
    description=DESCRIPTION,
    on_load=NewProgramState.load,
)
app.add_page(
    programs.wizard,
    route="/programs/[program_id]/wizard",
    title=f"Program wizard · {TITLE}",
    description=DESCRIPTION,
    on_load=WizardState.load,
)
app.add_page(
    programs.program_page,
    route="/programs/[program_id]",
    title=f"Program · {TITLE}",
    description=DESCRIPTION,
    on_load=ProgramPageState.load,
)
app.add_page(
    pairing.workspace,
    route="/programs/[program_id]/pairing",
    title=f"Pairing · {TITLE}",
    description=DESCRIPTION,
    on_load=PairingWorkspaceState.load,
)
app.add_page(
    dashboard.dashboard_page,
    route="/programs/[program_id]/dashboard",
    title=f"Program dashboard · {TITLE}",
    description=DESCRIPTION,
    on_load=ProgramDashboardState.load,
)
app.add_page(
    journey.pair_page,
    route="/pairs/[pair_id]",
    title=f"Pair · {TITLE}",
    description=DESCRIPTION,
    on_load=PairPageState.load,
)
app.add_page(
    moderation.queue,
    route="/moderation",
    title=f"Moderation · {TITLE}",
    description=DESCRIPTION,
    on_load=ModerationQueueState.load,
)
app.add_page(
    settings.settings,
    route="/settings",
    title=f"Settings · {TITLE}",
    description=DESCRIPTION,
    on_load=SettingsState.load,
)
app.add_page(
    notifications.center,
    route="/notifications",
    title=f"Notifications · {TITLE}",
    description=DESCRIPTION,
    on_load=NotificationCenterState.load,
)
