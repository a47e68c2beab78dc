"""The root command group that imports a command's module only when that command is used.

`suanli --help` lists every command from one line each given at registration, so it imports
none of their modules; `suanli status` imports what `status` needs and nothing of `voucher`,
`sim` or `eval`. A command is registered by name with `lazy(name, module, attribute, help)`
(in `suanli.cli.main`); ``attribute`` is a `typer.Typer` sub-app or a command function.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Any

import typer
from typer._click.exceptions import UsageError
from typer.core import TyperGroup
from typer.models import CommandInfo


@dataclass(frozen=True)
class LazyCommand:
    module: str
    attribute: str
    help: str  # the line `suanli --help` shows; a test keeps it equal to the command's own


# Filled by `lazy()` at import of suanli.cli.main, in the order `--help` lists them.
LAZY: dict[str, LazyCommand] = {}


def lazy(name: str, module: str, attribute: str, help: str) -> None:
    """Register ``module.attribute`` as the command ``name``, imported on first use."""
    LAZY[name] = LazyCommand(module, attribute, help)


def load(name: str, entry: LazyCommand) -> Any:
    """The click command for ``entry``, built as `app.add_typer`/`app.command` would."""
    found = getattr(importlib.import_module(entry.module), entry.attribute)
    if isinstance(found, typer.Typer):
        group = typer.main.get_group(found)
        group.name = name
        command: Any = group
    else:
        command = typer.main.get_command_from_info(
            CommandInfo(name=name, callback=found),
            pretty_exceptions_short=True,
            rich_markup_mode=None,
        )
    _plain_help(command)
    return command


def _plain_help(command: Any) -> None:
    """Plain help throughout, as the root's (Rich help imports rich.markdown, markdown-it)."""
    command.rich_markup_mode = None
    for sub in getattr(command, "commands", {}).values():
        _plain_help(sub)


class LazyGroup(TyperGroup):
    """TyperGroup whose commands in `LAZY` are imported on first use; a mistake on the
    command line, here or in a sub-command, is said as the CLI's other errors
    (suanli.cli.usage)."""

    args: list[str] = []  # noqa: RUF012 - the command line, kept at make_context

    def make_context(self, info_name: Any, args: Any, parent: Any = None, **extra: Any) -> Any:
        self.args = list(args)
        try:
            return super().make_context(info_name, args, parent, **extra)
        except UsageError as exc:
            raise self._said(exc) from None

    def invoke(self, ctx: Any) -> Any:
        try:
            return super().invoke(ctx)
        except UsageError as exc:
            raise self._said(exc) from None

    def _said(self, exc: UsageError) -> UsageError:
        from suanli.cli.context import default_lang
        from suanli.cli.usage import lang_in, said

        failed = exc.ctx.command if exc.ctx is not None else self
        listing = getattr(failed, "list_commands", None)
        commands = list(listing(exc.ctx)) if listing is not None else []
        return said(exc, lang_in(self.args, default_lang()), self.args, commands)

    def list_commands(self, ctx: Any) -> list[str]:
        eager = super().list_commands(ctx)
        return eager + [name for name in LAZY if name not in eager]

    def get_command(self, ctx: Any, cmd_name: str) -> Any:
        found = super().get_command(ctx, cmd_name)
        if found is None and cmd_name in LAZY:
            found = load(cmd_name, LAZY[cmd_name])
            self.commands[cmd_name] = found
        return found

    def format_commands(self, ctx: Any, formatter: Any) -> None:
        """The command list from the registered lines: no command module is imported."""
        from typer._click.utils import make_default_short_help

        names = self.list_commands(ctx)
        if not names:
            return
        limit = formatter.width - 6 - max(len(n) for n in names)
        rows = []
        for name in names:
            loaded = self.commands.get(name)
            if loaded is not None:
                if loaded.hidden:
                    continue
                rows.append((name, loaded.get_short_help_str(limit)))
            else:
                rows.append((name, make_default_short_help(LAZY[name].help, limit)))
        with formatter.section("Commands"):
            formatter.write_dl(rows)
