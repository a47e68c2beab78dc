"""Which nodes of a pool a job gets: the packing core (``scheduler.packing``) behind the live
scheduler.

A job asks each of its ``nodes`` nodes for the same thing, a *node request* (accelerator
slots and the share of each, CPUs, memory). A gang takes distinct nodes, all in one pool or
none. Within a pool the nodes are chosen one rank at a time by a packing policy (suanli's
``default``, fragmentation-aware) against the workload the queue says is coming, so the
pool stays able to serve the next requests: a whole 8-card node is not cut for a 1-card job
while a half-used one can take it.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from operator import attrgetter, is_

import numpy as np

from suanli.domain.jobs import Job, NodeAssignment
from suanli.scheduler.packing import (
    MILLI,
    POLICIES,
    ClusterState,
    NodeSpec,
    PackingOptions,
    PackingPolicy,
    PodRequest,
    PodShape,
    PolicyContext,
    TargetWorkload,
)
from suanli.scheduler.packing.base import TIE_TOLERANCE
from suanli.scheduler.packing.fgd import SuanliDefault
from suanli.scheduler.snapshot import NodeState, PoolState, Snapshot

DEFAULT_PACKING = "default"
MIB_PER_GB = 1024
CPU_MILLI = 1000


@dataclass(frozen=True, slots=True)
class NodeRequest:
    """What a job needs on each of its nodes, and how many such nodes (a gang)."""

    accelerators: int  # slots; a shared accelerator counts as one
    share_milli: int  # thousandths of each slot: 1000 for whole accelerators
    cpus: int
    memory_gb: int
    nodes: int

    @classmethod
    def of(cls, job: Job) -> NodeRequest:
        spec = job.spec
        res = spec.resources
        return cls(
            spec.accelerators_per_node, spec.share_milli, res.cpus, res.memory_gb, res.nodes
        )

    def pod(self) -> PodRequest:
        """One rank of the job as the packing core sees it (any GPU model of the pool)."""
        return PodRequest(
            "",
            self.cpus * CPU_MILLI,
            self.memory_gb * MIB_PER_GB,
            self.accelerators,
            self.share_milli if self.accelerators else 0,
        )


def expected_workload(queue: Iterable[Job]) -> TargetWorkload:
    """The mix of node requests the queue holds: what the pools should stay able to serve."""
    return workload_of((job, 1) for job in queue)


def workload_of(jobs: Iterable[tuple[Job, int]]) -> TargetWorkload:
    """``expected_workload`` of a queue given as (job, how many jobs like it)."""
    # Count by the few fields a node request reads first: 100,000 queued jobs come in a
    # few dozen shapes.
    by_fields: Counter[tuple[float, int, int]] = Counter()
    for job, times in jobs:
        res = job.spec.resources
        acc = res.accelerator
        by_fields[(acc.count if acc else 0, res.cpus, res.memory_gb)] += res.nodes * times
    # The workload is a function of these counts alone (whatever their order): cycles with
    # the same mix (most cycles) share one.
    mix = frozenset(by_fields.items())
    found = _WORKLOADS.get(mix)
    if found is None:
        if len(_WORKLOADS) >= _WORKLOADS_KEPT:
            _WORKLOADS.clear()
        found = _WORKLOADS[mix] = _workload(by_fields)
    return found


# Workloads by their mix of node requests: a memo, bounded; no decision depends on it.
_WORKLOADS: dict[frozenset[tuple[tuple[float, int, int], int]], TargetWorkload] = {}
_WORKLOADS_KEPT = 4096


def _workload(by_fields: Counter[tuple[float, int, int]]) -> TargetWorkload:
    counts: Counter[PodShape] = Counter()
    for (count, cpus, memory), n in by_fields.items():
        if count >= 1:
            request = NodeRequest(int(count), MILLI, cpus, memory, 1)
        else:  # a share of one accelerator, or none
            request = NodeRequest(1 if count else 0, round(count * MILLI), cpus, memory, 1)
        counts[request.pod().shape] += n
    total = sum(counts.values())
    if not total:
        return TargetWorkload((), ())
    ordered = sorted(counts.items(), key=lambda kv: (-kv[1], repr(kv[0])))
    return TargetWorkload(tuple(s for s, _ in ordered), tuple(c / total for _, c in ordered))


class NodeStates:
    """Node states (free GPU thousandths, CPU, memory) numbered once: a row keeps its
    node's number, and growths are remembered by it (hashing two integers instead of a
    node's every GPU). The number says nothing of the state; only equal numbers matter."""

    def __init__(self) -> None:
        self._numbers: dict[tuple[tuple[int, ...], int, int], int] = {}

    def __len__(self) -> int:
        return len(self._numbers)

    def number(self, gpu: list[int], cpu: int, memory: int) -> int:
        key = (tuple(gpu), cpu, memory)
        found = self._numbers.get(key)
        if found is None:
            found = self._numbers[key] = len(self._numbers)
        return found


