"""The socket.io floor of bench/chat_load.py: a bare python-socketio server that answers
every "echo" with the same payload, on the same stack as Reflex's backend (granian, ASGI,
one worker, namespace and path `/_event`), so its round trip is the least any event of the
app could take on this machine.

Run `python -m bench.sio_echo HOST PORT` (bench/chat_load.py starts and stops it).
"""

from __future__ import annotations

import sys
from typing import Any

import socketio  # type: ignore[import-untyped]

NAMESPACE = "/_event"

sio = socketio.AsyncServer(async_mode="asgi", cors_allowed_origins="*")
app = socketio.ASGIApp(sio, socketio_path=NAMESPACE)


@sio.on("echo", namespace=NAMESPACE)
async def echo(sid: str, data: Any) -> None:
    # An emit back, not an acknowledgement: Reflex answers an event the same way.
    await sio.emit("echo", data, to=sid, namespace=NAMESPACE)


def serve(host: str, port: int) -> None:
    from granian.constants import Interfaces
    from granian.server import Server

    Server(
        target="bench.sio_echo:app",
        address=host,
        port=port,
        interface=Interfaces.ASGI,
        workers=1,
        log_enabled=False,
    ).serve()


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit("usage: python -m bench.sio_echo HOST PORT")
    serve(sys.argv[1], int(sys.argv[2]))
