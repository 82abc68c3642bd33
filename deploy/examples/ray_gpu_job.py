#!/usr/bin/env python3
"""Run one Ray task on GPUs that hotpath has placed for it.

Why this exists: hotpath decides *where* GPU work runs (which Kubernetes node, which K80 devices,
who waits and who is preempted), but it does not run anything itself. Ray runs the work. This
script is the glue a Ray driver needs, written out once so that every team does not rediscover
the protocol:

  1. submit     POST   /v1/gpu/jobs                     -> 201 new job, 200 same idempotencyKey
  2. wait       GET    /v1/gpu/jobs/{id}?waitSeconds=N  long-poll until the job is placed
  3. run        ray.remote(...) pinned to the placed node with NodeAffinitySchedulingStrategy
  4. heartbeat  POST   /v1/gpu/jobs/{id}/heartbeat      every lease/3 while the task runs,
                GET    /v1/gpu/jobs/{id}?waitSeconds=30 alongside, to hear of a preemption at once
  5. complete   POST   /v1/gpu/jobs/{id}/complete       (or DELETE /v1/gpu/jobs/{id} on Ctrl-C)

A 409 LEASE_LOST on a heartbeat (or the job leaving `running`) means the GPUs are no longer ours:
preempted by higher-priority work, cancelled, or the lease ran out. The Ray task is cancelled at
once. If hotpath put the job back in the queue, --follow waits for the next placement and runs
it again; without --follow the re-queued job is cancelled, since nobody would run it.

Only the standard library is used for HTTP. `ray` is imported only on the path that launches
the task, so `--help` and `--dry-run` (no Ray at all: submit, wait, heartbeat for a few seconds,
complete) work on any machine with Python 3.8+.

Exit status: 0 done; 1 the task failed or the job ended (failed, cancelled, preempted);
2 hotpath refused the request (400/401/403/404/422); 3 the lease was lost; 130 interrupted.

See deploy/examples/README.md for how hotpath node names map to Ray node ids.
"""
from __future__ import annotations

import argparse
import json
import logging
import os
import signal
import socket
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Callable, Dict, List, Optional, Tuple

log = logging.getLogger("ray_gpu_job")

Job = Dict[str, Any]

TERMINAL_STATES = {"completed", "failed", "cancelled", "preempted"}
# States in which the job holds GPUs. "running" only shows up when we re-attach to a job (same
# --idempotency-key) whose earlier driver already sent its first heartbeat.
PLACED_STATES = {"placed", "running"}

DEFAULT_LEASE_SECONDS = 30.0
# How long one long-poll may wait. While the job runs: 30 s (hotpath allows up to 60). While it
# waits for a placement: shorter by default (--wait-seconds), see wait_for_placement.
LONG_POLL_SECONDS = 30

EXIT_OK, EXIT_FAILED, EXIT_REFUSED, EXIT_LEASE_LOST, EXIT_INTERRUPTED = 0, 1, 2, 3, 130

# The custom Ray resource / label a worker pod advertises to say which Kubernetes node it is on.
# See "Ray node ids and hotpath node names" in README.md.
NODE_RESOURCE_PREFIXES = ("hotpath-node/", "node:")
NODE_LABEL_KEY = "hotpath-node"


# --------------------------------------------------------------------------------------------
# HTTP: a tiny JSON client over urllib.
# --------------------------------------------------------------------------------------------


class ApiError(Exception):
    """A non-2xx answer from hotpath: `{"error": {"code", "message", ...details}}`."""

    def __init__(self, status: int, body: Dict[str, Any]):
        error = body.get("error") if isinstance(body.get("error"), dict) else {}
        self.status, self.body, self.error = status, body, error
        self.code = str(error.get("code", "HTTP_%d" % status))
        self.message = str(error.get("message", ""))
        super().__init__(f"HTTP {status} {self.code}: {self.message}")

    @property
    def retryable(self) -> bool:
        # 503 GPU_UNAVAILABLE: hotpath's Redis is down. Nothing was decided; try again later.
        return self.status in (502, 503, 504)