class Growths:
    """Fragmentation growth and GPU slot by pod and node state, for the pools of one
    accelerator model and one workload: pods are numbered here, node states in
    ``states`` (which memos of other workloads may share: rows keep their numbers then)."""

    def __init__(self, states: NodeStates | None = None) -> None:
        self.scores: dict[int, dict[int, tuple[float, int]]] = {}  # pod -> state -> score
        self.states = NodeStates() if states is None else states
        self._pods: dict[PodRequest, int] = {}

    def __len__(self) -> int:
        """How many node states are numbered."""
        return len(self.states)

    def state(self, gpu: list[int], cpu: int, memory: int) -> int:
        return self.states.number(gpu, cpu, memory)

    def pod(self, pod: PodRequest) -> int:
        found = self._pods.get(pod)
        if found is None:
            found = self._pods[pod] = len(self._pods)
            self.scores[found] = {}
        return found


@dataclass
class NodeRows:
    """What placement derives from one pool's nodes (free GPU thousandths padded to the
    node's width, CPU and memory in the packing core's units, whole free slots, largest
    free share, node state number), kept from one cycle to the next: a node that did not
    change (the same object, the same ``NodeState.changes``) keeps its row."""

    nodes: list[NodeState]  # the very list the rows were derived from
    seen: list[tuple[NodeState, int]] = field(default_factory=list)  # per node: it, changes
    gpu: list[list[int]] = field(default_factory=list)
    cpu: list[int] = field(default_factory=list)
    memory: list[int] = field(default_factory=list)
    whole: list[int] = field(default_factory=list)
    most: list[int] = field(default_factory=list)
    state: list[int] = field(default_factory=list)
    states: NodeStates | None = None  # the numbering ``state`` is in
    names: list[str] = field(default_factory=list)
    # The nodes and the sum of their ``changes`` when last followed: a pool none of whose
    # nodes changed (most pools, most ticks) is known so without a walk over its nodes.
    last: list[NodeState] = field(default_factory=list)
    total: int = -1
    # The pool's log of touched nodes (``PoolState.touched``) and how far it was read.
    log: list[int] | None = None
    read: int = 0

    def follow(self, width: int, memo: Growths, touched: list[int] | None = None) -> None:
        """Derive the rows of the nodes that changed (all of them the first time), and
        number every node's state in ``memo``'s numbering when the rows were numbered in
        another.

        ``touched``: the pool's log of changed nodes; when the sum of the nodes' changes
        grew by exactly the entries logged since the last follow, every change was logged
        (each counts one), and only the logged nodes are derived again."""
        nodes = self.nodes
        total = sum(map(_CHANGES, nodes))  # counters only grow: equal sums, none moved
        if memo.states is self.states:
            if total == self.total and self.last == nodes:
                self.log, self.read = touched, len(touched) if touched is not None else 0
                return  # every node the same (or equal) and unchanged
            if (
                touched is not None
                and touched is self.log
                and total - self.total == len(touched) - self.read
                and len(self.last) == len(nodes)
                and all(map(is_, self.last, nodes))
            ):
                for i in sorted(set(touched[self.read :])):
                    self._derive(i, nodes[i], width, memo)
                self.read, self.total = len(touched), total
                return
        self._follow(width, memo)
        self.last, self.total = list(nodes), total
        self.log, self.read = touched, len(touched) if touched is not None else 0

    def _follow(self, width: int, memo: Growths) -> None:
        if len(self.seen) != len(self.nodes):
            n = len(self.nodes)
            self.seen = [(node, -1) for node in self.nodes]  # -1: derived from nothing yet
            self.gpu = [[] for _ in range(n)]
            self.cpu, self.memory, self.whole, self.most = [0] * n, [0] * n, [0] * n, [0] * n
            self.state = [0] * n
            self.states = None
        renumber = self.states is not memo.states
        self.states = memo.states
        seen = self.seen
        named = len(self.names) == len(self.nodes)
        for i, node in enumerate(self.nodes):
            was, changes = seen[i]
            if was is node and changes == node.changes:
                if renumber:
                    self.state[i] = memo.state(self.gpu[i], self.cpu[i], self.memory[i])
                continue
            named = named and was is node
            self._derive(i, node, width, memo)
        if not named:
            self.names = [n.name for n in self.nodes]

    def _derive(self, i: int, node: NodeState, width: int, memo: Growths) -> None:
        self.seen[i] = (node, node.changes)
        free = node.free_milli
        gpu = self.gpu[i] = free[:width] + [0] * (width - len(free))
        cpu = self.cpu[i] = node.free_cpus * CPU_MILLI
        memory = self.memory[i] = node.free_memory_gb * MIB_PER_GB
        self.whole[i] = gpu.count(MILLI)
        self.most[i] = max(gpu, default=0)
        self.state[i] = memo.state(gpu, cpu, memory)


