"""Serve the app's frontend, already built in REFLEX_WEB_WORKDIR, with its backend: what
`reflex run --env prod --single-port` does after its build. Lets a test restart a killed
server on the same database without building the frontend again.

python -m tests.support.built_app   (PORT and the rest from the environment, as AppServer sets)
"""

from __future__ import annotations

import os

from reflex import constants
from reflex.config import get_config
from reflex.environment import environment
from reflex.istate.manager import reset_disk_state_manager
from reflex.utils import exec as reflex_exec


def main() -> None:
    environment.REFLEX_ENV_MODE.set(constants.Env.PROD)
    environment.REFLEX_SKIP_COMPILE.set(True)
    reset_disk_state_manager()
    port = int(os.environ["PORT"])
    config = get_config()
    config._set_persistent(frontend_port=port, backend_port=port)
    reflex_exec.run_backend_prod(
        config.backend_host,
        port,
        config.loglevel.subprocess_level(),
        mount_frontend_compiled_app=True,
    )


if __name__ == "__main__":
    main()
