"""How the programmes that would each reduce a charge combine into one deduction.

Two rules, in this order:

1. **Within one issuer, 从优不重复**: of several stacking programmes of the same issuer
   only the most favourable applies (the others: ``same_issuer``).
2. **Across issuers, stacking**: the remaining stacking programmes (one per issuer) apply
   in ascending ``stacking.order``, then issuer, then programme id. Each offers its own
   rate of the gross within its own caps, pool and claim; when it applies, the sum so
   far may reach at most ``combined_cap`` x gross (its own and every earlier one's, to
   the fen, rounded down), so a later programme is trimmed (``limit: stack_cap``) or
   left out (``stack_cap_reached``), never an earlier one.
3. **从优**: the stack competes with every single programme alone (one without a
   ``stacking`` block, or a stacking one within its own ``combined_cap``); the largest
   deduction wins, a tie goes to fewer programmes, then to the programme id that sorts
   first, so the same inputs always give the same answer and the result is never worse
   than the best programme alone.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from decimal import Decimal

from suanli.billing.money import ZERO, floor_fen, mul
from suanli.billing.policy import StackRule
from suanli.billing.verdicts import Consideration, Limit, Outcome, fmt_rate, fmt_yuan

Key = tuple[str, int]


def _key(v: Consideration) -> Key:
    return (v.programme, v.version)


def _rank(v: Consideration) -> tuple[Decimal, str, int]:
    return (-v.offer, v.programme, v.version)


def _worth(option: list[Consideration]) -> tuple[Decimal, int]:
    return (sum((v.offer for v in option), ZERO), -len(option))


def combine(
    verdicts: Sequence[Consideration],
    stacking: Mapping[str, StackRule | None],
    gross: Decimal,
) -> tuple[Consideration, ...]:
    """The verdicts with the winners ``applied`` (numbered by ``order``) and the others
    told why not. ``stacking``: each programme's stack rule (None: it does not stack)."""
    applied = [v for v in verdicts if v.outcome is Outcome.APPLIED]
    if not applied:
        return tuple(verdicts)
    now: dict[Key, Consideration] = {}
    exclusive = [v for v in applied if stacking.get(v.programme) is None]
    stackers = [v for v in applied if stacking.get(v.programme) is not None]

    def alone(v: Consideration) -> Consideration:
        """What ``v`` gives on its own: its offer, within its own cap on the sum."""
        rule = stacking.get(v.programme)
        cap = floor_fen(mul(gross, rule.combined_cap)) if rule is not None else v.offer
        return v if v.offer <= cap else replace(v, offer=cap, limit=Limit.STACK_CAP)

    # 1. within one issuer, the best one (by what each gives on its own)
    best_of: dict[str, Consideration] = {}
    for v in sorted(stackers, key=lambda v: _rank(alone(v))):
        best_of.setdefault(v.issuer or v.programme, v)
    for v in stackers:
        best = best_of[v.issuer or v.programme]
        if v is not best:
            now[_key(v)] = replace(
                v,
                outcome=Outcome.SAME_ISSUER,
                params={**v.params, "chosen": best.programme, "best": fmt_yuan(best.offer)},
            )

    # 2. across issuers, in the stated order under the cap on the sum
    stack = _stack(list(best_of.values()), stacking, gross, now)

    # 3. the stack against every single programme alone (从优: never worse than the best
    #    one); a tie goes to fewer programmes, then to the order above
    options: list[list[Consideration]] = [stack] if stack else []
    singles = sorted((alone(v) for v in [*exclusive, *best_of.values()]), key=_rank)
    options += [[replace(v, order=1)] for v in singles if v.offer > 0]
    winners = max(options, key=_worth) if options else []
    for w in winners:
        now[_key(w)] = w
    beaten = {
        "chosen": " + ".join(w.programme for w in winners),
        "best": fmt_yuan(sum((w.offer for w in winners), ZERO)),
    }
    won = {_key(w) for w in winners}
    for v in [*exclusive, *best_of.values()]:
        left_out = now.get(_key(v), v).outcome is Outcome.STACK_CAP_REACHED
        if _key(v) not in won and not (left_out and winners is stack):
            now[_key(v)] = replace(
                now.get(_key(v), v),
                outcome=Outcome.NOT_BEST,
                order=None,
                params={**v.params, **beaten},
            )
    return tuple(now.get(_key(v), v) for v in verdicts)


def _stack(
    heads: list[Consideration],
    stacking: Mapping[str, StackRule | None],
    gross: Decimal,
    now: dict[Key, Consideration],
) -> list[Consideration]:
    """Apply one programme per issuer in order; trim to the cap on the sum."""
    rules = {v.programme: r for v in heads if (r := stacking.get(v.programme)) is not None}
    if not rules:
        return []

    def order_key(v: Consideration) -> tuple[int, str, str]:
        return (rules[v.programme].order, v.issuer or v.programme, v.programme)

    out: list[Consideration] = []
    total = ZERO
    share = Decimal(1)
    for v in sorted(heads, key=order_key):
        share = min(share, rules[v.programme].combined_cap)
        room = floor_fen(mul(gross, share)) - total
        if room <= 0:
            now[_key(v)] = replace(
                v,
                outcome=Outcome.STACK_CAP_REACHED,
                params={**v.params, "cap": fmt_rate(share), "before": fmt_yuan(total)},
            )
            continue
        taken = v if v.offer <= room else replace(v, offer=room, limit=Limit.STACK_CAP)
        taken = replace(taken, order=len(out) + 1)
        now[_key(v)] = taken
        out.append(taken)
        total += taken.offer
    return out
