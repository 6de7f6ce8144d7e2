"""Parallel trials: --workers 2 and a local two-worker Dask cluster (--dask) against --workers 1.

One random search of the textbook MLP on California housing, the same seed in
every mode. Each mode runs in a fresh process and is timed from the ``hpsearch``
call, so cluster start-up and TensorFlow imports count ("cold"); then the same
search runs again in that process with the cluster and TensorFlow already up
("warm"). Prints the wall times, the ratios the README quotes, and whether every
mode drew the same parameters.

    python benchmarks/parallel.py [--trials 16] [--rows 2000] [--epochs 20] [--patience 5] [--seed 0] [--engine auto]
    python benchmarks/parallel.py --rows 11610 --epochs 100 --patience 10   # the textbook budget (README): ~5 min

``--engine fit`` trains with Keras' ``fit`` (per-step Python overhead, one core's
worth of work per trial); the default graph engine makes a small MLP's trial use
every core by itself, which leaves little for a second worker on two cores.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

MODES = ("workers1", "workers2", "dask2")


def options() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=16)
    parser.add_argument("--rows", type=int, default=2000)
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--patience", type=int, default=5)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--engine", default="auto")
    parser.add_argument("--child", choices=MODES, help=argparse.SUPPRESS)
    return parser.parse_args()


def search_once(mode: str, args: argparse.Namespace, client: object) -> tuple[float, list[dict], list[float]]:
    """One timed search; returns (seconds, parameters, scores)."""
    from _housing import TEXTBOOK_SPEC, housing_splits, textbook_build

    from nnhp_magics import hpsearch

    x, y, xv, yv, _, _ = housing_splits(args.rows)
    where = {"workers": 2} if mode == "workers2" else {"dask": client} if mode == "dask2" else {"workers": 1}
    started = time.perf_counter()
    search = hpsearch(
        textbook_build, x, y, TEXTBOOK_SPEC, valid=(xv, yv), trials=args.trials, epochs=args.epochs,
        patience=args.patience, seed=args.seed, engine=args.engine, namespace={}, **where,
    )
    seconds = time.perf_counter() - started
    return seconds, [t.params for t in search.trials], [t.score for t in search.trials]


def child(args: argparse.Namespace) -> None:
    """Run one mode twice (cold, warm) in this process and print the figures as JSON."""
    from distributed import Client, LocalCluster

    from nnhp_magics.training.executors import worker_env

    started = time.perf_counter()
    client = None
    if args.child == "dask2":
        cluster = LocalCluster(n_workers=2, threads_per_worker=1, dashboard_address=None, env=worker_env(2))
        client = Client(cluster)
    setup = time.perf_counter() - started
    cold, params, scores = search_once(args.child, args, client)
    warm, _, _ = search_once(args.child, args, client)
    print(json.dumps({"cold": cold + setup, "warm": warm, "params": params, "scores": scores}))


def run_mode(mode: str, args: argparse.Namespace) -> dict:
    command = [sys.executable, __file__, "--child", mode] + [
        f"--{name}={getattr(args, name)}" for name in ("trials", "rows", "epochs", "patience", "seed", "engine")
    ]
    output = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    return json.loads(output.strip().splitlines()[-1])


def main() -> None:
    args = options()
    if args.child:
        child(args)
        return
    print(
        f"{args.trials}-trial random search, seed {args.seed}, {args.rows} rows, <= {args.epochs} epochs, "
        f"engine {args.engine}, {os.cpu_count()} cores"
    )
    results = {}
    for mode in MODES:
        results[mode] = run_mode(mode, args)
        print(f"{mode:9s} cold {results[mode]['cold']:7.1f} s   warm {results[mode]['warm']:7.1f} s", flush=True)
    base, two, dask = results["workers1"], results["workers2"], results["dask2"]
    for kind in ("cold", "warm"):
        print(
            f"{kind}: --workers 2 / --workers 1 = {two[kind] / base[kind]:.2f} (target <= 0.60); "
            f"--dask / --workers 2 = {dask[kind] / two[kind]:.2f} (target <= 1.10)"
        )
    same = base["params"] == two["params"] == dask["params"]
    print(f"same parameters in every mode: {same}")


if __name__ == "__main__":
    main()