class HotpathApi:
    def __init__(self, base_url: str, token: Optional[str], user: Optional[str]):
        self.base_url = base_url.rstrip("/")
        self.headers = {"Accept": "application/json"}
        if token:
            self.headers["Authorization"] = f"Bearer {token}"
        if user:
            # Only honoured when hotpath runs with HOTPATH_AUTH=none (local development).
            self.headers["X-Trino-User"] = user

    def call(self, method: str, path: str, body: Optional[Dict[str, Any]] = None, timeout: float = 15.0) -> Tuple[int, Dict[str, Any]]:
        """One request; returns (status, JSON body) for 2xx, raises ApiError otherwise."""
        headers = dict(self.headers)
        data = None
        if body is not None:  # no Content-Type without a body: hotpath answers 400 to an empty JSON body
            data = json.dumps(body).encode("utf-8")
            headers["Content-Type"] = "application/json"
        req = urllib.request.Request(self.base_url + path, data=data, method=method, headers=headers)
        try:
            with urllib.request.urlopen(req, timeout=timeout) as resp:
                raw = resp.read()
                return resp.status, (json.loads(raw) if raw else {})
        except urllib.error.HTTPError as e:
            raw = e.read()
            try:
                body = json.loads(raw)
            except ValueError:
                body = None
            if not isinstance(body, dict):  # not hotpath's JSON (a proxy's error page, say)
                body = {"error": {"code": "HTTP_%d" % e.code, "message": raw.decode("utf-8", "replace")[:500]}}
            raise ApiError(e.code, body) from None

    def call_with_retry(self, method: str, path: str, body: Optional[Dict[str, Any]] = None, timeout: float = 15.0, attempts: int = 8) -> Tuple[int, Dict[str, Any]]:
        """`call`, retried with exponential back-off on 503 (GPU_UNAVAILABLE) and network errors.

        Only used for requests that are safe to repeat: GETs; the submit, whose idempotencyKey
        makes a repeat return the same job instead of a second one; complete and cancel, which
        hotpath treats as done when the job already ended that way. Not for heartbeats: a late
        heartbeat is worse than the next one on time.
        """
        delay = 1.0
        for i in range(1, attempts + 1):
            try:
                return self.call(method, path, body, timeout)
            except ApiError as e:
                if not e.retryable or i == attempts:
                    raise
                log.warning("hotpath answered %s %s; retrying in %.0fs", e.status, e.code, delay)
            except (urllib.error.URLError, OSError) as e:
                if i == attempts:
                    raise
                log.warning("cannot reach hotpath (%s); retrying in %.0fs", e, delay)
            time.sleep(delay)
            delay = min(delay * 2, 30.0)
        raise AssertionError("unreachable")


def job_path(job_id: str, suffix: str = "") -> str:
    return "/v1/gpu/jobs/" + urllib.parse.quote(job_id, safe="") + suffix


def error_detail(e: ApiError, key: str) -> Optional[str]:
    """hotpath puts details (state, reason) inside the error object; accept them at the top too."""
    value = e.error.get(key, e.body.get(key))
    return None if value is None else str(value)


# --------------------------------------------------------------------------------------------
# The job's life: submit, wait, heartbeat, complete, cancel.
# --------------------------------------------------------------------------------------------


def build_submission(args: argparse.Namespace) -> Dict[str, Any]:
    body: Dict[str, Any] = {
        "tenant": args.tenant,
        "priority": args.priority,
        "idempotencyKey": args.idempotency_key,
        "metadata": {"client": "ray_gpu_job.py", "driverHost": socket.gethostname()},
    }
    if args.gpus is not None:
        body["gpus"] = args.gpus  # whole devices, all on one node
    if args.gpu_milli is not None:
        body["gpuMilli"] = args.gpu_milli  # a share of one device (1000 = all of it)
    if args.gpu_memory_mib is not None:
        body["gpuMemoryMiB"] = args.gpu_memory_mib
    if args.cpu_milli is not None:
        body["cpuMilli"] = args.cpu_milli
    if args.memory_mib is not None:
        body["memoryMiB"] = args.memory_mib
    if args.gpu_model:
        body["gpuModels"] = args.gpu_model
    # No "durationSeconds": with HOTPATH_GPU_EXECUTOR=simulated, hotpath would "run" (heartbeat
    # and complete) a job that gives one itself. This driver does that work.
    return body


def submit(api: HotpathApi, body: Dict[str, Any]) -> Job:
    status, job = api.call_with_retry("POST", "/v1/gpu/jobs", body)
    if status == 201:
        log.info("submitted job %s (idempotency key %s)", job["id"], body["idempotencyKey"])
    else:  # 200: an earlier submission with this key made this job; we re-attach to it
        log.info("re-attached to job %s (state %s): same idempotency key", job["id"], job["state"])
    return job


