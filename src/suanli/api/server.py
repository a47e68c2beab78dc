"""uvicorn's HTTP protocol with read deadlines for slow clients (`suanli up` serves with it).

uvicorn closes a keep-alive connection idle for ``timeout_keep_alive`` seconds after an
answer, but waits for ever for a request's headers and body: 200 connections sending a byte
now and then ("slowloris") would stay open for good. Here each request must bring its
headers within ``HEADERS_S`` of its first byte (or of the connection's opening) and its body
within ``BODY_S`` of its headers; a client that does not is answered 408 and disconnected.
"""

from __future__ import annotations

import asyncio
import gc
import json
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from suanli.domain.i18n import render

HEADERS_S = 10.0  # a request's line and headers (a few hundred bytes)
BODY_S = 30.0  # its body: the 1 MiB limit at ~35 KB/s
KEEP_ALIVE_S = 5.0  # idle between requests (uvicorn's own timer)


def settle_heap() -> None:
    """Move every object alive now (modules, the app, its stores and caches: ~150,000) out
    of the collector's sight, once the server has started.

    Python's full (generation 2) collection walks every tracked object while holding the GIL,
    so the event loop and every request wait for it. Found with py-spy and ``gc.callbacks``
    during ``bench/hostile_input.py``: each full collection of the started server took
    470-560 ms at load 15 (the ~200 ms stalls of /healthz on an idle machine), and a stream
    of refused bombs (each a few thousand short-lived objects) triggers one every few
    seconds. Frozen, those objects are never walked again (they live as long as the
    process anyway) and a full collection walks only what requests made since.
    """
    gc.collect()
    gc.freeze()


class DeadlineProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol with a deadline for each request's headers and body."""

    headers_s = HEADERS_S
    body_s = BODY_S

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._deadline: asyncio.TimerHandle | None = None

    def _arm(self, seconds: float) -> None:
        self._disarm()
        self._deadline = self.loop.call_later(seconds, self._too_slow)

    def _disarm(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm(self.headers_s)

    def on_message_begin(self) -> None:
        super().on_message_begin()
        if self._deadline is None:
            self._arm(self.headers_s)

    def on_headers_complete(self) -> None:
        super().on_headers_complete()
        self._arm(self.body_s)

    def on_message_complete(self) -> None:
        self._disarm()
        super().on_message_complete()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def _too_slow(self) -> None:
        self._deadline = None
        if self.transport.is_closing():
            return
        cycle = getattr(self, "cycle", None)
        if cycle is None or not cycle.response_started:
            message = render("http.timeout", "en")
            body = json.dumps({"error": {"code": "http.timeout", "message": message}}).encode()
            self.transport.write(
                b"HTTP/1.1 408 Request Timeout\r\ncontent-type: application/json\r\n"
                b"connection: close\r\ncontent-length: %d\r\n\r\n%s" % (len(body), body)
            )
        if cycle is not None:
            cycle.disconnected = True
            cycle.message_event.set()
        self.transport.close()
