"""Mistakes on the command line, said as every other error is: "error:"/"错误：", in the
reader's language, naming the option (or command), the value given and what is allowed,
with "did you mean" for a near miss. Typer's own words are English and name no value;
`suanli.cli.lazy.LazyGroup` turns its usage errors into these."""

from __future__ import annotations

import difflib
from collections.abc import Sequence
from typing import Any

from typer._click.exceptions import (
    BadParameter,
    MissingParameter,
    NoArgsIsHelpError,
    NoSuchOption,
    UsageError,
)

from suanli.cli.context import EXIT_BAD_INPUT, say_error
from suanli.domain.i18n import Lang, pick_lang, render


class SaidUsageError(UsageError):
    """A usage error already worded for the reader; `show` prints it as the CLI's errors."""

    exit_code = EXIT_BAD_INPUT

    def __init__(self, lang: Lang, text: str) -> None:
        super().__init__(text)
        self.lang = lang
        self.text = text

    def show(self, file: Any = None) -> None:  # always stderr, as say_error
        say_error(self.lang, self.text)


def lang_in(args: Sequence[str], default: Lang) -> Lang:
    """``--lang X`` from the command line before it is parsed, else ``default``."""
    for i, arg in enumerate(args):
        if arg == "--lang" and i + 1 < len(args):
            return pick_lang(args[i + 1])
        if arg.startswith("--lang="):
            return pick_lang(arg.split("=", 1)[1])
    return default


def said(exc: UsageError, lang: Lang, args: Sequence[str], commands: list[str]) -> UsageError:
    """``exc`` worded for the reader; ``args`` is the whole command line, ``commands`` what
    the group that failed offers. Help requests (no arguments) pass through unchanged."""
    if isinstance(exc, NoArgsIsHelpError | SaidUsageError):
        return exc
    if isinstance(exc, NoSuchOption):
        allowed = _options(exc)
        return SaidUsageError(
            lang,
            render("cli.no_such_option", lang, option=exc.option_name, allowed=allowed)
            + _near(lang, exc.option_name, _option_names(exc)),
        )
    if isinstance(exc, MissingParameter):
        name = _param_name(exc.param)
        return SaidUsageError(lang, render("cli.missing", lang, name=name))
    if isinstance(exc, BadParameter) and exc.param is not None:
        name = _param_name(exc.param)
        return SaidUsageError(
            lang,
            render(
                "cli.bad_option",
                lang,
                option=name,
                value=_value(args, exc.param),
                allowed=_allowed(exc.param, lang) or exc.message,
            ),
        )
    unknown = _unknown_command(exc)
    if unknown is not None:
        return SaidUsageError(
            lang,
            render("cli.no_such_command", lang, command=unknown, allowed=", ".join(commands))
            + _near(lang, unknown, commands),
        )
    return exc


def _near(lang: Lang, given: str, known: list[str]) -> str:
    close = difflib.get_close_matches(given, known, n=3, cutoff=0.6)
    if not close:
        return ""
    return render("did_you_mean", lang, near=", ".join(f"`{c}`" for c in close))


def _param_name(param: Any) -> str:
    opts = [o for o in getattr(param, "opts", []) if o.startswith("-")]
    if opts:
        return str(max(opts, key=len))
    return str(getattr(param, "name", "") or "").upper()


def _option_names(exc: NoSuchOption) -> list[str]:
    command = exc.ctx.command if exc.ctx is not None else None
    names = [o for p in getattr(command, "params", []) for o in getattr(p, "opts", [])]
    return [n for n in names if n.startswith("-")] + ["--help"]


def _options(exc: NoSuchOption) -> str:
    return ", ".join(n for n in _option_names(exc) if n.startswith("--"))


def _value(args: Sequence[str], param: Any) -> str:
    """What was given for ``param``: the token after its option, or ``--opt=value``."""
    for i, arg in enumerate(args):
        for opt in getattr(param, "opts", []):
            if not opt.startswith("-"):
                continue
            if arg == opt and i + 1 < len(args):
                return args[i + 1]
            if arg.startswith(opt + "="):
                return arg.split("=", 1)[1]
    return ""


def _allowed(param: Any, lang: Lang) -> str:
    low, high = getattr(param, "min", None), getattr(param, "max", None)
    if low is not None and high is not None:
        return render("cli.between", lang, low=low, high=high)
    if low is not None:
        return render("cli.at_least", lang, low=low)
    if high is not None:
        return render("cli.at_most", lang, high=high)
    return ""


def _unknown_command(exc: UsageError) -> str | None:
    # The vendored click's words: "No such command 'x'." (then Typer's "Did you mean ...").
    head = "No such command '"
    if not exc.message.startswith(head):
        return None
    return exc.message[len(head) :].split("'", 1)[0]