def wait_for_placement(api: HotpathApi, job_id: str, wait_seconds: int) -> Job:
    """Long-poll until the job holds GPUs or has ended.

    `whileState=queued` makes hotpath answer as soon as the job is not queued, even when that
    happened before the request arrived (a placement right after submit is never missed), or after
    wait_seconds with the job still queued. Keep wait_seconds under the lease TTL
    (HOTPATH_GPU_LEASE_TTL_SECONDS, default 30): the first heartbeat must come within it.
    """
    _, job = api.call_with_retry("GET", job_path(job_id))
    while job["state"] not in PLACED_STATES and job["state"] not in TERMINAL_STATES:
        log.info("job %s is %s; waiting for a placement", job_id, job["state"])
        query = "?waitSeconds=%d&whileState=%s" % (wait_seconds, job["state"])
        _, job = api.call_with_retry("GET", job_path(job_id, query), timeout=wait_seconds + 15)
    return job


def complete(api: HotpathApi, job_id: str, attempt: int, ok: bool, message: str) -> Job:
    """Report the outcome (completed or failed); frees the GPUs. Repeating it is harmless, so
    it is retried. A 409 means the job moved on first (lease lost, cancelled, attempt over)."""
    _, job = api.call_with_retry("POST", job_path(job_id, "/complete"), {"ok": ok, "message": message[:4096], "attempt": attempt})
    return job


def cancel(api: HotpathApi, job_id: str) -> None:
    """DELETE frees the job's GPUs at once (instead of when its lease would run out)."""
    try:
        _, job = api.call_with_retry("DELETE", job_path(job_id), attempts=4)
        log.info("cancelled job %s (state %s)", job_id, job.get("state"))
    except ApiError as e:
        log.warning("cancel of job %s: %s", job_id, e)  # 409 CONFLICT: it had already ended
    except (urllib.error.URLError, OSError) as e:
        log.warning("cancel of job %s: cannot reach hotpath (%s); its lease will run out", job_id, e)


def parse_time(value: Any) -> Optional[float]:
    """An ISO 8601 timestamp (or epoch milliseconds) as epoch seconds."""
    if isinstance(value, (int, float)):
        return value / 1000.0 if value > 1e11 else float(value)
    if isinstance(value, str) and value:
        try:
            return datetime.fromisoformat(value.replace("Z", "+00:00")).astimezone(timezone.utc).timestamp()
        except ValueError:
            return None
    return None


def lease_seconds(lease_expires_at: Any) -> float:
    """Seconds the lease has left; DEFAULT_LEASE_SECONDS when unknown (or clocks disagree)."""
    expires = parse_time(lease_expires_at)
    if expires is None:
        return DEFAULT_LEASE_SECONDS
    left = expires - time.time()
    return left if left > 1.0 else DEFAULT_LEASE_SECONDS


