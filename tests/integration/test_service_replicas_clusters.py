"""Service replicas on the real clusters the scripts start (scripts/slurm-up.sh,
scripts/ray-up.sh), serving the real llama.cpp server (scripts/inference.sh) on the tiny model
the project builds, through the gateway of the real `suanli up`.

On Slurm and on Ray: the scheduler places the replica there, the engine reports its address,
readiness is probed, a chat completion through the gateway answers with real tokens, they are
metered, and scaling to 0 or deleting the service drains the replica and leaves the cluster no
job. Failover: the Slurm replica's server is killed while slurmctld is down; once the cluster
is given up the replica is replaced on the other cluster (the local engine) and the gateway
answers again; when Slurm comes back nothing of the old replica runs there.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import logging
import os
import signal
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from suanli.domain.clock import SystemClock
from suanli.engines.base import RunState
from suanli.engines.ray import RayEngine
from tests.conftest import wait_until
from tests.e2e.server import Server, kill_leftover_runs
from tests.inference import PYTHON, build_model, llama_or_skip
from tests.rayhead import node_hosts, require_ray
from tests.slurm import SlurmCluster, fleet_yaml, slurm_cluster

log = logging.getLogger(__name__)
PUBLISHER, CALLER = "haidian-vision", "demo"
TIMEOUT_S = 180.0  # generous: only a failing test waits this long
GRACE_S = 3  # `suanli up --cluster-grace`: a silent cluster given up after this long

SLURM_ONLY = """
providers:
  - name: hpc-center
    clusters:
      - name: slurm-bj
        region: beijing
        engine: {{type: slurm, options: {{conf: "{conf}"}}}}
        pools:
          - {{name: h100, accelerator: H100, nodes: {nodes}, accelerators_per_node: {gpus},
             cpus_per_node: 16, memory_gb_per_node: 16, price_per_accelerator_hour: "5.00"}}
"""
RAY_ONLY = """
providers:
  - name: ai-cloud
    clusters:
      - name: ray-1
        region: guizhou
        engine: {{type: ray, endpoint: "{url}"}}
        pools:
          - {{name: h100, accelerator: H100, nodes: 1, accelerators_per_node: 8,
             cpus_per_node: 2, memory_gb_per_node: 16, price_per_accelerator_hour: "15.00"}}
"""


def service_spec(path: Path, model: str, least: int) -> Path:
    """The tiny model on one (emulated) H100: on a fleet of Slurm (5 yuan) and the local
    engine (20 yuan) the cheaper Slurm is chosen first. ``least``: replicas.min."""
    path.write_text(
        f"""name: tiny-llama
resources:
  accelerator: {{model: H100, count: 1}}
  cpus: 1
  memory_gb: 1
run: >-
  exec {PYTHON} -m llama_cpp.server --model "$MODEL_PATH"
  --host "$HOST" --port "$PORT" --n_ctx 512 --n_threads 1
env:
  MODEL_PATH: {model}
readiness: {{path: /v1/models, timeout_s: 150, period_s: 0.5}}
replicas: {{min: {least}, max: 1}}
rollout: {{drain_s: 0}}
model:
  served_name: tiny-llama
  base_model: tiny-llama-random
  publisher: suanli tests
  domestic: true
  input_price_per_million_yuan: "1.00"
  output_price_per_million_yuan: "2.00"
  visibility: public
