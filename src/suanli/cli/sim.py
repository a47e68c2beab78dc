"""`suanli sim`: offline experiments on the real scheduling core (no server needed)."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, NoReturn

import typer
from rich.console import Console
from rich.table import Table

from suanli.cli.context import say_error
from suanli.domain.errors import InvalidInput
from suanli.domain.i18n import Lang

if TYPE_CHECKING:
    from suanli.sim.pack import PackReport

# The simulator (numpy, the scheduler) is imported inside each command: `suanli --help` and
# the thin-client commands must not pay for it (bench/cli_speed.py).
# The names in suanli.scheduler.packing.POLICIES (a test keeps them equal).
PACKING_POLICIES = ("random", "best-fit", "fgd", "default")

EXIT_BAD_INPUT = 2

app = typer.Typer(
    name="sim",
    help="Trace-driven experiments with the scheduler's own policies.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
out = Console(highlight=False)
err = Console(stderr=True, highlight=False)


@app.callback()
def sim() -> None:
    """Trace-driven experiments with the scheduler's own policies."""


def _lang(ctx: typer.Context) -> Lang:
    # The root callback stores the reader's language on ctx.obj; standalone use is English.
    lang = getattr(ctx.obj, "lang", "en")
    return "zh" if lang == "zh" else "en"


def _bad_input(exc: InvalidInput, lang: Lang) -> NoReturn:
    say_error(lang, exc.message(lang))
    raise typer.Exit(EXIT_BAD_INPUT)


@app.command()
def pack(
    ctx: typer.Context,
    nodes: Annotated[
        Path, typer.Option(help="openb node list CSV (sn, cpu_milli, memory_mib, gpu, model)")
    ],
    pods: Annotated[
        Path,
        typer.Option(
            help="openb pod list CSV (name, cpu_milli, memory_mib, num_gpu, gpu_milli[, gpu_spec])"
        ),
    ],
    load: Annotated[
        float, typer.Option(help="stop when arrived GPU requests reach this x cluster GPUs")
    ] = 1.3,
    seed: Annotated[int, typer.Option(help="seed for draws beyond the trace and for ties")] = 42,
    policy: Annotated[
        str, typer.Option(help=f"packing policy: {', '.join(PACKING_POLICIES)}")
    ] = "default",
    protocol: Annotated[
        str,
        typer.Option(
            help="suanli: trace order, figure after the last pod; fgd: the FGD artifact's "
            "replay and scores (docs/packing-fgd-protocol.md)"
        ),
    ] = "suanli",
    packing: Annotated[
        Path | None,
        typer.Option(
            help="YAML file with the packing: section of a fleet file (policy options, "
            "e.g. spread_shares: true); a fleet or scenario file works too"
        ),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="machine-readable output")] = False,
) -> None:
    """Replay a pod trace onto a cluster with one packing policy; report GPU allocation."""
    from suanli.domain.clock import SystemClock
    from suanli.scheduler.packing import PackingOptions
    from suanli.schemas.fleetfile import PackingEntry, load_packing_entry
    from suanli.sim.openb import read_nodes, read_pods
    from suanli.sim.pack import check_replay_args, replay_pack

    lang = _lang(ctx)
    try:
        # Arguments first: a typo in --policy should not wait for two CSVs to be read.
        check_replay_args(policy, load, protocol)
        entry = load_packing_entry(packing) if packing is not None else PackingEntry()
        report = replay_pack(
            read_nodes(nodes),
            read_pods(pods),
            policy=policy,
            load=load,
            seed=seed,
            clock=SystemClock(),
            protocol=protocol,
            options=PackingOptions(entry.spread_shares, entry.kubernetes_scores),
        )
    except InvalidInput as exc:
        _bad_input(exc, lang)
    if as_json:
        sys.stdout.write(json.dumps(report.to_dict(), indent=2) + "\n")
        return
    _print_report(report)