class Lease:
    """Keeps this placement's lease and notices as soon as it is gone. Two daemon threads:

    - heartbeat: POST .../heartbeat {"attempt": n} every lease/3 seconds. The attempt number
      ties the heartbeat to this placement: once hotpath has re-queued and re-placed the job,
      heartbeats of the old attempt answer 409 LEASE_LOST instead of keeping a lease that is
      no longer ours.
    - watch: long-polls GET .../{id}?waitSeconds=30&whileState=running, which answers at once when the job leaves
      `running`. hotpath hands a preempted job's GPUs to the preemptor straight away, so
      without this the work would share them with it until the next heartbeat (up to lease/3).

    Either one, on finding the lease gone, records why, sets `lost` and calls `on_lost` (which
    cancels the Ray task), once.
    """

    def __init__(self, api: HotpathApi, job_id: str, attempt: int, lease_expires_at: Any):
        self.api, self.job_id, self.attempt = api, job_id, attempt
        self.interval = lease_seconds(lease_expires_at) / 3.0
        self.stopped = threading.Event()
        self.lost = threading.Event()
        self.lost_state: Optional[str] = None
        self.lost_reason: Optional[str] = None
        self.on_lost: Optional[Callable[[], None]] = None
        self._once = threading.Lock()

    def start(self) -> None:
        for name, loop in (("hotpath-heartbeat", self._heartbeat_loop), ("hotpath-watch", self._watch_loop)):
            threading.Thread(target=loop, name=name, daemon=True).start()

    def stop(self) -> None:
        self.stopped.set()

    def beat(self) -> bool:
        """One heartbeat. False when the lease is lost; transient errors are logged and ignored
        (the next beat, a third of a lease later, still comes in time)."""
        try:
            _, answer = self.api.call("POST", job_path(self.job_id, "/heartbeat"), {"attempt": self.attempt})
            self.interval = max(1.0, lease_seconds(answer.get("leaseExpiresAt")) / 3.0)
            log.debug("heartbeat: %s, lease until %s", answer.get("state"), answer.get("leaseExpiresAt"))
            return True
        except ApiError as e:
            if e.status == 409 and e.code == "LEASE_LOST":
                self._lose(error_detail(e, "state"), error_detail(e, "reason") or e.message)
                return False
            log.warning("heartbeat failed: %s", e)
        except (urllib.error.URLError, OSError) as e:
            log.warning("heartbeat failed: cannot reach hotpath (%s)", e)
        return True

    def _heartbeat_loop(self) -> None:
        while not self.stopped.wait(self.interval) and self.beat():
            pass

    def _watch_loop(self) -> None:
        # whileState=running: answers at once if the job already left running (preempted, cancelled).
        query = "?waitSeconds=%d&whileState=running" % LONG_POLL_SECONDS
        while not self.stopped.is_set() and not self.lost.is_set():
            try:
                _, job = self.api.call("GET", job_path(self.job_id, query), timeout=LONG_POLL_SECONDS + 15)
            except (ApiError, urllib.error.URLError, OSError) as e:
                log.debug("watch: %s", e)  # the heartbeat still guards the lease
                self.stopped.wait(5.0)
                continue
            if self.stopped.is_set():
                return  # we completed or cancelled it ourselves
            if job.get("state") != "running" or int(job.get("attempt", self.attempt)) != self.attempt:
                self._lose(job.get("state"), job.get("reason") or f"the job is {job.get('state')}, attempt {job.get('attempt')}")

    def _lose(self, state: Optional[str], reason: Optional[str]) -> None:
        with self._once:
            if self.lost.is_set():
                return
            self.lost_state, self.lost_reason = state, reason
            self.lost.set()
        if self.on_lost is not None and not self.stopped.is_set():
            self.on_lost()


# --------------------------------------------------------------------------------------------
# The work. train_step runs on a Ray worker (or is skipped entirely with --dry-run).
# --------------------------------------------------------------------------------------------


def train_step(seconds: float, gpu_memory_mib: Optional[int]) -> Dict[str, Any]:
    """Placeholder for a real training step: matrix multiplies on the GPU for `seconds` when
    torch and a GPU are there, else a sleep. Prints what Ray made visible to it."""
    import os as _os  # imported here: Ray ships this function by value to a worker process
    import socket as _socket
    import time as _time

    import ray as _ray

    visible = _os.environ.get("CUDA_VISIBLE_DEVICES", "<unset>")
    print(f"[task] host={_socket.gethostname()} CUDA_VISIBLE_DEVICES={visible} ray.get_gpu_ids()={_ray.get_gpu_ids()}", flush=True)
    steps = 0
    try:
        import torch  # type: ignore
    except ImportError:
        torch = None
    if torch is not None and torch.cuda.is_available():
        if gpu_memory_mib:
            # A fractional Ray GPU is bookkeeping only: nothing stops a task from using the whole
            # device's memory. Hold this process to the share hotpath accounted for.
            total_mib = torch.cuda.get_device_properties(0).total_memory / (1024 * 1024)
            torch.cuda.set_per_process_memory_fraction(min(1.0, gpu_memory_mib / total_mib))
        a = torch.randn(2048, 2048, device="cuda")
        deadline = _time.time() + seconds
        while _time.time() < deadline:
            a = torch.tanh(a @ a)
            steps += 1
        torch.cuda.synchronize()
    else:
        _time.sleep(seconds)
    return {"host": _socket.gethostname(), "cudaVisibleDevices": visible, "steps": steps}


@dataclass
class Outcome:
    """How one attempt ended: the work finished (ok or not), or the lease was lost."""

    ok: bool = False
    message: str = ""
    lease_lost: bool = False
    state: Optional[str] = None  # hotpath's state when the lease was lost (queued = re-queued)
    reason: Optional[str] = None


def lost_outcome(hb: Lease) -> Outcome:
    return Outcome(lease_lost=True, state=hb.lost_state, reason=hb.lost_reason)


