#!/usr/bin/env python3
"""Run one Ray task on GPUs that hotpath has placed for it.

Why this exists: hotpath decides *where* GPU work runs (which Kubernetes node, which K80 devices,
who waits and who is preempted), but it does not run anything itself. Ray runs the work. This
script is the glue a Ray driver needs, written out once so that every team does not rediscover
the protocol:

  1. submit     POST   /v1/gpu/jobs                     -> 201 new job, 200 same idempotencyKey
  2. wait       GET    /v1/gpu/jobs/{id}?waitSeconds=N  long-poll until the job is placed
  3. run        ray.init (bounded by --ray-connect-timeout-seconds), then ray.remote(...) pinned
                to the placed node with NodeAffinitySchedulingStrategy; wait until it has started
  4. heartbeat  POST   /v1/gpu/jobs/{id}/heartbeat      first once the Ray task has started (that
                                                        marks the job running), then every lease/3,
                GET    /v1/gpu/jobs/{id}?waitSeconds=30 alongside, to hear of a preemption at once
  5. complete   POST   /v1/gpu/jobs/{id}/complete       (or DELETE /v1/gpu/jobs/{id} on Ctrl-C/SIGTERM)

The first heartbeat must reach hotpath within the lease of the placement (leaseExpiresAt, 30 s by
default): connecting to Ray and starting the task have to fit in it. When Ray cannot be reached in
time, or the task has not started before the lease would run out, the job is cancelled (DELETE)
and the script exits 1, instead of holding GPUs that nobody uses.

SIGINT and SIGTERM cancel the job at once (DELETE, bounded to a few seconds), also while Ray is
connecting or the task runs. ray.init replaces the SIGTERM handler with its own (sys.exit without
any cleanup), so the script runs ray.init in a thread (where Ray leaves signals alone) and
re-installs its handlers after every Ray call that might replace them.

A 409 LEASE_LOST on a heartbeat (or the job leaving `running`) means the GPUs are no longer ours:
preempted by higher-priority work, cancelled, or the lease ran out. The Ray task is cancelled at
once. If hotpath put the job back in the queue, --follow waits for the next placement and runs
it again; without --follow the re-queued job is cancelled, since nobody would run it.

Only the standard library is used for HTTP. `ray` (2.8+: the task is a Ray generator that reports
its start) is imported only on the path that launches the task, so `--help` and `--dry-run` (no
Ray at all: submit, wait, heartbeat for a few seconds, complete) work on any machine with Python 3.8+.

Exit status: 0 done; 1 the task failed, the job ended (failed, cancelled, preempted), or Ray could
not be reached / the task did not start within the lease (the job is cancelled); 2 hotpath refused
the request (400/401/403/404/422); 3 the lease was lost; 130 interrupted by SIGINT (Ctrl-C), 143 by
SIGTERM (128 + the signal number; the job is cancelled either way).

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
from typing import Any, Callable, Dict, Iterator, List, Optional, Tuple

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

EXIT_OK, EXIT_FAILED, EXIT_REFUSED, EXIT_LEASE_LOST = 0, 1, 2, 3
# Interrupted: 128 + the signal number, as a shell reports it (130 SIGINT, 143 SIGTERM).
EXIT_SIGNAL_BASE = 128

# How long a cancel (DELETE) may take, retries included, before the script gives up on it (the
# lease then runs out, and hotpath re-queues or fails the job). Keeps an interrupted driver's exit
# prompt: a pod gets 30 s between SIGTERM and SIGKILL by default.
CANCEL_SECONDS = 5.0
# After SIGINT/SIGTERM the process exits within this, even if something hangs on the way out.
EXIT_GRACE_SECONDS = CANCEL_SECONDS + 10.0
# The first heartbeat must reach hotpath this long before the placement's lease runs out (at most;
# a fifth of the lease for short ones): room for the request itself and some clock skew.
LEASE_MARGIN_SECONDS = 3.0

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


def cancel(api: HotpathApi, job_id: str, within: float = CANCEL_SECONDS) -> bool:
    """DELETE frees the job's GPUs at once (instead of when its lease would run out).

    Retried on 503 and network errors, but for `within` seconds at most, retries included: it runs
    on the way out (interrupted, Ray unreachable), where a prompt exit matters more. True when the
    job is cancelled now; a 409 CONFLICT means it had already ended.
    """
    deadline = time.monotonic() + within
    while True:
        left = deadline - time.monotonic()
        try:
            _, job = api.call("DELETE", job_path(job_id), timeout=max(0.5, left))
            log.info("cancelled job %s (state %s)", job_id, job.get("state"))
            return True
        except ApiError as e:
            if not e.retryable:
                log.warning("cancel of job %s: %s", job_id, e)  # 409 CONFLICT: it had already ended
                return False
            why = "hotpath answered %s %s" % (e.status, e.code)
        except (urllib.error.URLError, OSError) as e:
            why = "cannot reach hotpath (%s)" % e
        if deadline - time.monotonic() < 0.5:
            log.warning("cancel of job %s: %s; gave up after %.0fs, its lease will run out", job_id, why, within)
            return False
        time.sleep(0.5)


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

    Nothing runs until `begin()`, whose first heartbeat marks the job running: only once the work
    has really started. `first_beat_deadline` (time.monotonic()) is when that must have happened:
    a little before the lease of the placement runs out.
    """

    def __init__(self, api: HotpathApi, job_id: str, attempt: int, lease_expires_at: Any):
        self.api, self.job_id, self.attempt = api, job_id, attempt
        self.lease_left = lease_seconds(lease_expires_at)
        self.first_beat_deadline = self._deadline()
        self.interval = self.lease_left / 3.0
        self.started = False
        self.stopped = threading.Event()
        self.lost = threading.Event()
        self.lost_state: Optional[str] = None
        self.lost_reason: Optional[str] = None
        self.on_lost: Optional[Callable[[], None]] = None
        self._once = threading.Lock()

    def _deadline(self) -> float:
        return time.monotonic() + self.lease_left - min(LEASE_MARGIN_SECONDS, self.lease_left / 5.0)

    def begin(self) -> bool:
        """The first heartbeat (the job becomes running), then the heartbeat and watch threads.
        False when the lease is already lost (e.g. preempted before the work started)."""
        if self.started:
            return not self.lost.is_set()
        if not self.beat():
            return False
        self.started = True
        # Begun before the work started (dry run, re-attached to a running job): the work gets one
        # fresh lease to start in, which the heartbeat threads now keep.
        self.first_beat_deadline = self._deadline()
        for name, loop in (("hotpath-heartbeat", self._heartbeat_loop), ("hotpath-watch", self._watch_loop)):
            threading.Thread(target=loop, name=name, daemon=True).start()
        return True

    def seconds_to_first_beat(self) -> float:
        """How long the work may still take to start: until a little before the lease runs out."""
        return self.first_beat_deadline - time.monotonic()

    def stop(self) -> None:
        self.stopped.set()

    def beat(self) -> bool:
        """One heartbeat. False when the lease is lost; transient errors are logged and ignored
        (the next beat, a third of a lease later, still comes in time)."""
        try:
            _, answer = self.api.call("POST", job_path(self.job_id, "/heartbeat"), {"attempt": self.attempt})
            self.lease_left = lease_seconds(answer.get("leaseExpiresAt"))
            self.interval = max(1.0, self.lease_left / 3.0)
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