"""
    )
    return path


def chat(prompt: str) -> dict[str, Any]:
    return {
        "model": "tiny-llama",
        "messages": [{"role": "user", "content": prompt}],
        "max_tokens": 8,
        "temperature": 0,
        "seed": 7,
    }


class Deployment:
    """The tiny model deployed on ``server`` by the publisher, and the caller's API key."""

    def __init__(self, server: Server, tmp_path: Path, least: int) -> None:
        self.server = server
        model = str(build_model()["link"])
        done = server.cli(
            "serve", "up", str(service_spec(tmp_path / "svc.yaml", model, least)),
            "--tenant", PUBLISHER, "--json",
        )  # fmt: skip
        assert done.returncode == 0, done.stderr
        server.cli("org", "add", CALLER, "--kind", "tenant")  # already known to some servers
        made = server.cli("apikey", "create", "clusters", "--tenant", CALLER, "--json")
        assert made.returncode == 0, made.stderr
        self.key = {"Authorization": f"Bearer {json.loads(made.stdout)['key']}"}

    def service(self) -> dict[str, Any] | None:
        with self.server.http() as client:
            found = client.get("/api/v1/services/tiny-llama", params={"tenant": PUBLISHER})
        if found.status_code == 404:
            return None
        found.raise_for_status()
        return dict(found.json())

    def ready_on(self, cluster: str) -> dict[str, Any]:
        """The service's ready replica on ``cluster``, once there is one."""

        def probe() -> dict[str, Any] | None:
            service = self.service() or {"replicas": []}
            ready = [
                r
                for r in service["replicas"]
                if r["status"] == "ready" and r["cluster"] == cluster
            ]
            return ready[0] if ready else None

        return wait_until(probe, timeout=TIMEOUT_S, every=0.5)

    def ask(self, prompt: str, timeout: float = TIMEOUT_S) -> httpx.Response:
        with httpx.Client(base_url=self.server.url, trust_env=False, timeout=timeout) as client:
            return client.post("/v1/chat/completions", json=chat(prompt), headers=self.key)

    def job(self, job_id: str) -> dict[str, Any]:
        return self.server.job(job_id)

    def metered(self, requests: int) -> dict[str, Any]:
        def probe() -> dict[str, Any] | None:
            done = self.server.cli("usage", "--tenant", CALLER, "--json")
            assert done.returncode == 0, done.stderr
            seen = dict(json.loads(done.stdout))
            return seen if seen["requests"] == requests else None

        return wait_until(probe, timeout=TIMEOUT_S, every=1.0)

    def scale(self, replicas: int) -> None:
        done = self.server.cli(
            "serve", "scale", "tiny-llama", str(replicas), "--tenant", PUBLISHER
        )
        assert done.returncode == 0, done.stderr

    def delete(self) -> None:
        done = self.server.cli("serve", "delete", "tiny-llama", "--tenant", PUBLISHER)
        assert done.returncode == 0, done.stderr
        wait_until(lambda: self.service() is None, timeout=TIMEOUT_S, every=0.5)


def answers(url: str) -> bool:
    with contextlib.suppress(httpx.HTTPError), httpx.Client(trust_env=False, timeout=2) as c:
        return c.get(url + "/v1/models").status_code == 200
    return False


def served_from_zero(d: Deployment, cluster: str) -> dict[str, Any]:
    """The first chat completion through the gateway, held while the service scales from
    zero, answered by the replica's real server on ``cluster`` (the same request asked of
    the replica directly gives the same tokens), and metered; the replica."""
    assert d.service() is not None
    assert d.service()["replicas"] == []  # type: ignore[index]
    answer = d.ask("算力 调度 on a cluster")
    assert answer.status_code == 200, answer.text
    replica = d.ready_on(cluster)
    usage = answer.json()["usage"]
    assert usage["prompt_tokens"] > 0
    assert usage["completion_tokens"] > 0
    with httpx.Client(trust_env=False, timeout=TIMEOUT_S) as client:
        direct = client.post(
            f"{replica['url']}/v1/chat/completions", json=chat("算力 调度 on a cluster")
        )
    assert direct.json()["usage"] == usage  # the replica's own count
    assert (
        direct.json()["choices"][0]["message"]["content"]
        == answer.json()["choices"][0]["message"]["content"]
    )
    seen = d.metered(1)
    assert seen["prompt_tokens"] == usage["prompt_tokens"]
    assert seen["completion_tokens"] == usage["completion_tokens"]
    return replica


def stopped_when_scaled_to_zero(d: Deployment, replica: dict[str, Any]) -> None:
    d.scale(0)

    def stopped() -> bool:
        service = d.service() or {"replicas": []}
        return any(
            r["id"] == replica["id"] and r["status"] == "stopped" for r in service["replicas"]
        )

    wait_until(stopped, timeout=TIMEOUT_S, every=0.5)
    assert d.job(replica["job_id"])["status"] == "cancelled"
    wait_until(lambda: not answers(replica["url"]), timeout=60)


# --- Slurm -------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def cluster() -> Iterator[SlurmCluster]:
    found = slurm_cluster()
    yield found
    found.start_controller()  # whatever a failed test left behind