def ray_num_gpus(placement: Dict[str, Any]) -> float:
    """What to ask Ray for: the number of whole devices hotpath placed, or for a share of one
    device the fraction it accounted (milli / 1000). Ray wants whole numbers above 1."""
    gpus = placement.get("gpus") or []
    if not gpus:
        return 0
    milli = gpus[0].get("milli", 1000)
    if len(gpus) == 1 and 0 < milli < 1000:
        return round(milli / 1000.0, 4)
    return len(gpus)


def find_ray_node(nodes: List[Dict[str, Any]], node_name: str) -> str:
    """The Ray node id of the (alive) Ray node on Kubernetes node `node_name`.

    Preferred: a custom resource `hotpath-node/<name>` (or `node:<name>`), or a label
    `hotpath-node=<name>`, that the Ray worker pod set from its spec.nodeName (downward API).
    Fallback: NodeManagerHostname, which equals the Kubernetes node name only when the worker
    pod uses hostNetwork (otherwise it is the pod's name) or Ray runs on the hosts directly.
    When several Ray nodes match, the one with the most GPUs wins.
    """
    alive = [n for n in nodes if n.get("Alive", n.get("alive", False))]

    def by_resource(n: Dict[str, Any]) -> bool:
        return any(p + node_name in (n.get("Resources") or {}) for p in NODE_RESOURCE_PREFIXES)

    def by_label(n: Dict[str, Any]) -> bool:
        return (n.get("Labels") or {}).get(NODE_LABEL_KEY) == node_name

    def by_hostname(n: Dict[str, Any]) -> bool:
        host = str(n.get("NodeManagerHostname", ""))
        return host == node_name or host.split(".")[0] == node_name.split(".")[0]

    for match in (by_resource, by_label, by_hostname):
        hits = [n for n in alive if match(n)]
        if hits:
            best = max(hits, key=lambda n: (n.get("Resources") or {}).get("GPU", 0))
            return str(best["NodeID"])
    known = sorted({str(n.get("NodeManagerHostname")) for n in alive})
    raise LookupError(f"no alive Ray node is on Kubernetes node {node_name!r} (Ray hosts: {', '.join(known) or 'none'}); "
                      f"start Ray workers with --resources='{{\"hotpath-node/<nodeName>\": 1}}'")


def run_with_ray(args: argparse.Namespace, job: Job, hb: Lease) -> Outcome:
    """Launch train_step on the placed node and watch it; cancel it if the lease is lost."""
    import ray  # only here, so that --help and --dry-run need no Ray
    from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

    if not ray.is_initialized():
        ray.init(address=args.ray_address)
    placement = job.get("placement") or {}
    try:
        node_id = find_ray_node(ray.nodes(), placement["node"])
    except (LookupError, KeyError) as e:
        return Outcome(ok=False, message=str(e))

    num_gpus = ray_num_gpus(placement)
    share_mib = placement["gpus"][0].get("memoryMiB") if isinstance(num_gpus, float) and num_gpus < 1 else None
    options: Dict[str, Any] = {
        "num_gpus": num_gpus,
        # hard affinity: run on that node or not at all (soft=True could run it elsewhere, on
        # GPUs hotpath gave to someone else)
        "scheduling_strategy": NodeAffinitySchedulingStrategy(node_id=node_id, soft=False),
        # hotpath owns retries (it re-queues the job); a Ray retry would run outside the lease
        "max_retries": 0,
    }
    if args.cpu_milli is not None:
        options["num_cpus"] = args.cpu_milli / 1000.0
    if args.memory_mib:
        options["memory"] = args.memory_mib * 1024 * 1024
    # Equivalent to decorating train_step with @ray.remote(num_gpus=..., ...); done here because
    # ray is not imported at module level.
    task = ray.remote(**options)(train_step)
    log.info("launching Ray task on %s (Ray node %s) with num_gpus=%s; hotpath devices %s (advisory: Ray picks the devices)",
             placement["node"], node_id[:12], num_gpus, [g.get("index") for g in placement.get("gpus", [])])
    ref = task.remote(args.duration_seconds, share_mib)

    hb.on_lost = lambda: ray.cancel(ref, force=True)
    finished = False
    try:
        while not hb.lost.is_set():
            ready, _ = ray.wait([ref], timeout=1.0)
            if ready:
                finished = True
                break
        if not finished:
            return lost_outcome(hb)
        try:
            result = ray.get(ref)
            return Outcome(ok=True, message=f"done on {result['host']} (CUDA_VISIBLE_DEVICES={result['cudaVisibleDevices']}, {result['steps']} steps)")
        except Exception as e:  # the task raised (or was cancelled because the lease was lost)
            if hb.lost.is_set():
                return lost_outcome(hb)
            return Outcome(ok=False, message=f"Ray task failed: {e}")
    finally:
        if not finished:  # lease lost, Ctrl-C, or an error here: do not leave the task running
            ray.cancel(ref, force=True)