_CHANGES = attrgetter("changes")


# Rows kept from one cycle to the next by the node list they were derived from (the
# followed snapshot keeps its pools and their node lists; a rebuilt one makes new lists,
# which find nothing here). A memo, bounded: no decision depends on it.
_ROWS: dict[int, NodeRows] = {}
_ROWS_KEPT = 1024  # node lists


def node_rows(state: PoolState, memo: Growths) -> NodeRows:
    """``state``'s nodes' rows, derived again only for the nodes that changed."""
    found = _ROWS.get(id(state.nodes))
    if found is None or found.nodes is not state.nodes:
        if len(_ROWS) >= _ROWS_KEPT:
            _ROWS.clear()
        found = _ROWS[id(state.nodes)] = NodeRows(state.nodes)
    # ClusterState's columns
    found.follow(max(1, state.pool.accelerators_per_node), memo, state.touched)
    return found


class PoolNodes:
    """The free capacity of one pool's nodes during one cycle, and the policy that packs them.

    Built from the snapshot (never changing it); ``take`` only ever removes capacity, so a
    request that does not fit now will not fit later in the same cycle.

    With the ``default`` policy and no seed, nodes are chosen exactly as
    ``packing.SuanliDefault.choose`` would (least fragmentation growth, then least left
    over, then the first node), but over plain Python lists with the growth remembered per
    node state: pools have tens of nodes, which NumPy handles no faster than Python, and
    nodes of one pool keep passing through the same states. The packing core computes
    every growth it has not seen. Other policies run through the packing core as they are.
    """

    def __init__(
        self,
        state: PoolState,
        workload: TargetWorkload,
        packing: str = DEFAULT_PACKING,
        seed: int | None = None,
        memo: Growths | None = None,
        options: PackingOptions | None = None,
    ) -> None:
        """``memo`` may be shared by pools of one accelerator model in one cycle: the
        growth of a node state depends only on the state, the model and the workload.
        ``options``: the fleet's configured packing options (``Fleet.packing``)."""
        pool = state.pool
        self._pool = pool
        self._memo = Growths() if memo is None else memo
        rows = node_rows(state, self._memo)
        self.names = rows.names  # the rows' own list: read only
        self._cluster: ClusterState | None = None  # built when the packing core is asked
        ctx = PolicyContext(
            workload, seed or 0, random_ties=seed is not None, options=options or PackingOptions()
        )
        self.policy: PackingPolicy = POLICIES[packing](ctx)
        # The mirror follows FGD's ranking; a spreading default goes through the core.
        self._mirror = (
            isinstance(self.policy, SuanliDefault) and seed is None and not self.policy.spreads
        )
        self._stale: set[int] = set()  # nodes whose ClusterState row lags the lists
        # Copies of the pool's rows; a node's GPU list is shared until this cycle changes
        # it (``_place``, ``release`` copy it first).
        self._gpu = list(rows.gpu)
        self._cpu = list(rows.cpu)
        self._memory = list(rows.memory)
        # Per node: whole free slots and the largest free share, kept with the lists.
        self._whole = list(rows.whole)
        self._most = list(rows.most)
        self._state = list(rows.state)
        self._range = range(len(self._gpu))
        self._cpu_scale = max(1, pool.cpus_per_node * CPU_MILLI)
        self._gpu_scale = max(1, pool.accelerators_per_node) * MILLI
        self._pods: dict[NodeRequest, tuple[PodRequest, int]] = {}

    @property
    def cluster(self) -> ClusterState:
        """The pool's nodes as the packing core reads them, built on first use: most
        cycles place from the remembered growths alone and never need it."""
        if self._cluster is None:
            pool = self._pool
            spec = (
                pool.cpus_per_node * CPU_MILLI,
                pool.memory_gb_per_node * MIB_PER_GB,
                pool.accelerators_per_node,
                pool.accelerator or "",
            )
            cluster = ClusterState([NodeSpec(name, *spec) for name in self.names])
            cluster.gpu_free[:, :] = self._gpu
            cluster.cpu_free[:] = self._cpu
            cluster.memory_free[:] = self._memory
            cluster.gpu_used_milli = cluster.gpu_total_milli - int(cluster.gpu_free.sum())
            cluster.version += 1  # as set_free on each node
            self._cluster = cluster
            self._stale.clear()  # built from the lists as they are now
        return self._cluster

    def room(self, request: NodeRequest) -> int:
        """How many nodes could take one rank of ``request`` now."""
        return len(self._candidates(self._pod(request)[0]))

    def take(self, request: NodeRequest) -> tuple[NodeAssignment, ...] | None:
        """Place every rank on its own node, or nothing when fewer nodes have room."""
        pod, pod_id = self._pod(request)
        candidates = self._candidates(pod)
        if len(candidates) < request.nodes:
            return None
        # Ranks of a gang never share a node, and a rank on one node does not change what
        # fits on another: the nodes with room now are enough for the whole gang.
        chosen: list[tuple[int, tuple[int, ...]]] = []
        for _ in range(request.nodes):
            node, slots = self._choose(pod, pod_id, candidates)
            self._place(pod, node, slots)
            chosen.append((node, slots))
            candidates.remove(node)
        if len(chosen) > 1:
            chosen.sort()
        names = self.names
        return tuple([NodeAssignment(names[n], slots) for n, slots in chosen])

    def take_on(self, request: NodeRequest, nodes: list[int]) -> tuple[NodeAssignment, ...] | None:
        """Place one rank on each of ``nodes`` (indices into the pool's nodes), the
        fullest accelerators first, or nothing when one of them has no room."""
        pod, _ = self._pod(request)
        candidates = set(self._candidates(pod))
        if len(set(nodes)) != request.nodes or not candidates.issuperset(nodes):
            return None
        chosen = []
        for node in sorted(nodes):
            slots = self._tightest(pod, node)
            self._place(pod, node, slots)
            chosen.append(NodeAssignment(self.names[node], slots))
        return tuple(chosen)

    def release(self, request: NodeRequest, taken: tuple[NodeAssignment, ...]) -> None:
        """Give back what ``take`` gave for ``request`` (a batch step moving a job)."""
        pod = self._pod(request)[0]
        index = {name: i for i, name in enumerate(self.names)}
        for assignment in taken:
            node = index[assignment.node]
            self._cpu[node] += pod.cpu_milli
            self._memory[node] += pod.memory_mib
            gpu = self._gpu[node] = list(self._gpu[node])  # the pool's rows share the old one
            for s in assignment.slots:
                gpu[s] += pod.gpu_milli
            self._refresh(node)

    def _pod(self, request: NodeRequest) -> tuple[PodRequest, int]:
        found = self._pods.get(request)
        if found is None:
            pod = request.pod()
            found = self._pods[request] = (pod, self._memo.pod(pod))
        return found

    def _candidates(self, pod: PodRequest) -> list[int]:
        cpu, memory, gpus, milli = pod.cpu_milli, pod.memory_mib, pod.gpus, pod.gpu_milli
        cpus, memories = self._cpu, self._memory
        if not gpus:
            return [
                i
                for i, c, m in zip(self._range, cpus, memories, strict=True)
                if c >= cpu and m >= memory
            ]
        if milli >= MILLI:  # whole GPUs: slots with nothing taken
            return [
                i
                for i, w, c, m in zip(self._range, self._whole, cpus, memories, strict=True)
                if w >= gpus and c >= cpu and m >= memory
            ]
        return [  # a share: one GPU with room
            i
            for i, b, c, m in zip(self._range, self._most, cpus, memories, strict=True)
            if b >= milli and c >= cpu and m >= memory
        ]

    def _choose(
        self, pod: PodRequest, pod_id: int, candidates: list[int]
    ) -> tuple[int, tuple[int, ...]]:
        if not self._mirror:
            self._sync(candidates)
            placement = self.policy.choose(self.cluster, pod, np.array(candidates, dtype=np.intp))
            return placement.node, placement.gpu_slots
        # Nodes in the same state score the same, and ties go to the first node: score
        # only the first node of each state (most nodes of a pool share a few states).
        known, state = self._memo.scores[pod_id], self._state
        firsts: dict[int, int] = {}
        for n in candidates:
            firsts.setdefault(state[n], n)
        if len(firsts) == 1:
            node = candidates[0]
            if pod.shares_gpu:
                score = known.get(state[node]) or self._growth_of(pod, pod_id, node)
                return node, (score[1],)
            return node, self._tightest(pod, node)
        candidates = list(firsts.values())
        scores = [known.get(state[n]) or self._growth_of(pod, pod_id, n) for n in candidates]
        low = min([g for g, _ in scores]) + TIE_TOLERANCE
        tied = [k for k, (g, _) in enumerate(scores) if g <= low]
        if len(tied) > 1:  # the policy's tie-break: least left over after the pod
            left = [self._leftover(pod, candidates[k]) for k in tied]
            low = min(left) + TIE_TOLERANCE
            tied = [k for k, x in zip(tied, left, strict=True) if x <= low]
        best = tied[0]
        node = candidates[best]
        if pod.shares_gpu:
            return node, (scores[best][1],)
        return node, self._tightest(pod, node)

    def _growth_of(self, pod: PodRequest, pod_id: int, node: int) -> tuple[float, int]:
        """Ask the packing core for a growth not seen yet, and remember it."""
        self._sync([node])
        assert isinstance(self.policy, SuanliDefault)  # noqa: S101 - set with _mirror
        growth, slot = self.policy.growth(self.cluster, pod, np.array([node], dtype=np.intp))
        found = (float(growth[0]), int(slot[0]))
        self._memo.scores[pod_id][self._state[node]] = found
        return found

    def _leftover(self, pod: PodRequest, node: int) -> float:
        # packing.simple.leftover_score, for one node, in the same float operations.
        cpu_left = self._cpu[node] - pod.cpu_milli
        gpu_left = sum(self._gpu[node]) - pod.gpu_request_milli
        return 0.5 * cpu_left / self._cpu_scale + 0.5 * gpu_left / self._gpu_scale

    def _tightest(self, pod: PodRequest, node: int) -> tuple[int, ...]:
        # ClusterState.tightest_slots: the fullest GPUs that still fit, lowest slot first.
        if not pod.gpus:
            return ()
        free = self._gpu[node]
        fitting = sorted(
            (s for s, m in enumerate(free) if m >= pod.gpu_milli), key=free.__getitem__
        )
        return tuple(fitting[: pod.gpus])

    def _place(self, pod: PodRequest, node: int, slots: tuple[int, ...]) -> None:
        self._cpu[node] -= pod.cpu_milli
        self._memory[node] -= pod.memory_mib
        gpu = self._gpu[node] = list(self._gpu[node])  # the pool's rows share the old one
        for s in slots:
            gpu[s] -= pod.gpu_milli
        self._refresh(node)

    def _refresh(self, node: int) -> None:
        gpu = self._gpu[node]
        self._whole[node] = gpu.count(MILLI)
        self._most[node] = max(gpu, default=0)
        self._state[node] = self._memo.state(gpu, self._cpu[node], self._memory[node])
        self._stale.add(node)

    def _sync(self, nodes: list[int]) -> None:
        for n in nodes:
            if n in self._stale:
                self.cluster.set_free(n, self._gpu[n], self._cpu[n], self._memory[n])
                self._stale.discard(n)


