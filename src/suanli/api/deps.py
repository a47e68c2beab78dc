"""Request-scoped dependencies: the platform and the reader's language."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from suanli.api.errors import request_lang
from suanli.domain.i18n import Lang
from suanli.service.deps import Platform
from suanli.workers.control_loop import ControlLoop


# Async (no I/O in them): FastAPI runs a plain def dependency in a worker thread, a hop
# that costs more than the dependency itself.
async def _platform(request: Request) -> Platform:
    platform: Platform = request.app.state.platform
    return platform


async def _loop(request: Request) -> ControlLoop | None:
    loop: ControlLoop | None = request.app.state.loop
    return loop


async def _lang(request: Request) -> Lang:
    return request_lang(request)


PlatformDep = Annotated[Platform, Depends(_platform)]
LoopDep = Annotated[ControlLoop | None, Depends(_loop)]
LangDep = Annotated[Lang, Depends(_lang)]