@contextlib.contextmanager
def slurm_server(tmp_path: Path, cluster: SlurmCluster, fleet_text: str) -> Iterator[Server]:
    llama_or_skip()
    fleet = tmp_path / "fleet.yaml"
    fleet.write_text(fleet_text)
    running = Server(tmp_path / "data", fleet, ("--cluster-grace", str(GRACE_S)))
    try:
        running.start()
        yield running
    finally:
        cluster.start_controller()
        running.stop()
        root = tmp_path / "data" / "runs" / "slurm-bj"
        for key in [d.name for d in root.iterdir()] if root.exists() else []:
            cluster.cli("scancel", "--name", key)
        kill_leftover_runs(tmp_path / "data")


def live_on_slurm(cluster: SlurmCluster, key: str) -> list[str]:
    return [s for _, s in cluster.jobs_named(key) if s in ("PENDING", "RUNNING", "COMPLETING")]


def test_a_replica_on_slurm_serves_through_the_gateway_and_leaves_no_job(
    tmp_path: Path, cluster: SlurmCluster
) -> None:
    fleet = SLURM_ONLY.format(conf=cluster.conf, nodes=cluster.nodes, gpus=cluster.gpus_per_node)
    with slurm_server(tmp_path, cluster, fleet) as server:
        d = Deployment(server, tmp_path, least=0)
        replica = served_from_zero(d, "slurm-bj")
        key = d.job(replica["job_id"])["engine_key"]
        assert live_on_slurm(cluster, key) == ["RUNNING"]
        assert replica["url"].startswith("http://127.0.0.1:")  # the nodes' NodeAddr

        stopped_when_scaled_to_zero(d, replica)
        wait_until(lambda: live_on_slurm(cluster, key) == [], timeout=60)
        assert [s for _, s in cluster.jobs_named(key)] == ["CANCELLED"]

        d.scale(1)  # back, then deleted: drained, and its job cancelled too
        again = d.ready_on("slurm-bj")
        assert again["id"] != replica["id"]
        other = d.job(again["job_id"])["engine_key"]
        assert d.ask("again").status_code == 200
        d.delete()
        wait_until(lambda: live_on_slurm(cluster, other) == [], timeout=60)
        assert d.job(again["job_id"])["status"] == "cancelled"
        assert not answers(again["url"])


# --- Ray ---------------------------------------------------------------------------------


@pytest.fixture
def ray_server(tmp_path: Path) -> Iterator[tuple[Server, RayEngine]]:
    llama_or_skip()
    url = require_ray()
    fleet = tmp_path / "fleet.yaml"
    fleet.write_text(RAY_ONLY.format(url=url))
    ray = RayEngine(url, SystemClock())  # Ray's own view of the jobs
    running = Server(tmp_path / "data", fleet)
    keys: list[str] = []
    try:
        running.start()
        yield running, ray
    finally:
        with contextlib.suppress(Exception), running.http() as client:
            jobs = client.get("/api/v1/jobs", params={"limit": 500}).json()["jobs"]
            keys = [j["engine_key"] for j in jobs if j.get("engine_key")]
        running.stop()
        for key in keys:
            if not ray.status(key).state.is_final:
                ray.cancel(key)
        ray.close()


@pytest.mark.ray
@pytest.mark.allow_hosts(node_hosts())  # the replica answers at the Ray node's address
def test_a_replica_on_ray_serves_through_the_gateway_and_leaves_no_job(
    ray_server: tuple[Server, RayEngine], tmp_path: Path
) -> None:
    server, ray = ray_server
    d = Deployment(server, tmp_path, least=0)
    replica = served_from_zero(d, "ray-1")
    key = d.job(replica["job_id"])["engine_key"]
    assert ray.status(key).state is RunState.RUNNING

    stopped_when_scaled_to_zero(d, replica)
    assert wait_until(lambda: ray.status(key).state is RunState.CANCELLED, timeout=60)

    d.scale(1)
    again = d.ready_on("ray-1")
    other = d.job(again["job_id"])["engine_key"]
    assert d.ask("again").status_code == 200
    d.delete()
    assert wait_until(lambda: ray.status(other).state is RunState.CANCELLED, timeout=60)
    wait_until(lambda: not answers(again["url"]), timeout=60)


# --- Failover ----------------------------------------------------------------------------


def server_pid(port: int) -> int:
    """The llama.cpp server listening on ``port`` (found by its command line)."""
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        with contextlib.suppress(OSError):
            argv = (proc / "cmdline").read_bytes().split(b"\0")
            if b"llama_cpp.server" in argv and str(port).encode() in argv:
                return int(proc.name)
    raise AssertionError(f"no llama.cpp server on port {port}")


