"""Hold back a page's websocket messages in one direction until the test lets them go.

`page.route_web_socket(re.compile(r"/_event"), gate.route)` sends the page's socket to
the server through Playwright. A message in the gate's direction ("from_server" or
"from_page") that `hold` accepts waits in `held` until `release`; every other message
goes on at once. It arranges the timing a race needs: the state arriving after the page
has drawn, or the page's own event arriving after the member has acted.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Literal

from playwright.sync_api import WebSocketRoute

Message = str | bytes


class SocketGate:
    def __init__(
        self,
        direction: Literal["from_server", "from_page"],
        hold: Callable[[Message], bool] = lambda message: True,
    ) -> None:
        self.direction = direction
        self.hold = hold
        self.held: list[Message] = []
        self.open = False
        self._onward: Callable[[Message], None] | None = None

    def route(self, page_side: WebSocketRoute) -> None:
        server_side = page_side.connect_to_server()
        if self.direction == "from_server":
            self._onward = page_side.send
            server_side.on_message(self._pass)
        else:
            self._onward = server_side.send
            page_side.on_message(self._pass)

    def _pass(self, message: Message) -> None:
        assert self._onward is not None
        if not self.open and self.hold(message):
            self.held.append(message)
        else:
            self._onward(message)

    def release(self) -> None:
        assert self._onward is not None, "the page opened no socket through the gate"
        self.open = True
        for message in self.held:
            self._onward(message)
