"""The first module the helpers' fork server imports (`mentor_app.apart.PRELOAD`).

Importing it lowers the priority of the process that imports it to the helpers'
(`settings.HELPER_NICENESS`): nothing else may import it. The fork server imports it
before the app's modules. Loading them costs about 1.2 s of CPU, which at the worker's
priority competed with every member's chat on a busy machine. Every helper is forked from
this server and starts at its priority.
"""

from __future__ import annotations

import os

from mentor_app.settings import HELPER_NICENESS


def lower_this_process() -> int:
    """This process's nice value, raised to HELPER_NICENESS (never lowered back)."""
    now = os.getpriority(os.PRIO_PROCESS, 0)
    if now < HELPER_NICENESS:
        os.setpriority(os.PRIO_PROCESS, 0, HELPER_NICENESS)
    return os.getpriority(os.PRIO_PROCESS, 0)


lower_this_process()
