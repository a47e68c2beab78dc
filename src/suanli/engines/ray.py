"""Ray clusters through the Ray Jobs REST API: one Ray job per attempt, named by its key.

Why REST over httpx and not the Ray Jobs SDK (``ray.job_submission.JobSubmissionClient``):
the SDK is a thin client of these same documented endpoints (docs.ray.io, "Ray Jobs REST
API"), but it ships inside the whole ``ray`` wheel (hundreds of MB, its own pins of grpcio,
protobuf, pydantic ...) and must match the cluster's Ray and Python versions. The control
plane only needs five HTTP calls, and httpx is already a dependency; so suanli's own venv
stays free of Ray, and one suanli talks to clusters of different Ray versions.

Mapping (see README, "Ray engine"):
- submission id = the suanli key, so ``launch`` is idempotent (Ray itself refuses a second
  job with a known submission id) and a restarted control plane finds its runs again;
- accelerators = a Ray custom resource named after the catalog model (``H100``,
  ``Ascend910B``), with an optional per-cluster prefix, reserved for the entrypoint together
  with the spec's CPUs and memory;
- the hard time limit is enforced on the node by ``timeout`` around the entrypoint.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import shlex
from typing import Any

import httpx

from suanli.domain.clock import Clock
from suanli.domain.errors import EngineFailure
from suanli.domain.jobs import Reason
from suanli.engines import ray_image
from suanli.engines.base import (
    EngineFeature,
    Inventory,
    LaunchRequest,
    LogChunk,
    NodeInventory,
    RunState,
    RunStatus,
    job_env,
)
from suanli.engines.ray_checkpoints import RayCheckpoints
from suanli.engines.replica_port import (
    NODE_HOST,
    address_in_log,
    container_prelude,
    run_script,
)

# The entrypoint: ``timeout`` enforces the hard limit (exit 124, or 137 after the grace);
# the scripts travel in the environment so the entrypoint stays short (Ray prints it in the
# job's log) and are unset before the job's own processes start.
ENTRYPOINT = (
    "umask 077; exec timeout --kill-after={grace}s {limit}s bash -c '"
    "s=$SUANLI_RAY_SETUP; r=$SUANLI_RAY_RUN; unset SUANLI_RAY_SETUP SUANLI_RAY_RUN; "
    'if [ -n "$s" ]; then bash -c "$s" || exit; fi; exec bash -c "$r"\''
)
KILL_GRACE_S = 10
GANG_WAIT_S = 600  # a gang whose bundles Ray cannot reserve by then fails (exit 1)
GANG_STRATEGIES = ("STRICT_SPREAD", "SPREAD", "PACK", "STRICT_PACK")
# A gang's entrypoint: Ray's Python runs the driver below, under the same hard limit.
GANG_ENTRYPOINT = (
    'umask 077; exec timeout --kill-after={grace}s {limit}s {python} -c "$SUANLI_RAY_DRIVER"'
)
# The gang driver (runs on the cluster with Ray's own Python; passed in the environment).
# 1. reserve one bundle per node, all or nothing (a placement group); 2. learn the nodes'
# addresses (rank 0's is MASTER_ADDR); 3. run setup then the job on every bundle at once,
# with its rank; 4. the first rank to fail ends the gang with its exit code.
GANG = """
import ctypes, json, os, signal, subprocess, sys
import ray
from ray.util.placement_group import placement_group, placement_group_table
from ray.util.scheduling_strategies import PlacementGroupSchedulingStrategy

gang = json.loads(os.environ["SUANLI_RAY_GANG"])
setup, run = gang["setup"], gang["run"]
ray.init(log_to_driver=True)
bundle, n = gang["bundle"], gang["nodes"]
pg = placement_group([bundle] * n, strategy=gang["strategy"])
print(f"suanli: waiting for {n} bundles {bundle} ({gang['strategy']})", flush=True)
try:
    ray.get(pg.ready(), timeout=gang["wait_s"])
except ray.exceptions.GetTimeoutError:
    print(f"suanli: the cluster did not hold {n} such bundles within {gang['wait_s']} s")
    sys.exit(1)
by_id = {x["NodeID"]: x["NodeManagerAddress"] for x in ray.nodes()}
where = [by_id.get(placement_group_table(pg)["bundles_to_node_id"][i], "") for i in range(n)]
print(f"suanli: gang placed on {where}", flush=True)

def _die_with_parent():
    ctypes.CDLL(None).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG: the worker's end is ours