def ray_task(seconds: float, gpu_memory_mib: Optional[int]) -> Iterator[Dict[str, Any]]:
    """What Ray runs: a Ray generator (Ray 2.8+) that first reports that it has started, and then
    runs train_step and yields its result. The driver sends the first heartbeat, which marks the
    job running in hotpath, when the first item arrives: only once the work really has started
    (a worker process is up, on the placed node, with its GPUs), not while Ray is still connecting,
    starting a worker or waiting for resources."""
    import os as _os
    import socket as _socket
    import time as _time

    yield {"startedAt": _time.time(), "host": _socket.gethostname(), "pid": _os.getpid()}
    yield train_step(seconds, gpu_memory_mib)


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


class RayNotReady(Exception):
    """Ray could not be reached, or the task did not start, within the placement's lease: nothing
    ran. The job is cancelled rather than left holding GPUs until the lease runs out."""


class _NoSigtermWarning(logging.Filter):
    """ray.init in a thread warns that it sets no SIGTERM handler: on purpose, we have our own."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "SIGTERM handler is not set" not in record.getMessage()


def connect_ray(ray: Any, address: str, timeout: float, interrupt: "Interrupt") -> None:
    """ray.init(address), bounded by `timeout` seconds.

    ray.init has no timeout of its own: with nothing listening at the address it retries for
    minutes. It therefore runs in a daemon thread that is abandoned when it takes too long. Off the
    main thread, ray.init also leaves the SIGTERM handler alone (from the main thread it installs
    its own, which exits without cancelling the job).
    """
    if ray.is_initialized():
        return
    logging.getLogger("ray._private.worker").addFilter(_NoSigtermWarning())
    done = threading.Event()
    failure: List[BaseException] = []

    def init() -> None:
        try:
            ray.init(address=address)
        except BaseException as e:  # reported by the main thread
            failure.append(e)
        finally:
            done.set()

    log.info("connecting to Ray at %s (at most %.0fs)", address, timeout)
    threading.Thread(target=init, name="ray-init", daemon=True).start()
    deadline = time.monotonic() + timeout
    while not done.wait(max(0.0, min(0.5, deadline - time.monotonic()))):
        interrupt.check()
        if time.monotonic() >= deadline:
            raise RayNotReady(f"could not connect to Ray at {address} within {timeout:.0f}s "
                              f"(--ray-address or RAY_ADDRESS; --ray-connect-timeout-seconds)")
    interrupt.install()
    if failure:
        raise RayNotReady(f"could not connect to Ray at {address}: {failure[0]}")


def iso_time(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def run_with_ray(args: argparse.Namespace, job: Job, hb: Lease, interrupt: "Interrupt") -> Outcome:
    """Connect to Ray, launch ray_task on the placed node, start heartbeating once it has started,
    and watch it; cancel it if the lease is lost. Raises RayNotReady when Ray cannot be reached or
    the task has not started in time (both must fit in the placement's lease)."""
    try:
        import ray  # only here, so that --help and --dry-run need no Ray
        from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy
    except ImportError as e:
        raise RayNotReady(f"cannot import ray ({e}): pip install ray, or try --dry-run") from None

    timeout = min(args.ray_connect_timeout_seconds, hb.seconds_to_first_beat())
    if timeout < args.ray_connect_timeout_seconds:
        log.info("the placement's lease leaves %.0fs to connect to Ray and start the task", max(0.0, timeout))
    if timeout <= 0:
        raise RayNotReady("the placement's lease has run out before Ray was even tried")
    connect_ray(ray, args.ray_address, timeout, interrupt)
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
        # how the task shows in Ray's dashboard and in the prefix of its forwarded output
        "name": "hotpath-" + str(job["id"]),
    }
    if args.cpu_milli is not None:
        options["num_cpus"] = args.cpu_milli / 1000.0
    if args.memory_mib:
        options["memory"] = args.memory_mib * 1024 * 1024
    # Equivalent to decorating ray_task with @ray.remote(num_gpus=..., ...); done here because
    # ray is not imported at module level.
    task = ray.remote(**options)(ray_task)
    log.info("launching Ray task on %s (Ray node %s) with num_gpus=%s; hotpath devices %s (advisory: Ray picks the devices)",
             placement["node"], node_id[:12], num_gpus, [g.get("index") for g in placement.get("gpus", [])])
    gen = task.remote(args.duration_seconds, share_mib)
    interrupt.install()

    def cancel_task() -> None:
        try:
            ray.cancel(gen, force=True)
        except Exception as e:  # already over, or Ray is gone
            log.debug("ray.cancel: %s", e)

    hb.on_lost = cancel_task
    finished = False
    try:
        # Wait for the task's first item ("started"), within what is left of the lease.
        while True:
            left = hb.seconds_to_first_beat()
            if left <= 0:
                raise RayNotReady(f"the Ray task did not start within the placement's lease ({hb.lease_left:.0f}s); Ray node "
                                  f"{placement['node']} may be short of free GPUs or CPUs (Ray work that hotpath does not know "
                                  f"about) or slow to start a worker")
            ready, _ = ray.wait([gen], timeout=min(0.5, left))
            interrupt.check()
            interrupt.install()
            if ready:
                break
        try:
            started = ray.get(next(gen))
        except Exception as e:  # it failed before it started (worker crashed, runtime env failed)
            finished = True
            return Outcome(ok=False, message=f"Ray task failed to start: {e}")
        log.info("Ray task started on %s (pid %s) at %s; first heartbeat", started["host"], started["pid"], iso_time(started["startedAt"]))
        if not hb.begin():
            return lost_outcome(hb)

        while not hb.lost.is_set():
            ready, _ = ray.wait([gen], timeout=0.5)
            interrupt.check()
            interrupt.install()
            if ready:
                finished = True
                break
        if not finished:
            return lost_outcome(hb)
        try:
            result = ray.get(next(gen))
            return Outcome(ok=True, message=f"done on {result['host']} (CUDA_VISIBLE_DEVICES={result['cudaVisibleDevices']}, {result['steps']} steps)")
        except Exception as e:  # the task raised (or was cancelled because the lease was lost)
            if hb.lost.is_set():
                return lost_outcome(hb)
            return Outcome(ok=False, message=f"Ray task failed: {e}")
    finally:
        if not finished:  # lease lost, not started in time, interrupted, or an error here: do not leave the task running
            cancel_task()


