"""Serve the app with uvicorn, with read deadlines for slow clients (``api.server``), and stop
quickly: on Ctrl-C or SIGTERM, open `logs --follow` streams are told to end
(``app.state.stopping``) so the graceful shutdown has nothing to wait for and cancels no
request; the jobs' processes are not the server's and keep running."""

from __future__ import annotations

import logging
import os
import socket
import sys
import threading
from types import FrameType
from typing import NoReturn

import uvicorn
from fastapi import FastAPI

from suanli.api.server import KEEP_ALIVE_S, DeadlineProtocol, settle_heap

# Seconds uvicorn waits for open requests after Ctrl-C. Streams end at once on `stopping`
# and an ordinary request takes milliseconds: 2 s is a generous bound.
GRACEFUL_S = 2


class _Server(uvicorn.Server):
    def __init__(self, config: uvicorn.Config, stopping: threading.Event) -> None:
        super().__init__(config)
        self._stopping = stopping

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets)
        settle_heap()  # the started server's objects, out of the collector's walks

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        self._stopping.set()
        super().handle_exit(sig, frame)


def serve(app: FastAPI, port: int) -> None:
    stopping: threading.Event = app.state.stopping
    config = uvicorn.Config(
        app,
        host="127.0.0.1",
        port=port,
        http=DeadlineProtocol,  # 408 and close for slow headers or bodies
        log_level="warning",
        timeout_keep_alive=int(KEEP_ALIVE_S),
        timeout_graceful_shutdown=GRACEFUL_S,
    )
    _Server(config, stopping).run()


def end_now() -> NoReturn:
    """Exit at once, after flushing what was written: the server's state is closed, and
    tearing down its objects one by one only makes Ctrl-C slow."""
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)