def node(rank, env, setup, run):
    env = {**os.environ, **env, "SUANLI_NODE_RANK": str(rank), "NODE_RANK": str(rank)}
    for name in ("SUANLI_RAY_GANG", "SUANLI_RAY_DRIVER"):
        env.pop(name, None)
    if setup:
        code = sh(rank, env, setup)
        if code:
            return code
    return sh(rank, env, run)

def sh(rank, env, script):  # each line headed "[rank N] ", as the local engine and Slurm do
    p = subprocess.Popen(["bash", "-c", script], env=env, stdout=subprocess.PIPE,
                         stderr=subprocess.STDOUT, preexec_fn=_die_with_parent)
    for line in p.stdout:
        sys.stdout.buffer.write(b"[rank %d] " % rank + line.rstrip(b"\\n") + b"\\n")
        sys.stdout.flush()
    return p.wait()

resources = {k: v for k, v in bundle.items() if k not in ("CPU", "GPU", "memory")}
task = ray.remote(
    num_cpus=bundle.get("CPU", 0), num_gpus=bundle.get("GPU", 0),
    memory=bundle.get("memory"), resources=resources, max_retries=0)(node)
env = {**gang["env"], "MASTER_ADDR": where[0], "WORLD_SIZE": str(n),
       "SUANLI_NODES": ",".join(where)}
refs = [task.options(scheduling_strategy=PlacementGroupSchedulingStrategy(pg, i)).remote(
        i, env, setup, run) for i in range(n)]
left, code = list(refs), 0
while left and not code:
    done, left = ray.wait(left, num_returns=1)
    code = ray.get(done[0])
for ref in left:
    ray.cancel(ref, force=True)