@app.command()
def replay(
    ctx: typer.Context,
    trace: Annotated[str, typer.Option(help="FORMAT:PATH, FORMAT one of philly, gavel, openb")],
    fleet: Annotated[
        Path, typer.Option(help="scenario file: fleet, tenants' quotas, queue settings")
    ],
    policy: Annotated[
        list[str] | None,
        typer.Option(help="queue policy (repeat to compare): default, fifo, sjf, srtf, ..."),
    ] = None,
    estimates: Annotated[
        str, typer.Option(help="none: the scheduler knows no run times; exact: the trace's")
    ] = "none",
    report: Annotated[
        Path | None, typer.Option(help="write plots (PNG) and index.html into this folder")
    ] = None,
    window: Annotated[
        bool, typer.Option(help="only the jobs inside the scenario's window (--no-window: all)")
    ] = True,
    repeat: Annotated[
        int, typer.Option(min=1, max=1000, help="replay the trace this many times, shifted")
    ] = 1,
    load: Annotated[
        float | None,
        typer.Option(
            help="squeeze or stretch arrivals so that the trace offers this load: work "
            "(accelerator-seconds, run times averaged over the fleet's models) over the "
            "fleet's accelerator-seconds while jobs arrive; left out: the trace's own times"
        ),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="machine-readable output")] = False,
    live: Annotated[
        bool,
        typer.Option(
            help="through the server's own control loop (memory stores, simulated engines, "
            "billing per attempt; default policy only; slow: see docs/sim-fidelity.md)"
        ),
    ] = False,
) -> None:
    """Replay a job trace through the live queueing core on a simulated clock."""
    from suanli.domain.clock import SystemClock
    from suanli.sim.live import LiveReplay
    from suanli.sim.load import at_load
    from suanli.sim.replay import Replay
    from suanli.sim.replay import check_replay_args as check_queue_args
    from suanli.sim.report import write_report
    from suanli.sim.scenario import load_scenario, repeated, setup_for, windowed
    from suanli.sim.traces import parse_trace_arg, read_trace

    lang = _lang(ctx)
    policies = policy or ["default"]
    try:
        for name in policies:
            check_queue_args(name, estimates)
        fmt, path = parse_trace_arg(trace)
        scenario = load_scenario(fleet)
        loaded = read_trace(fmt, path)
        jobs = repeated(windowed(scenario, loaded.jobs) if window else loaded.jobs, repeat)
        setup = setup_for(scenario, loaded)
        offered, stretch = None, 1.0
        if load is not None:
            jobs, offered, stretch = at_load(jobs, load, setup.fleet, setup.throughput)
        if live:
            found = LiveReplay(setup.fleet, setup.tenants, setup.settings).run(jobs)
            sys.stdout.write(json.dumps(found.to_dict(), indent=2) + "\n")
            return
        results = []
        for name in policies:
            runner = Replay(setup, name, estimates, SystemClock())
            results.append(runner.run(jobs))
        if report is not None:
            write_report(results, report, f"suanli sim replay {trace}")
    except InvalidInput as exc:
        _bad_input(exc, lang)
    if as_json:
        body = [r.to_dict() for r in results]
        if offered is not None:
            for b in body:
                b["load"] = {"offered": round(offered, 4), "asked": load, "stretch": stretch}
        sys.stdout.write(json.dumps(body[0] if len(body) == 1 else body, indent=2) + "\n")
        return
    table = Table(title=f"sim replay · {trace}")
    for col in ("policy", "jobs", "avg JCT s", "p99 JCT s", "avg queue s", "util", "cost ¥"):
        table.add_column(col, justify="right")
    for r in results:
        table.add_row(
            r.policy,
            str(r.jobs),
            f"{r.avg_jct_s:,.0f}",
            f"{r.p99_jct_s:,.0f}",
            f"{r.avg_queue_s:,.0f}",
            f"{r.utilization:.1%}",
            f"{r.cost_yuan:,.2f}",
        )
    out.print(table)
    if offered is not None:
        out.print(f"arrivals x{stretch:.4g}: offered load {offered:.3g} -> {load:g}")


def _print_report(r: PackReport) -> None:
    title = f"sim pack · {r.policy} · seed {r.seed} · load {r.load:g} · {r.protocol} protocol"
    table = Table(title=title)
    table.add_column("arrived load", justify="right")
    table.add_column("GPU allocation", justify="right")
    for percent, ratio in r.allocation_by_load.items():
        table.add_row(f"{percent}%", f"{ratio:.2%}")
    out.print(table)
    out.print(
        f"GPU allocation ratio {r.gpu_allocation_ratio:.2%} on {r.gpus} GPUs / {r.nodes} nodes; "
        f"{r.placed_pods} of {r.arrived_pods} pods placed, {r.failed_pods} failed; {r.seconds:.2f} s"
    )