class CycleNodes:
    """Node-level state of the pools a cycle touches, built when first asked for."""

    def __init__(
        self, snapshot: Snapshot, packing: str, workload: TargetWorkload | None = None
    ) -> None:
        self._snapshot = snapshot
        self._packing = packing
        self._workload = expected_workload(snapshot.queue) if workload is None else workload
        self.pools: dict[int, PoolNodes] = {}
        self._memos: dict[str | None, Growths] = {}

    def get(self, index: int) -> PoolNodes:
        nodes = self.pools.get(index)
        if nodes is None:
            snap = self._snapshot
            state = snap.pools[index]
            memo = self._memos.get(state.pool.accelerator)
            if memo is None:
                memo = self._memos[state.pool.accelerator] = kept_growths(
                    snap, state.pool.accelerator, self._workload, self._packing
                )
            nodes = PoolNodes(
                state, self._workload, self._packing, snap.seed, memo, snap.fleet.packing
            )
            self.pools[index] = nodes
        return nodes


# Growths kept from one cycle to the next, by what a growth depends on (the fleet, the
# accelerator model, the expected workload, the packing policy and its options): a queue
# keeps its mix of shapes over many cycles while pools pass through the same node states,
# and a growth not seen yet costs a call into the packing core. Only without a seed (a seed
# breaks ties at random). A memo, bounded: no state a decision depends on.
_GROWTHS: dict[tuple[object, ...], tuple[object, Growths]] = {}
_GROWTHS_KEPT = 256  # keys (model x workload x packing)
_STATES_KEPT = 1 << 16  # node states numbered before the numbering (and its memos) start over
# The numbering every kept memo shares: when the workload changes, the rows a new memo
# reads keep their numbers (none is numbered again).
_STATES = NodeStates()


def kept_growths(
    snapshot: Snapshot, model: str | None, workload: TargetWorkload, packing: str
) -> Growths:
    """The growths memo for ``model``'s pools this cycle, reused from an earlier cycle of the
    same fleet, workload and packing (a fresh one when there is a seed)."""
    global _STATES  # noqa: PLW0603 - a memo's numbering, replaced when full
    if snapshot.seed is not None:
        return Growths()
    if len(_STATES) >= _STATES_KEPT:
        _STATES = NodeStates()
        _GROWTHS.clear()  # their growths are by the old numbers
    fleet = snapshot.fleet
    key = (id(fleet), model, workload, packing, fleet.packing)
    found = _GROWTHS.get(key)
    if found is not None and found[0] is fleet:
        return found[1]
    if len(_GROWTHS) >= _GROWTHS_KEPT:
        _GROWTHS.clear()
    memo = Growths(_STATES)
    _GROWTHS[key] = (fleet, memo)  # the fleet kept with it: its id is not reused meanwhile
    return memo
