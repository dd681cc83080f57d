"""uvicorn's HTTP protocol with two guards it lacks: a deadline for a request's headers, and its own
400 answers in the API's error shape.

uvicorn times out a connection only while it is idle between requests: one that has sent part of
a request line or of its headers, and then nothing, stays open for good (a "slowloris"), and a
few thousand such connections exhaust the server's file descriptors. Here a connection whose
headers are not complete ``header_timeout_s`` after it opened (or after its previous answer) is
closed. Request bodies have their own deadline in the app (agegender.server.app._read_body).
"""

from __future__ import annotations

import asyncio
import json

import h11
from uvicorn.protocols.http.h11_impl import H11Protocol

HEADER_TIMEOUT_S = 10.0


class GuardedH11Protocol(H11Protocol):
    """H11Protocol closing connections whose headers stall; 400s as ``{"error": ...}``."""

    header_timeout_s = HEADER_TIMEOUT_S

    _header_timer: asyncio.TimerHandle | None = None

    def connection_made(self, transport) -> None:
        super().connection_made(transport)
        self._arm_header_timer()

    def _arm_header_timer(self) -> None:
        self._header_timer = self.loop.call_later(self.header_timeout_s, self._headers_deadline)

    def _headers_deadline(self) -> None:
        self._header_timer = None
        # IDLE: h11 is still waiting for (the rest of) a request line and its headers
        if self.conn.their_state is h11.IDLE and not self.transport.is_closing():
            self.transport.close()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        if not self.transport.is_closing():
            self._cancel_header_timer()
            self._arm_header_timer()  # the next request on this connection gets its own deadline

    def connection_lost(self, exc) -> None:
        self._cancel_header_timer()
        super().connection_lost(exc)

    def _cancel_header_timer(self) -> None:
        if self._header_timer is not None:
            self._header_timer.cancel()
            self._header_timer = None

    def send_400_response(self, msg: str) -> None:
        body = json.dumps({"error": "the request is not valid HTTP"}).encode()
        headers = [
            (b"content-type", b"application/json"),
            (b"content-length", str(len(body)).encode()),
            (b"connection", b"close"),
        ]
        self.transport.write(
            b"".join(
                self.conn.send(event)
                for event in (
                    h11.Response(status_code=400, headers=headers, reason=b"Bad Request"),
                    h11.Data(data=body),
                    h11.EndOfMessage(),
                )
            )
        )
        self.transport.close()