def run_dry(args: argparse.Namespace, job: Job, hb: Lease) -> Outcome:
    """No Ray: 'work' for --duration-seconds while the heartbeat thread keeps the lease."""
    placement = job.get("placement") or {}
    log.info("dry run: pretending to work for %.0fs on %s, devices %s", args.duration_seconds, placement.get("node"),
             [(g.get("index"), g.get("model"), g.get("milli")) for g in placement.get("gpus", [])])
    if hb.lost.wait(args.duration_seconds):
        return lost_outcome(hb)
    return Outcome(ok=True, message=f"dry run: {args.duration_seconds:g}s of simulated work")


def run_attempt(args: argparse.Namespace, api: HotpathApi, job: Job) -> Outcome:
    """One placement: first heartbeat (marks the job running), work, heartbeats until done."""
    hb = Lease(api, job["id"], int(job["attempt"]), job.get("leaseExpiresAt"))
    if not hb.beat():  # lost between placement and now (e.g. preempted already)
        return lost_outcome(hb)
    hb.start()
    try:
        return run_dry(args, job, hb) if args.dry_run else run_with_ray(args, job, hb)
    finally:
        hb.stop()


# --------------------------------------------------------------------------------------------
# Command line.
# --------------------------------------------------------------------------------------------


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        description="Submit a GPU job to hotpath, wait for its placement, and run it as a Ray task on the placed node.",
        epilog="Exit status: 0 done, 1 task failed or job ended, 2 request refused, 3 lease lost, 130 interrupted.",
    )
    p.add_argument("--url", default=os.environ.get("HOTPATH_URL", "http://127.0.0.1:8080"), help="hotpath base URL (env HOTPATH_URL; default %(default)s)")
    p.add_argument("--token", default=os.environ.get("HOTPATH_TOKEN"), help="bearer token (env HOTPATH_TOKEN)")
    p.add_argument("--user", default=os.environ.get("HOTPATH_USER"), help="sent as X-Trino-User; for hotpath with HOTPATH_AUTH=none (env HOTPATH_USER)")
    p.add_argument("--tenant", default=os.environ.get("HOTPATH_TENANT"), help="tenant for fair share and quotas (env HOTPATH_TENANT; required)")
    p.add_argument("--priority", type=int, default=0, help="higher runs first and may preempt lower (default 0)")
    p.add_argument("--gpus", type=int, help="whole devices, all on one node")
    p.add_argument("--gpu-milli", type=int, help="a share of one device, 1..1000 (1000 = all of it)")
    p.add_argument("--gpu-memory-mib", type=int, help="GPU memory on the shared device (with or instead of --gpu-milli)")
    p.add_argument("--cpu-milli", type=int, help="CPU in millicores (hotpath default 1000)")
    p.add_argument("--memory-mib", type=int, help="host memory in MiB (hotpath default 4096)")
    p.add_argument("--gpu-model", action="append", default=[], metavar="MODEL", help="allowed GPU model, e.g. K80 (repeatable; default any)")
    p.add_argument("--idempotency-key", default=None, help="same key, same job: rerun with it to re-attach (default: a fresh UUID)")
    p.add_argument("--ray-address", default=os.environ.get("RAY_ADDRESS", "auto"), help="passed to ray.init(address=...) (env RAY_ADDRESS; default %(default)s)")
    p.add_argument("--wait-seconds", type=int, default=10, help="long-poll length while queued; keep it under half the lease TTL (default %(default)s)")
    p.add_argument("--follow", action="store_true", help="after a preemption that re-queues the job, wait for the next placement and run again")
    p.add_argument("--dry-run", action="store_true", help="no Ray: submit, wait for placement, heartbeat while 'working', complete")
    p.add_argument("--duration-seconds", type=float, default=5.0, help="how long the work lasts (dry run, and the placeholder task; default %(default)s)")
    p.add_argument("-v", "--verbose", action="store_true", help="log every heartbeat")
    args = p.parse_args(argv)

    if not args.tenant:
        p.error("--tenant is required (or set HOTPATH_TENANT)")
    if args.gpus is not None and (args.gpu_milli is not None or args.gpu_memory_mib is not None):
        p.error("ask for whole devices (--gpus) or a share of one (--gpu-milli / --gpu-memory-mib), not both")
    if args.gpus is None and args.gpu_milli is None and args.gpu_memory_mib is None:
        p.error("say how much GPU: --gpus N, or --gpu-milli M and/or --gpu-memory-mib MIB")
    if args.gpu_milli is not None and not 1 <= args.gpu_milli <= 1000:
        p.error("--gpu-milli must be 1..1000")
    if not 1 <= args.wait_seconds <= 60:
        p.error("--wait-seconds must be 1..60")
    if args.duration_seconds <= 0:
        p.error("--duration-seconds must be positive")
    args.idempotency_key = args.idempotency_key or str(uuid.uuid4())
    return args