class Caller(threading.Thread):
    """Asks the gateway one chat completion after another until stopped."""

    def __init__(self, ask: Callable[[str], httpx.Response]) -> None:
        super().__init__(daemon=True)
        self.ask = ask
        self.codes: list[int] = []
        self.stop = threading.Event()

    def run(self) -> None:
        while not self.stop.is_set():
            try:
                self.codes.append(self.ask(f"request {len(self.codes)}").status_code)
            except httpx.HTTPError:
                self.codes.append(0)


def test_a_replica_lost_with_its_cluster_is_replaced_on_another_and_the_gateway_answers(
    tmp_path: Path, cluster: SlurmCluster
) -> None:
    with slurm_server(tmp_path, cluster, fleet_yaml(cluster)) as server:
        d = Deployment(server, tmp_path, least=1)
        lost = d.ready_on("slurm-bj")  # the cheaper cluster first
        job = d.job(lost["job_id"])
        assert d.ask("before").status_code == 200

        caller = Caller(d.ask)
        caller.start()
        cluster.kill_controller(saved_after=dt.datetime.fromisoformat(job["started_at"]))
        os.kill(server_pid(int(lost["url"].rsplit(":", 1)[1])), signal.SIGKILL)
        wait_until(lambda: not answers(lost["url"]), timeout=30)

        replaced = d.ready_on("fallback-tj")
        assert replaced["url"].startswith("http://127.0.0.1:")
        counted = len(caller.codes)
        wait_until(lambda: len(caller.codes) >= counted + 5, timeout=TIMEOUT_S)
        caller.stop.set()
        caller.join(timeout=TIMEOUT_S)
        assert caller.codes[counted + 1 :], caller.codes
        # Every request answered: one whose replica died is held until the replacement is
        # ready, then sent there (the gateway's hold; before it, 4-9 of 11-15 were 502).
        assert caller.codes == [200] * len(caller.codes), caller.codes
        log.warning("failover: all %d requests answered", len(caller.codes))
        states = {r["id"]: r["status"] for r in (d.service() or {})["replicas"]}
        assert states[lost["id"]] == "failed"

        # Slurm answers again: the old replica's run is not running there.
        cluster.start_controller()
        wait_until(lambda: live_on_slurm(cluster, job["engine_key"]) == [], timeout=60)
        d.delete()
        assert d.job(replaced["job_id"])["status"] == "cancelled"
        assert not answers(replaced["url"])


@pytest.mark.ray
@pytest.mark.allow_hosts(node_hosts())
def test_a_replica_killed_on_ray_is_replaced_and_the_gateway_answers(
    ray_server: tuple[Server, RayEngine], tmp_path: Path
) -> None:
    server, ray = ray_server
    d = Deployment(server, tmp_path, least=1)
    lost = d.ready_on("ray-1")
    key = d.job(lost["job_id"])["engine_key"]
    caller = Caller(d.ask)
    caller.start()

    os.kill(server_pid(int(lost["url"].rsplit(":", 1)[1])), signal.SIGKILL)  # the node's run

    def replaced() -> dict[str, Any] | None:
        found = d.ready_on("ray-1")
        return found if found["id"] != lost["id"] else None

    successor = wait_until(replaced, timeout=TIMEOUT_S, every=0.5)
    counted = len(caller.codes)
    wait_until(lambda: len(caller.codes) >= counted + 5, timeout=TIMEOUT_S)
    caller.stop.set()
    caller.join(timeout=TIMEOUT_S)
    assert caller.codes[counted + 1 :], caller.codes
    # Every request answered: the one the dead replica lost, and those sent while it was
    # still listed ready, are held until its successor is ready (the gateway's hold).
    assert caller.codes == [200] * len(caller.codes), caller.codes
    log.warning("ray: all %d requests answered", len(caller.codes))
    states = {r["id"]: r["status"] for r in (d.service() or {})["replicas"]}
    assert states[lost["id"]] == "failed"
    assert ray.status(key).state.is_final  # nothing of the lost replica runs on Ray
    d.delete()
    assert wait_until(
        lambda: ray.status(d.job(successor["job_id"])["engine_key"]).state is RunState.CANCELLED,
        timeout=60,
    )
