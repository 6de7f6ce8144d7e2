"""What the live dashboard costs a search: the same 20-trial search with and without it, in one run.

Each search runs in a fresh ipykernel (started here through jupyter_client, this
process reading every message as a browser would), so the dashboard's updates are
really serialised and sent, and no search inherits the state of an earlier one.
After a two-trial warm-up in that kernel, the search runs once, with or without
the dashboard; pairs share a seed and alternate their order (ABBA). Printed: per
search the wall time, the kernel process's CPU time (all threads: the figure other
programs on a shared machine move least), the CPU time spent in the dashboard's
own code (its listener on the search thread plus its timer thread), and the updates
sent; then the paired overheads. Short epochs make it a harsh case: many events for
little training.

    python benchmarks/dashboard_overhead.py            # 4 pairs of 20 trials x 5 epochs, about 10 minutes on 2 cores
    python benchmarks/dashboard_overhead.py --pairs 6 --epochs 10
"""

from __future__ import annotations

import argparse
import json
import os
import queue
import statistics
import sys
import time
from typing import Any

KERNEL_CODE = r'''
import json, time
import numpy as np
import keras
from nnhp_magics import hpsearch
from nnhp_magics.views.dashboard import notebook_view

def build(n_hidden=1, n_neurons=16, learning_rate=3e-3):
    model = keras.Sequential([keras.Input(shape=(8,))])
    for _ in range(n_hidden):
        model.add(keras.layers.Dense(n_neurons, activation="relu"))
    model.add(keras.layers.Dense(1))
    model.compile(loss="mse", optimizer=keras.optimizers.SGD(learning_rate=learning_rate))
    return model

rng = np.random.default_rng(0)
X = rng.normal(size=(1000, 8)).astype("float32")
y = (X @ rng.normal(size=8) + 0.1 * rng.normal(size=1000)).astype("float32")
SPEC = """
n_hidden = choice(0, 1, 2)
n_neurons = int(4, 32)
learning_rate = loguniform(1e-3, 3e-2)
"""

def timed_search(dashboard, seed, trials, epochs):
    own = {"cpu": 0.0}
    listeners, view = [], None
    if dashboard:
        view = notebook_view(get_ipython())
        send_late = view._send_late
        def timed_send_late():
            start = time.thread_time()
            send_late()
            own["cpu"] += time.thread_time() - start
        view._send_late = timed_send_late
        def listener(event):
            start = time.thread_time()
            view(event)
            own["cpu"] += time.thread_time() - start
        listeners = [listener]
    start, cpu = time.perf_counter(), time.process_time()
    hpsearch(build, X, y, SPEC, trials=trials, epochs=epochs, patience=0, seed=seed, quiet=True, listeners=listeners)
    wall, cpu = time.perf_counter() - start, time.process_time() - cpu
    return {"dashboard": dashboard, "seed": seed, "wall": wall, "cpu": cpu, "own": own["cpu"],
            "messages": view.widget.sent if view else 0}
'''


def run_cell(kc: Any, code: str, timeout: float) -> str:
    """Execute ``code``, read every message until the kernel is idle again, return its stdout."""
    msg_id = kc.execute(code)
    out: list[str] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            msg = kc.get_iopub_msg(timeout=1)
        except queue.Empty:
            continue
        if msg["parent_header"].get("msg_id") != msg_id:
            continue
        if msg["msg_type"] == "stream" and msg["content"]["name"] == "stdout":
            out.append(msg["content"]["text"])
        elif msg["msg_type"] == "error":
            raise RuntimeError("\n".join(msg["content"]["traceback"]))
        elif msg["msg_type"] == "status" and msg["content"]["execution_state"] == "idle":
            return "".join(out)
    raise TimeoutError(f"no answer within {timeout} s")


def one_search(dashboard: bool, seed: int, trials: int, epochs: int, timeout: float) -> dict[str, Any]:
    """One timed search in a fresh kernel, after a warm-up search there."""
    from jupyter_client.manager import start_new_kernel

    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2", TF_NUM_INTRAOP_THREADS="1", TF_NUM_INTEROP_THREADS="1")
    km, kc = start_new_kernel(kernel_name="python3", env=env)
    try:
        run_cell(kc, KERNEL_CODE, timeout)
        run_cell(kc, f"timed_search({dashboard}, 99, 2, 2)", timeout)  # TensorFlow's first graphs, the widget classes
        code = f"print(json.dumps(timed_search({dashboard}, {seed}, {trials}, {epochs})))"
        return json.loads(run_cell(kc, code, timeout).strip().splitlines()[-1])
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pairs", type=int, default=4, help="searches with and without the dashboard (default 4 each)")
    parser.add_argument("--trials", type=int, default=20)
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--budget", type=float, default=1800, help="seconds before giving up")
    args = parser.parse_args()

    started = time.monotonic()
    results = []
    for pair in range(args.pairs):
        for dashboard in (False, True) if pair % 2 == 0 else (True, False):
            left = args.budget - (time.monotonic() - started)
            result = one_search(dashboard, pair, args.trials, args.epochs, left)
            results.append(result)
            print(f"pair {pair} {'with   ' if dashboard else 'without'} dashboard: wall {result['wall']:7.2f} s"
                  f"  cpu {result['cpu']:7.2f} s  dashboard's own cpu {result['own'] * 1000:6.1f} ms"
                  f"  updates {result['messages']}", flush=True)
    report(results, args)


def report(results: list[dict[str, Any]], args: argparse.Namespace) -> None:
    """Paired overheads (mean, median, each pair), the dashboard's own CPU share, its update rate."""
    with_d = {r["seed"]: r for r in results if r["dashboard"]}
    without = {r["seed"]: r for r in results if not r["dashboard"]}
    shares = [100 * r["own"] / r["cpu"] for r in with_d.values()]
    rates = [r["messages"] / r["wall"] for r in with_d.values()]
    print(f"\n{args.trials} trials x {args.epochs} epochs, {len(with_d)} pairs (Python {sys.version.split()[0]}, "
          f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores)")
    for key, name in (("cpu", "kernel CPU time"), ("wall", "wall time")):
        diffs = [100 * (with_d[s][key] - without[s][key]) / without[s][key] for s in sorted(with_d)]
        print(f"{name}: without {statistics.median(r[key] for r in without.values()):.2f} s, "
              f"with {statistics.median(r[key] for r in with_d.values()):.2f} s; with minus without: "
              f"mean {statistics.mean(diffs):+.2f} %, median {statistics.median(diffs):+.2f} % "
              f"(pairs: {', '.join(f'{d:+.2f}' for d in diffs)})")
    print(f"CPU time in the dashboard's own code: median {statistics.median(shares):.3f} % of the search's CPU time "
          f"(max {max(shares):.3f} %)")
    print(f"updates sent: median {statistics.median(rates):.2f} a second")


if __name__ == "__main__":
    main()