def run_dry(args: argparse.Namespace, job: Job, hb: Lease) -> Outcome:
    """No Ray: 'work' for --duration-seconds while the heartbeat thread keeps the lease."""
    placement = job.get("placement") or {}
    log.info("dry run: pretending to work for %.0fs on %s, devices %s", args.duration_seconds, placement.get("node"),
             [(g.get("index"), g.get("model"), g.get("milli")) for g in placement.get("gpus", [])])
    if hb.lost.wait(args.duration_seconds):
        return lost_outcome(hb)
    return Outcome(ok=True, message=f"dry run: {args.duration_seconds:g}s of simulated work")


def run_attempt(args: argparse.Namespace, api: HotpathApi, job: Job, interrupt: "Interrupt") -> Outcome:
    """One placement: work, and heartbeats from when it has started until it is done.

    The first heartbeat marks the job running (hotpath's startedAt). With --dry-run it is sent at
    once; with Ray, once the Ray task reports that it has started (run_with_ray). A job that is
    already running (re-attached with the same --idempotency-key) is heartbeated at once, to keep
    its lease while Ray connects.
    """
    hb = Lease(api, job["id"], int(job["attempt"]), job.get("leaseExpiresAt"))
    try:
        if args.dry_run or job["state"] == "running":
            if not hb.begin():  # lost between placement and now (e.g. preempted already)
                return lost_outcome(hb)
        return run_dry(args, job, hb) if args.dry_run else run_with_ray(args, job, hb, interrupt)
    finally:
        hb.stop()