sys.exit(code)
"""
TIMEOUT_EXITS = (124, 137)
# Ray's error types that say the run never got to run the user's command: the engine refused.
_REFUSED = {
    "RUNTIME_ENV_SETUP_FAILURE",
    "JOB_SUPERVISOR_ACTOR_START_TIMEOUT",
    "JOB_SUPERVISOR_ACTOR_START_FAILURE",
    "JOB_SUPERVISOR_ACTOR_UNSCHEDULABLE",
    "JOB_ENTRYPOINT_COMMAND_START_ERROR",
}
# ... and those that say Ray lost a run that was under way (node death, supervisor crash).
_LOST = {"JOB_SUPERVISOR_ACTOR_DIED", "JOB_SUPERVISOR_ACTOR_UNKNOWN_FAILURE"}
_MAX_DETAIL = 300
WATCH_FOR_S = 30.0  # how long a submitted job is watched closely while Ray has it pending
WATCH_S = 0.2  # a watched job's status is asked this often (others: cache_s)


class RayEngine:
    name = "ray"
    features = frozenset(
        {
            EngineFeature.GANG,
            EngineFeature.CANCEL,
            EngineFeature.LOGS,
            EngineFeature.TIME_LIMIT,
            EngineFeature.INVENTORY,
        }
    )

    def __init__(
        self,
        endpoint: str,
        clock: Clock,
        resource_prefix: str = "",
        request_gpus: bool = False,
        timeout_s: float = 10.0,
        transport: httpx.BaseTransport | None = None,
        reserve_cpus: bool = True,
        cache_s: float = 0.5,
        gang_strategy: str = "STRICT_SPREAD",
        python: str = "python3",
        registry: str | None = None,
        checkpoint_dir: str | None = None,
    ) -> None:
        """``endpoint``: the Jobs API (the dashboard address, e.g. ``http://head:8265``).

        ``resource_prefix`` goes before the model id in the custom resource's name;
        ``request_gpus`` also reserves Ray GPUs (CUDA pools on real GPU nodes, so Ray sets
        CUDA_VISIBLE_DEVICES for the run). ``reserve_cpus`` false: the entrypoint reserves
        no Ray CPUs (accelerators, memory and suanli's own pool capacity bound the runs; Ray
        then starts as many as those allow, not one per head CPU). A run's status is asked
        of Ray at most every ``cache_s`` (every WATCH_S while it waits to start).

        Gangs (several nodes) run as one Ray job whose driver reserves a placement group of
        one bundle per node (``gang_strategy``: STRICT_SPREAD, one Ray node per bundle, or
        PACK/SPREAD/STRICT_PACK) and starts the run on every bundle; ``python`` is the
        interpreter with Ray on the cluster that runs that driver.

        A job with an image runs in a container per job on its node (``ray_image``), pulled
        from ``registry`` (the region's mirror) unless the node has it. ``checkpoint_dir``:
        where jobs that checkpoint keep their work, on storage every node mounts
        (``ray_checkpoints``; no tenant isolation on Ray).
        """
        if gang_strategy not in GANG_STRATEGIES:
            raise EngineFailure(
                engine=self.name,
                detail=f"gang_strategy {gang_strategy!r}: allowed {', '.join(GANG_STRATEGIES)}",
            )
        self.endpoint = endpoint.rstrip("/")
        self.clock = clock
        self.resource_prefix = resource_prefix
        self.request_gpus = request_gpus
        self.reserve_cpus = reserve_cpus
        self.gang_strategy = gang_strategy
        self.python = python
        self.registry = registry
        self.checkpoints = RayCheckpoints(checkpoint_dir)
        self.cache_s = cache_s
        self._seen: dict[str, tuple[float, RunStatus]] = {}  # key -> (when asked, status)
        self._http = httpx.Client(base_url=self.endpoint, timeout=timeout_s, transport=transport)
        self._watch: dict[str, float] = {}  # key -> when we submitted it, until it runs
        self._heads: dict[str, str] = {}  # image jobs' log heads, once they name the digest

    # 1. launch -------------------------------------------------------------------------
    def launch(self, request: LaunchRequest) -> None:
        if (
            request.spec.image
            and max(request.spec.resources.nodes, len(request.placement.nodes)) > 1
        ):
            raise EngineFailure(  # never run an image's job as a bare command
                engine=self.name,
                detail=f"images run on one Ray node, not yet as a gang ({request.spec.image})",
            )
        if self._info(request.key) is not None:
            return  # known id: submitted before (maybe by a control plane that died)
        response = self._call("POST", "/api/jobs/", json=self.submission(request))
        if response.status_code == 200:
            self._watch[request.key] = self.clock.monotonic()
            self._seen.pop(request.key, None)
            return
        text = response.text
        if "already exists" in text:
            return  # a concurrent launch of the same key won; Ray keeps ids unique
        raise EngineFailure(engine=self.name, detail=f"{request.key}: {_last_line(text)}")

    def submission(self, request: LaunchRequest) -> dict[str, Any]:
        """The Jobs API body for ``request`` (POST /api/jobs/)."""
        spec, placement = request.spec, request.placement
        resources: dict[str, float] = {}
        gpus = 0
        if placement.accelerator and spec.accelerators_per_node:
            resources[self.resource_name(placement.accelerator)] = spec.accelerators_per_node
            gpus = spec.accelerators_per_node if self.request_gpus else 0
        nodes = max(spec.resources.nodes, len(placement.nodes))
        keeps = self.checkpoints.env(request)  # SUANLI_CHECKPOINT_DIR, after the job's env
        env = {
            **job_env(request, nodes),
            **request.extra_env,
            **spec.env,
            **keeps,
            "SUANLI_RAY_SETUP": spec.setup or "",
            "SUANLI_RAY_RUN": run_script(spec, NODE_HOST),  # a replica: PORT, address first
        }
        if request.stop_grace_s is not None:
            env["RAY_JOB_STOP_WAIT_TIME_S"] = str(max(1, math.ceil(request.stop_grace_s)))
        limit_s = max(1, math.ceil(spec.time_limit.total_seconds()))
        if nodes > 1:
            gang = self._gang_submission(request, nodes, resources, gpus, env, limit_s)
            return {**gang, "entrypoint": self.checkpoints.made_first(gang["entrypoint"], keeps)}
        entrypoint = self.checkpoints.made_first(
            ENTRYPOINT.format(grace=KILL_GRACE_S, limit=limit_s), keeps
        )
        if spec.image:  # a container on the node: the scripts go in as the container's env
            del env["SUANLI_RAY_SETUP"], env["SUANLI_RAY_RUN"]
            # A replica's PORT and HOST are chosen on the node, before the container starts.
            head, names = container_prelude(spec, NODE_HOST, sorted(env))
            env["SUANLI_SETUP"], env["SUANLI_RUN"] = spec.setup or "", spec.run
            env[ray_image.SCRIPT_ENV] = head + ray_image.script(
                request, self.registry, names, KILL_GRACE_S
            )
            entrypoint = ray_image.entrypoint(KILL_GRACE_S, limit_s)
        body: dict[str, Any] = {
            "entrypoint": entrypoint,
            "submission_id": request.key,
            "runtime_env": {"env_vars": env},
            "metadata": {
                "suanli_key": request.key,
                "suanli_job_id": request.job_id,
                "suanli_attempt": str(request.attempt),
                "suanli_time_limit_s": str(limit_s),
                **({"suanli_image": spec.image} if spec.image else {}),
            },
            "entrypoint_num_cpus": spec.resources.cpus if self.reserve_cpus else 0,
            "entrypoint_resources": resources,
        }
        if gpus:
            body["entrypoint_num_gpus"] = gpus
        if spec.resources.memory_gb:
            body["entrypoint_memory"] = spec.resources.memory_gb * 1024**3
        return body

    def _gang_submission(
        self,
        request: LaunchRequest,
        nodes: int,
        resources: dict[str, float],
        gpus: int,
        env: dict[str, str],
        limit_s: int,
    ) -> dict[str, Any]:
        """A gang: the driver reserves one bundle per node, all at once, then runs on each.

        The entrypoint itself reserves nothing (the bundles hold the accelerators, CPUs and
        memory); Ray keeps the group as long as the driver lives, so stopping the job or
        ``timeout`` ending it frees every node's share together.
        """
        spec = request.spec
        bundle: dict[str, float] = dict(resources)
        if self.reserve_cpus and spec.resources.cpus:
            bundle["CPU"] = spec.resources.cpus
        if gpus:
            bundle["GPU"] = gpus
        if spec.resources.memory_gb:
            bundle["memory"] = spec.resources.memory_gb * 1024**3
        if not bundle:
            bundle["CPU"] = spec.resources.cpus  # a bundle must hold something
        # The nodes' environment travels inside SUANLI_RAY_GANG, so the driver's own stays
        # small and the run's scripts never reach the driver's command line.
        node_env = {
            k: v for k, v in env.items() if k not in ("SUANLI_RAY_SETUP", "SUANLI_RAY_RUN")
        }
        gang = {
            "nodes": nodes,
            "bundle": bundle,
            "strategy": self.gang_strategy,
            "wait_s": GANG_WAIT_S,
            "env": node_env,
            "setup": spec.setup or "",
            "run": spec.run,
        }
        runtime_env = {"SUANLI_RAY_GANG": json.dumps(gang), "SUANLI_RAY_DRIVER": GANG}
        entrypoint = GANG_ENTRYPOINT.format(
            grace=KILL_GRACE_S, limit=limit_s, python=shlex.quote(self.python)
        )
        return {
            "entrypoint": entrypoint,
            "submission_id": request.key,
            "runtime_env": {"env_vars": runtime_env},
            "metadata": {
                "suanli_key": request.key,
                "suanli_job_id": request.job_id,
                "suanli_attempt": str(request.attempt),
                "suanli_time_limit_s": str(limit_s),
                "suanli_nodes": str(nodes),
            },
            "entrypoint_num_cpus": 0,
        }

    def resource_name(self, model: str) -> str:
        return f"{self.resource_prefix}{model}"

    # 2. follow -------------------------------------------------------------------------
    def status(self, key: str) -> RunStatus:
        now = self.clock.monotonic()
        seen = self._seen.get(key)
        if seen is not None and now - seen[0] < (WATCH_S if key in self._watch else self.cache_s):
            return seen[1]
        info = self._info(key)
        if info is None:
            self._watch.pop(key, None)
            self._seen.pop(key, None)
            return RunStatus(
                RunState.LOST, reason=Reason("reason_lost", {"detail": "Ray has no such job"})
            )
        status = run_status(info)
        image = str((info.get("metadata") or {}).get("suanli_image") or "")
        if image and status.state is not RunState.PENDING:
            status = ray_image.with_image(status, image, self._head_of_log(key))
        self._seen[key] = (now, status)
        if status.state.is_final:
            self._heads.pop(key, None)
            self._seen.pop(key)  # asked once more by the reconciler at most: no need to keep
        since = self._watch.get(key)
        if since is not None and (
            status.state is not RunState.PENDING or self.clock.monotonic() - since > WATCH_FOR_S
        ):
            del self._watch[key]
        return status

    def _head_of_log(self, key: str) -> str:
        """The first lines of an image job's log (where its node said what it resolved),
        read once they hold the digest."""
        head = self._heads.get(key)
        if head is None:
            head = self.read_log(key, 0, ray_image.HEAD_BYTES).data.decode(errors="replace")
            if ray_image.RESOLVED in head:
                self._heads[key] = head
        return head

    def watching(self) -> bool:
        """Whether a job we submitted is still pending: the caller should ask again soon."""
        now = self.clock.monotonic()
        self._watch = {k: t for k, t in self._watch.items() if now - t <= WATCH_FOR_S}
        return bool(self._watch)

    def read_log(self, key: str, offset: int, limit: int = 1 << 20) -> LogChunk:
        # The Jobs API returns the whole log; offsets are bytes of its UTF-8 text.
        response = self._call("GET", f"/api/jobs/{key}/logs")
        offset = max(offset, 0)
        if response.status_code == 404:
            return LogChunk(b"", offset)
        data = str(self._json(response, key).get("logs") or "").encode()
        chunk = data[offset : offset + limit]
        return LogChunk(chunk, offset + len(chunk))

    # 3. stop ---------------------------------------------------------------------------
    def cancel(self, key: str, grace_s: float | None = None) -> None:
        # Ray's job supervisor sends SIGTERM and kills after RAY_JOB_STOP_WAIT_TIME_S, which
        # it reads from the job's environment: the grace was fixed at launch (submission).
        self._seen.pop(key, None)
        response = self._call("POST", f"/api/jobs/{key}/stop")
        if response.status_code not in (200, 404):
            raise EngineFailure(engine=self.name, detail=f"{key}: {_last_line(response.text)}")

    def drop_checkpoint(self, job_id: str) -> None:
        """The job ended for good: a Ray job of ours removes its checkpoint directory."""
        body = self.checkpoints.drop_job(job_id)
        if body is not None:
            response = self._call("POST", "/api/jobs/", json=body)
            if response.status_code != 200 and "already exists" not in response.text:
                raise EngineFailure(
                    engine=self.name, detail=f"{job_id}: {_last_line(response.text)}"
                )

    # 4. the cluster --------------------------------------------------------------------
    def address(self, key: str) -> str | None:
        return address_in_log(self.read_log, key)

    def ping(self) -> bool:
        try:
            return self._http.get("/api/version", timeout=3.0).status_code == 200
        except httpx.HTTPError:
            return False

    def inventory(self) -> Inventory:
        """Every node Ray knows with its resources (State API) less what is in use on it.

        Accelerators are keyed by their Ray resource name (the prefix, then the catalog
        model id). Blocking, short; raises EngineFailure.
        """
        nodes = self._json(self._call("GET", "/api/v0/nodes?limit=10000"), "nodes")
        rows = nodes.get("data", {}).get("result", {}).get("result", [])
        # [used, total] per resource and node; this view camel-cases names that hold "_".
        status = self._json(self._call("GET", "/api/cluster_status"), "cluster status")
        report = status.get("data", {}).get("clusterStatus", {}).get("loadMetricsReport", {})
        used_by_node = report.get("usageByNode") or {}
        return Inventory(
            tuple(
                _node(row, used_by_node.get(str(row.get("node_id"))) or {}, self.resource_prefix)
                for row in rows
            ),
            self.clock.now(),
        )

    def live_runs(self) -> list[str]:
        """Keys of the suanli runs Ray has pending or running (its own job list)."""
        return sorted(
            str(job["submission_id"])
            for job in self.list_jobs()
            if job.get("status") in ("PENDING", "RUNNING")
            and str(job.get("submission_id") or "").startswith("suanli-")
        )

    def list_jobs(self) -> list[dict[str, Any]]:
        """Every job Ray knows (its own accounting), as the Jobs API lists them."""
        jobs = self._json(self._call("GET", "/api/jobs/"), "jobs").get("data")
        return [j for j in jobs if isinstance(j, dict)] if isinstance(jobs, list) else []

    def close(self) -> None:
        self._http.close()

    # plumbing --------------------------------------------------------------------------
    def _info(self, key: str) -> dict[str, Any] | None:
        response = self._call("GET", f"/api/jobs/{key}")
        if response.status_code == 404:
            return None
        return self._json(response, key)

    def _call(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        try:
            return self._http.request(method, path, **kwargs)
        except httpx.HTTPError as exc:
            raise EngineFailure(
                engine=self.name, detail=f"{self.endpoint} did not answer: {exc}"
            ) from exc

    def _json(self, response: httpx.Response, what: str) -> dict[str, Any]:
        if response.status_code != 200:
            raise EngineFailure(
                engine=self.name,
                detail=f"{what}: HTTP {response.status_code}: {_last_line(response.text)}",
            )
        try:
            data = response.json()
        except ValueError as exc:
            raise EngineFailure(engine=self.name, detail=f"{what}: not JSON") from exc
        return data if isinstance(data, dict) else {"data": data}


def run_status(info: dict[str, Any]) -> RunStatus:
    """Ray's job info (GET /api/jobs/ID) as a suanli run status."""
    state = str(info.get("status", ""))
    started, finished = _ms(info.get("start_time")), _ms(info.get("end_time"))
    if state == "PENDING":
        return RunStatus(RunState.PENDING)
    if state == "RUNNING":
        # Ray's start_time is when it accepted the job, pending included: let the
        # reconciler stamp the start when it first sees the run going.
        return RunStatus(RunState.RUNNING)
    if state == "SUCCEEDED":
        return RunStatus(RunState.SUCCEEDED, 0, None, started, finished)
    if state == "STOPPED":
        return RunStatus(RunState.CANCELLED, None, None, started, finished)
    if state != "FAILED":
        detail = f"unknown Ray job status {state!r}"
        return RunStatus(RunState.LOST, reason=Reason("reason_lost", {"detail": detail}))
    error = str(info.get("error_type") or "")
    message = _last_line(str(info.get("message") or ""))
    if error in _LOST:
        return RunStatus(
            RunState.LOST, None, Reason("reason_lost", {"detail": message}), started, finished
        )
    if error in _REFUSED:
        reason = Reason("reason_dispatch_failed", {"detail": message})
        return RunStatus(RunState.FAILED, None, reason, started, finished)
    code = info.get("driver_exit_code")
    exit_code = int(code) if isinstance(code, int) else None
    if exit_code in TIMEOUT_EXITS and _ran_out(info, started, finished):
        limit = dt.timedelta(seconds=int((info.get("metadata") or {})["suanli_time_limit_s"]))
        reason = Reason("reason_time_limit", {"limit": str(limit)})
        return RunStatus(RunState.FAILED, exit_code, reason, started, finished)
    return RunStatus(RunState.FAILED, exit_code, None, started, finished)


def _ran_out(info: dict[str, Any], started: dt.datetime | None, end: dt.datetime | None) -> bool:
    """Whether the run lasted its whole time limit (so ``timeout`` ended it, not the job)."""
    limit = (info.get("metadata") or {}).get("suanli_time_limit_s")
    if started is None or end is None or not str(limit or "").isdigit():
        return False
    return (end - started).total_seconds() >= int(str(limit))


def _ms(value: Any) -> dt.datetime | None:
    if not isinstance(value, int | float) or value <= 0:
        return None
    return dt.datetime.fromtimestamp(value / 1000, tz=dt.UTC)


def _last_line(text: str) -> str:
    """The gist of a Ray error body (often a whole traceback): its last non-empty line."""
    lines = [line.strip() for line in text.strip().splitlines() if line.strip(" .")]
    return (lines[-1] if lines else text.strip())[:_MAX_DETAIL]


_RAY_BUILTIN = {"CPU", "GPU", "TPU", "memory", "object_store_memory", ""}
_RAY_BUILTIN_PREFIXES = ("node:", "accelerator_type:")


def _node(row: dict[str, Any], used: dict[str, Any], prefix: str) -> NodeInventory:
    """One row of the State API's node list, with its [used, total] usage row."""
    total = {str(k): float(v) for k, v in (row.get("resources_total") or {}).items()}

    def free(name: str) -> float:
        pair = used.get(name) or used.get(_dashboard_key(name)) or [0.0]
        return max(total.get(name, 0.0) - float(pair[0]), 0.0)

    accelerators = [n for n in total if n.startswith(prefix) and _is_accelerator(n)]
    state = str(row.get("state") or "UNKNOWN")
    mib = 1024**2
    return NodeInventory(
        name=str(row.get("node_name") or row.get("node_id") or "?"),
        state=state,
        available=state == "ALIVE",
        cpus=int(total.get("CPU", 0)),
        free_cpus=int(free("CPU")),
        memory_mb=int(total.get("memory", 0) / mib),
        free_memory_mb=int(free("memory") / mib),
        accelerators={name: int(total[name]) for name in accelerators},
        free_accelerators={name: int(free(name)) for name in accelerators},
    )


def _is_accelerator(name: str) -> bool:
    return name not in _RAY_BUILTIN and not name.startswith(_RAY_BUILTIN_PREFIXES)


def _dashboard_key(name: str) -> str:
    # The dashboard's cluster status renames snake_case keys to camelCase ("GPU_H100" ->
    # "GPUH100"); names without "_" (suanli's default) come through unchanged.
    first, *rest = name.split("_")
    return first + "".join(part.title() for part in rest)
