"""Tables that fit the terminal: every column on one line at its natural width but one, the
reason, which folds into the width left (Chinese has no spaces to wrap at, so Rich's own
squeezing would cut it to "排队中…"). Ids are never folded; when the rest does not fit, the
columns the caller names (a job's name, a long pool name) fold, whole, in the caller's order,
to leave the reason its minimum."""

from __future__ import annotations

from rich.cells import cell_len
from rich.table import Table
from rich.text import Text

REASON_MIN = 20  # cells the folding column keeps however narrow the terminal


def fitted(
    title: str | None,
    headers: list[str],
    rows: list[list[str]],
    width: int,
    fold: int,
    squeeze: tuple[int, ...] = (),
    caption: str | None = None,
) -> Table:
    """A table of ``rows`` (Rich markup allowed) whose column ``fold`` takes what is left;
    the columns ``squeeze`` fold too when the terminal is too narrow for them."""
    natural = [max([_widest(h)] + [_widest(r[i]) for r in rows]) for i, h in enumerate(headers)]
    widths: list[int | None] = [None] * len(headers)
    left = width - (len(headers) + 1) - 2 * len(headers)  # borders, then each side's padding
    others = sum(n for i, n in enumerate(natural) if i != fold)
    keep = min(REASON_MIN, natural[fold])  # what the folding column needs at least
    for i in squeeze:  # in the caller's order: the least needed whole first
        over = others + keep - left
        if over <= 0:
            break
        narrowed = max(4, natural[i] - over)
        widths[i] = narrowed
        others -= natural[i] - narrowed
    # Narrower still than that: the folding column gives up cells down to 10.
    widths[fold] = max(min(REASON_MIN, natural[fold]), 10, min(natural[fold], left - others))
    table = Table(title=title, caption=caption)
    for i, header in enumerate(headers):
        table.add_column(header, overflow="fold", no_wrap=widths[i] is None, width=widths[i])
    for r in rows:
        table.add_row(*r)
    return table


def _widest(cell: str) -> int:
    """Cells of the widest line of ``cell`` (Rich markup allowed)."""
    return max(cell_len(line) for line in Text.from_markup(cell).plain.split("\n"))