def on_sigterm(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt  # a pod being stopped: cancel like Ctrl-C


def main(argv: Optional[List[str]] = None) -> int:
    args = parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    signal.signal(signal.SIGTERM, on_sigterm)
    api = HotpathApi(args.url, args.token, args.user)

    try:
        job = submit(api, build_submission(args))
    except ApiError as e:
        # 422 UNSCHEDULABLE: no node could ever hold this; the message says which limit.
        log.error("hotpath refused the job: %s", e)
        return EXIT_REFUSED if e.status < 500 else EXIT_FAILED
    except (urllib.error.URLError, OSError) as e:
        log.error("cannot reach hotpath at %s: %s", args.url, e)
        return EXIT_FAILED
    job_id = job["id"]

    first = True
    try:
        while True:
            job = wait_for_placement(api, job_id, args.wait_seconds)
            if job["state"] == "completed":
                log.info("job %s has already completed: %s", job_id, job.get("reason", ""))
                return EXIT_OK
            if job["state"] in TERMINAL_STATES:
                log.error("job %s ended %s: %s", job_id, job["state"], job.get("reason", ""))
                return EXIT_FAILED
            if job["state"] == "running" and not first:
                # We never heartbeat this attempt, yet it is running: another driver re-attached.
                log.error("job %s (attempt %s) is being run by another driver; stopping", job_id, job["attempt"])
                return EXIT_LEASE_LOST
            first = False
            log.info("job %s placed on %s (attempt %s)", job_id, (job.get("placement") or {}).get("node"), job["attempt"])

            outcome = run_attempt(args, api, job)
            if outcome.lease_lost:
                log.error("job %s lost its GPUs (hotpath state %s): %s", job_id, outcome.state, outcome.reason)
                if outcome.state in TERMINAL_STATES:
                    return EXIT_LEASE_LOST
                # Not terminal: hotpath re-queued the job (state queued) or has even placed it
                # again already (placed, a later attempt).
                if args.follow:
                    log.info("job %s was re-queued; waiting for its next placement", job_id)
                    continue
                # Nobody would run the next placement: cancel rather than let it hold GPUs
                # until its lease runs out.
                log.error("job %s was re-queued; cancelling it, since without --follow nobody would run it when placed again", job_id)
                cancel(api, job_id)
                return EXIT_LEASE_LOST

            try:
                done = complete(api, job_id, int(job["attempt"]), outcome.ok, outcome.message)
            except ApiError as e:
                log.error("could not record the outcome of job %s (%s): %s", job_id, outcome.message, e)
                return EXIT_LEASE_LOST if e.status == 409 else EXIT_FAILED
            log.info("job %s %s: %s", job_id, done.get("state"), outcome.message)
            return EXIT_OK if outcome.ok else EXIT_FAILED
    except KeyboardInterrupt:
        log.warning("interrupted: cancelling job %s", job_id)
        cancel(api, job_id)
        return EXIT_INTERRUPTED
    except ApiError as e:
        log.error("job %s: %s", job_id, e)
        return EXIT_REFUSED if e.status < 500 else EXIT_FAILED
    except (urllib.error.URLError, OSError) as e:
        log.error("job %s: lost contact with hotpath (%s); its lease will run out", job_id, e)
        return EXIT_FAILED


if __name__ == "__main__":
    sys.exit(main())