# --------------------------------------------------------------------------------------------
# Command line.
# --------------------------------------------------------------------------------------------


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        description="Submit a GPU job to hotpath, wait for its placement, and run it as a Ray task on the placed node.",
        epilog="Exit status: 0 done, 1 task failed, job ended, or Ray not reached / task not started in time (job cancelled), "
               "2 request refused, 3 lease lost, 130 SIGINT / 143 SIGTERM (job cancelled).",
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
    p.add_argument("--ray-connect-timeout-seconds", type=float, default=15.0,
                   help="how long ray.init may take before the job is cancelled (exit 1). Connecting and starting the Ray task must "
                        "fit in the placement's lease (HOTPATH_GPU_LEASE_TTL_SECONDS, default 30), so keep it well under that (default %(default)s)")
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
    if args.ray_connect_timeout_seconds <= 0:
        p.error("--ray-connect-timeout-seconds must be positive")
    args.idempotency_key = args.idempotency_key or str(uuid.uuid4())
    return args


class Interrupt:
    """SIGINT (Ctrl-C) and SIGTERM (a pod being stopped): cancel the job at once, exit 128 + signal.

    A Python signal handler runs in the main thread, and only between two Python instructions: not
    while the main thread waits inside Ray's C++ code (ray.wait, say). So the handlers also get a
    wakeup fd (signal.set_wakeup_fd): the interpreter's C-level handler writes the signal number to
    it at once, and a thread reading it starts the DELETE in a thread of its own, whatever the main
    thread is doing. The Python handler then raises KeyboardInterrupt in the main thread, which
    unwinds it (the Ray task is cancelled on the way) to main(), where `exit_code()` waits for the
    DELETE (which gives up after CANCEL_SECONDS). A second signal only logs, so that the cleanup
    runs undisturbed; should the process still be there EXIT_GRACE_SECONDS after the first one, it
    exits anyway.

    ray.init, called from the main thread, replaces the SIGTERM handler with one that exits
    without any cleanup (the job would hold its GPUs until the lease ran out, and then be re-queued
    and placed again with nobody to run it). This script calls ray.init from a thread, where Ray
    leaves signals alone, and calls `install()` again after every Ray call anyway; `check()`
    raises again in case something caught the KeyboardInterrupt. (Ray's C++ core also prints
    "*** SIGTERM received ***" with a stack address when it sees SIGTERM; it then passes it on.)
    """

    SIGNALS = (signal.SIGINT, signal.SIGTERM)

    def __init__(self, api: HotpathApi):
        self.api = api
        self.job_id: Optional[str] = None
        self.submission: Optional[Dict[str, Any]] = None  # the job being submitted (its id not known yet)
        self.signum: Optional[int] = None
        self.cancel_over = threading.Event()
        self.handler = self._on_signal  # one bound method object, so that install() can recognise it
        self._installed = False
        self._raised = False
        self._lock = threading.RLock()
        self._wakeup_r, self._wakeup_w = socket.socketpair()
        self._wakeup_w.setblocking(False)
        threading.Thread(target=self._read_wakeups, name="hotpath-signals", daemon=True).start()

    def install(self) -> None:
        """(Re)install our SIGINT and SIGTERM handlers and the wakeup fd (main thread only)."""
        for sig in self.SIGNALS:
            current = signal.getsignal(sig)
            if current is not self.handler:
                if self._installed:
                    log.debug("%s handler was replaced (by %r); installing ours again", signal.Signals(sig).name, current)
                signal.signal(sig, self.handler)
        previous = signal.set_wakeup_fd(self._wakeup_w.fileno(), warn_on_full_buffer=False)
        if self._installed and previous != self._wakeup_w.fileno():
            log.debug("the signal wakeup fd was replaced (by %d); installing ours again", previous)
        self._installed = True

    def restore(self) -> None:
        """Once the job is settled: a signal kills the process (on its way out, shutting Ray down)."""
        signal.set_wakeup_fd(-1)
        for sig in self.SIGNALS:
            signal.signal(sig, signal.SIG_DFL)

    def check(self) -> None:
        """KeyboardInterrupt if a signal came, in case something swallowed the first one."""
        if self.signum is not None:
            raise KeyboardInterrupt

    def _on_signal(self, signum: int, frame: Any) -> None:
        """The Python-level handler (main thread)."""
        self._trigger(signum)  # usually done already, by _read_wakeups
        if self._raised:
            log.warning("%s again: still cancelling job %s (at most %.0fs)", signal.Signals(signum).name, self.job_id, CANCEL_SECONDS)
            return
        self._raised = True
        raise KeyboardInterrupt

    def _read_wakeups(self) -> None:
        while True:
            try:
                data = self._wakeup_r.recv(64)
            except OSError:
                return
            if not data:
                return
            for signum in data:  # one byte per signal: its number
                if signum in self.SIGNALS:
                    self._trigger(signum)

    def _trigger(self, signum: int) -> None:
        """The first signal: start the cancel, and the deadline for the exit. Later ones: nothing."""
        with self._lock:
            if self.signum is not None:
                return
            self.signum = int(signum)
        log.warning("%s: cancelling job %s", signal.Signals(signum).name, self.job_id or "(being submitted)")
        threading.Thread(target=self._cancel, name="hotpath-cancel", daemon=True).start()
        deadline = threading.Timer(EXIT_GRACE_SECONDS, self._exit_now)
        deadline.daemon = True
        deadline.start()

    def _exit_now(self) -> None:
        log.error("still running %.0fs after %s; exiting now", EXIT_GRACE_SECONDS, signal.Signals(self.signum or signal.SIGTERM).name)
        logging.shutdown()
        os._exit(EXIT_SIGNAL_BASE + int(self.signum or signal.SIGTERM))

    def _cancel(self) -> None:
        deadline = time.monotonic() + CANCEL_SECONDS
        try:
            job_id = self.job_id
            if job_id is None and self.submission is not None:
                # Interrupted while submitting: did that make a job? The same idempotency key
                # answers with it if so (or makes one now, which is cancelled at once).
                try:
                    _, job = self.api.call("POST", "/v1/gpu/jobs", self.submission, timeout=CANCEL_SECONDS / 2)
                    job_id = str(job["id"])
                except (ApiError, urllib.error.URLError, OSError, KeyError) as e:
                    log.warning("interrupted while submitting; cannot tell whether the job was made: %s", e)
            if job_id is not None:
                cancel(self.api, job_id, within=max(1.0, deadline - time.monotonic()))
        except Exception as e:  # never leave main() waiting on a thread that died
            log.warning("cancel of job %s: %s", self.job_id, e)
        finally:
            self.cancel_over.set()

    def exit_code(self) -> int:
        """In main(), once unwound: wait for the cancel (bounded), then 128 + the signal number."""
        self._raised = True  # from now on a signal only logs
        self._trigger(signal.SIGINT)  # a KeyboardInterrupt that was not ours: treat it as Ctrl-C
        if not self.cancel_over.wait(CANCEL_SECONDS + 3.0):
            log.warning("job %s: gave up waiting for the cancel", self.job_id)
        return EXIT_SIGNAL_BASE + int(self.signum or signal.SIGINT)


