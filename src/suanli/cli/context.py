"""What every thin-client command shares: the reader's server and language, one request to
the server, a clear error and its exit code, JSON output.

Kept light on purpose: `suanli --help` imports this module, so the HTTP client and the wire
models (httpx, pydantic) are imported only when a command asks the server something.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Annotated, Any, NoReturn, TypeVar

import typer

from suanli.domain.i18n import MESSAGES, Lang, pick_lang, render

if TYPE_CHECKING:
    from rich.console import Console

    from suanli.client.http import ApiError, ServerUnreachable, SuanliClient

T = TypeVar("T")
EXIT_BAD_INPUT = 2
EXIT_FAILURE = 1
# Same value as suanli.client.http.DEFAULT_SERVER (checked by a test), without importing httpx.
DEFAULT_SERVER = "http://127.0.0.1:8642"


class Terminal:
    """A Rich console made when something is first printed: rich is imported then, not at
    `suanli --help` (bench/cli_speed.py). Everything else a Console has passes through."""

    def __init__(self, stderr: bool) -> None:
        object.__setattr__(self, "_stderr", stderr)
        object.__setattr__(self, "_console", None)

    def console(self) -> Console:
        made: Console | None = self.__dict__["_console"]
        if made is None:
            from rich.console import Console

            made = Console(stderr=self.__dict__["_stderr"], highlight=False)
            object.__setattr__(self, "_console", made)
        return made

    def print(self, *objects: Any, **options: Any) -> None:
        self.console().print(*objects, **options)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.console(), name)

    def __setattr__(self, name: str, value: Any) -> None:
        setattr(self.console(), name, value)


out = Terminal(stderr=False)
err = Terminal(stderr=True)

JsonOpt = Annotated[bool, typer.Option("--json", help="machine-readable output")]


class Ctx:
    """What the root callback learns: the server's URL and the reader's language."""

    def __init__(self, server: str, lang: Lang) -> None:
        self.server = server
        self.lang = lang

    def client(self, token: str | None = None) -> SuanliClient:
        from suanli.client.http import SuanliClient

        return SuanliClient(self.server, self.lang, token=token)


def default_lang() -> Lang:
    return pick_lang(
        os.environ.get("SUANLI_LANG") or os.environ.get("LC_ALL") or os.environ.get("LANG")
    )


def ctx_of(tctx: typer.Context) -> Ctx:
    """The root callback's Ctx; standalone use of a sub-app gets the defaults."""
    obj = tctx.find_root().obj
    if isinstance(obj, Ctx):
        return obj
    return Ctx(DEFAULT_SERVER, default_lang())


def lang_of(tctx: typer.Context) -> Lang:
    return ctx_of(tctx).lang


def server_lang(tctx: typer.Context) -> tuple[str, Lang]:
    ctx = ctx_of(tctx)
    return ctx.server, ctx.lang


def error(lang: Lang, message: str) -> NoReturn:
    """Print one error, prefixed "error:" / "错误：", and exit 2 (the input is at fault)."""
    say_error(lang, message)
    raise typer.Exit(EXIT_BAD_INPUT)


def say_error(lang: Lang, message: str) -> None:
    err.print(render("cli.error", lang, message=message), markup=False, soft_wrap=True)


def ask(tctx: typer.Context, call: Callable[[SuanliClient], T]) -> T:
    """One request to the server; failures become a clear message and an exit code."""
    ctx = ctx_of(tctx)
    from suanli.client.http import ApiError, ServerUnreachable

    try:
        with ctx.client() as client:
            return call(client)
    except (ApiError, ServerUnreachable) as exc:
        fail(ctx.lang, exc)


def fail(lang: Lang, exc: ApiError | ServerUnreachable) -> NoReturn:
    """Exit 2 for bad input (4xx), 1 when the server is the problem."""
    from suanli.client.http import ServerUnreachable

    if isinstance(exc, ServerUnreachable):
        said = f"unreachable.{exc.kind}"
        detail = render(said, lang, errno=exc.errno) if said in MESSAGES else exc.detail
        say_error(lang, render("server_unreachable", lang, url=exc.url, detail=detail))
        raise typer.Exit(EXIT_FAILURE)
    say_error(lang, api_message(exc))
    raise typer.Exit(EXIT_BAD_INPUT if 400 <= exc.status < 500 else EXIT_FAILURE)


def api_message(exc: ApiError) -> str:
    body = exc.body
    head = f"{body.source}: {body.message}" if body.source else body.message
    lines = [head] + [f"  {e.field or '(file)'}: {e.message}" for e in body.errors]
    return "\n".join(lines)


def print_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, ensure_ascii=False, indent=2, default=str) + "\n")
