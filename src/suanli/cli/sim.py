"""`suanli sim`: offline experiments on the real scheduling core (no server needed)."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, NoReturn

import typer
from rich import box
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
    skip: Annotated[
        int,
        typer.Option(
            help="leave out the window's first M jobs (in submission order): the replay "
            "starts at job M"
        ),
    ] = 0,
    jobs_: Annotated[
        int,
        typer.Option(
            "--jobs",
            help="replay only N jobs from there (0: to the end of the window); the trace "
            "runs on its own clock from the first of them",
        ),
    ] = 0,
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
    vouchers: Annotated[
        str | None,
        typer.Option(
            help="folder of voucher policy files (or library:NAME, a shipped folder): "
            "report pool spend by month, tenants at a cap, the month each pool runs dry"
        ),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="machine-readable output")] = False,
    progress: Annotated[
        bool | None,
        typer.Option(
            "--progress/--no-progress",
            help="a progress line on stderr once a second (default: on when stderr is a "
            "terminal and --json is not given)",
        ),
    ] = None,
) -> None:
    """Replay a job trace through the live server's control loop on a simulated clock
    (memory stores, simulated engines, billing per attempt; docs/sim-fidelity.md)."""
    from suanli.cli.sim_progress import progress_line
    from suanli.cli.whatif import load_programmes, print_what_if, replay_what_if
    from suanli.sim.load import at_load
    from suanli.sim.replay_args import check_replay_args, check_window, window_of
    from suanli.sim.report import write_report
    from suanli.sim.scenario import load_scenario, repeated, setup_for, windowed
    from suanli.sim.traces import parse_trace_arg, read_trace

    lang = _lang(ctx)
    policies = policy or ["default"]
    show = progress if progress is not None else err.is_terminal and not as_json
    try:
        for name in policies:
            check_replay_args(name, estimates)
        check_window(skip, jobs_)
        programmes = load_programmes(vouchers) if vouchers is not None else None
        fmt, path = parse_trace_arg(trace)
        scenario = load_scenario(fleet)
        loaded = read_trace(fmt, path)
        chosen = window_of(windowed(scenario, loaded.jobs) if window else loaded.jobs, skip, jobs_)
        jobs = repeated(chosen, repeat)
        setup = setup_for(scenario, loaded)
        offered, stretch = None, 1.0
        if load is not None:
            jobs, offered, stretch = at_load(jobs, load, setup.fleet, setup.throughput)
        results = []
        for name in policies:
            with progress_line(err, name, lang, show) as on_tick:
                results.append(setup.replay(name, estimates, on_tick).run(jobs))
        whatifs = (
            [replay_what_if(r, programmes, setup.attributes) for r in results]
            if programmes is not None
            else []
        )
        if report is not None:
            write_report(results, report, f"suanli sim replay {trace}")
    except InvalidInput as exc:
        _bad_input(exc, lang)
    if as_json:
        body = [r.to_dict() for r in results]
        for b, w in zip(body, whatifs, strict=False):
            b["vouchers"] = w.to_dict()
        if offered is not None:
            for b in body:
                b["load"] = {"offered": round(offered, 4), "asked": load, "stretch": stretch}
        sys.stdout.write(json.dumps(body[0] if len(body) == 1 else body, indent=2) + "\n")
        return
    # no outer edge, one space between columns: "fifo-agnostic" and a cost in the millions fit
    # 80 columns whole (a boxed table cut them short)
    table = Table(
        title=f"sim replay · {trace}", box=box.SIMPLE_HEAD, show_edge=False, collapse_padding=True
    )
    for col in ("policy", "jobs", "avg JCT s", "p99 JCT s", "avg queue s", "util", "cost ¥"):
        table.add_column(col, justify="left" if col == "policy" else "right", no_wrap=True)
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
    for r, w in zip(results, whatifs, strict=False):
        print_what_if(out, w, r.policy, lang)


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


@app.command()
def serve(
    ctx: typer.Context,
    trace: Annotated[str, typer.Option(help="FORMAT:PATH, FORMAT azure-llm (TIMESTAMP, ...)")],
    service: Annotated[Path, typer.Option(help="service spec (YAML): replicas and scaling")],
    llm: Annotated[
        str, typer.Option(help="the served model's shape in suanli/data/llm-latency.yaml")
    ] = "llama-3.1-8b",
    slo_ttft: Annotated[float, typer.Option(help="time-to-first-token SLO, seconds")] = 2.0,
    split: Annotated[
        float, typer.Option(help="seconds: figures also for before (tuning) and after (held out)")
    ] = 1800.0,
    start_s: Annotated[
        float | None, typer.Option(help="a replica's start to ready, seconds (default: data file)")
    ] = None,
    minutes: Annotated[
        float | None, typer.Option(min=0.1, help="replay only the trace's first minutes")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="machine-readable output")] = False,
) -> None:
    """Replay an LLM request trace against autoscaled replicas: the default autoscaler,
    an oracle that knows the next minute, and static provisioning for the peak and mean."""
    from suanli.domain.service_spec import (
        MAX_SERVICE_SPEC_BYTES,
    )  # lazily: only `serve` needs these
    from suanli.schemas.servicefile import parse_service_text
    from suanli.schemas.validation import read_bounded
    from suanli.sim.serving.compare import check_serve_args, compare
    from suanli.sim.serving.latency import replica_model
    from suanli.sim.serving.trace import parse_serve_trace_arg, read_azure_llm

    lang = _lang(ctx)
    try:
        check_serve_args(slo_ttft, split)
        _, path = parse_serve_trace_arg(trace)
        raw = read_bounded(service, MAX_SERVICE_SPEC_BYTES, "service spec", "invalid_service_spec")
        spec = parse_service_text(raw, str(service))
        model = replica_model(spec, llm, start_s)
        requests = read_azure_llm(path)
        if minutes is not None:
            requests = [r for r in requests if r.arrival < minutes * 60] or requests[:1]
        found = compare(requests, spec, model, slo_ttft, split)
    except InvalidInput as exc:
        _bad_input(exc, lang)
    if as_json:
        sys.stdout.write(json.dumps(found.to_dict(), indent=2) + "\n")
        return
    table = Table(title=f"sim serve · {found.model} · TTFT SLO {found.slo_ttft_s:g} s")
    cols = ("policy", "slice", "requests", "replica-h", "TTFT p50/p99 s", "TPOT p50/p99 ms")
    for col in (*cols, "e2e p99 s", "in SLO"):
        table.add_column(col, justify="right")
    for r in found.rows:
        table.add_row(
            r.policy,
            r.slice,
            str(r.requests),
            f"{r.replica_hours:.2f}",
            f"{r.ttft_p50_s:.2f} / {r.ttft_p99_s:.2f}",
            f"{r.tpot_p50_ms:.0f} / {r.tpot_p99_ms:.0f}",
            f"{r.e2e_p99_s:.1f}",
            f"{r.slo_attainment:.2%}",
        )
    out.print(table)
    out.print(
        f"static: peak {found.static_peak} replicas, mean {found.static_mean}; default / oracle "
        f"replica-hours: whole {found.ratio('whole'):.3f}, tuning {found.ratio('tuning'):.3f}, "
        f"held out {found.ratio('held_out'):.3f}"
    )