def main(argv: Optional[List[str]] = None) -> int:
    args = parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    api = HotpathApi(args.url, args.token, args.user)
    interrupt = Interrupt(api)
    interrupt.install()
    try:
        return run(args, api, interrupt)
    except KeyboardInterrupt:
        return interrupt.exit_code()
    finally:
        interrupt.restore()


def run(args: argparse.Namespace, api: HotpathApi, interrupt: Interrupt) -> int:
    submission = build_submission(args)
    interrupt.submission = submission
    try:
        job = submit(api, submission)
    except ApiError as e:
        # 422 UNSCHEDULABLE: no node could ever hold this; the message says which limit.
        log.error("hotpath refused the job: %s", e)
        return EXIT_REFUSED if e.status < 500 else EXIT_FAILED
    except (urllib.error.URLError, OSError) as e:
        log.error("cannot reach hotpath at %s: %s", args.url, e)
        return EXIT_FAILED
    job_id = job["id"]
    interrupt.job_id = job_id
    interrupt.check()

    first = True
    try:
        while True:
            job = wait_for_placement(api, job_id, args.wait_seconds)
            interrupt.check()
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

            try:
                outcome = run_attempt(args, api, job, interrupt)
            except Exception as e:  # RayNotReady, or Ray itself failed: nothing runs the job any more
                why = str(e) if isinstance(e, RayNotReady) else f"Ray failed: {type(e).__name__}: {e}"
                log.error("job %s: %s; cancelling it", job_id, why)
                cancel(api, job_id)
                return EXIT_FAILED
            interrupt.check()
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
    except ApiError as e:
        log.error("job %s: %s", job_id, e)
        return EXIT_REFUSED if e.status < 500 else EXIT_FAILED
    except (urllib.error.URLError, OSError) as e:
        log.error("job %s: lost contact with hotpath (%s); its lease will run out", job_id, e)
        return EXIT_FAILED


if __name__ == "__main__":
    sys.exit(main())
