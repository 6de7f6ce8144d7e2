"""The trial engines side by side: model-epochs per second, and the textbook search end to end.

Part ``epochs``: the textbook MLP (1x30) and a 3x100 MLP on California housing
(11,610 training rows, 3,870 validation rows, batch 32, one TensorFlow thread),
trained by ``model.fit``, by ``fit`` with ``steps_per_execution=64``, by the graph
engine alone and packed K at a time (K = 4, 8, 16), without and with XLA. Each
configuration runs in a fresh process; "setup" is the first epoch (tracing,
compiling), "model-epochs/s" the steady rate over the following epochs, in CPU
seconds of the process (robust to other work on the machine) and wall seconds.

Part ``search``: the textbook search (20 trials, --cv 3, up to 100 epochs,
patience 10, --valid, random strategy) with --engine fit and with the graph
engine, for several seeds; each run in a fresh process, timed from the
``hpsearch`` call; the test MSE is the best model's (a refit on all training
rows under --cv).

Part ``trial``: one trial of the textbook search over its whole life (building,
tracing/compiling, training its --cv folds with early stopping, scoring them),
as the trial's own record times it, for each mode and seed. Each process runs
two trials and the second (the textbook 1x30 MLP, learning rate 3e-3) is
reported, so TensorFlow's one-off start-up is not counted: after a trial of
width 29 it has a program of its own to trace ("own program"); after a trial of
learning rate 2.9e-3 it trains in that trial's program ("shared program", the
graph engine only: ``fit`` traces per model).

    python benchmarks/engine.py [--part epochs|search|trial|all] [--seeds 0 1 2] [--trials 20] [--epochs 100]
        [--modes fit auto pack4 ...] [--repeat-epochs 4]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from typing import Any

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("TF_NUM_INTRAOP_THREADS", "1")
os.environ.setdefault("TF_NUM_INTEROP_THREADS", "1")

HERE = os.path.dirname(os.path.abspath(__file__))
ARCHS = {"textbook": (1, 30), "3x100": (3, 100)}
EPOCH_CONFIGS = ("fit", "fit-spe64", "graph", "pack4", "pack8", "pack16", "graph-jit", "pack8-jit")
SEARCH_MODES = {
    "fit": {"engine": "fit"},
    "auto": {"engine": "auto"},
    "no-jit": {"engine": "auto", "jit": False},
    "pack4": {"engine": "auto", "pack": 4},
    "pack8": {"engine": "auto", "pack": 8},
    "jit": {"engine": "auto", "jit": True},
    "pack4-jit": {"engine": "auto", "pack": 4, "jit": True},
    "pack8-jit": {"engine": "auto", "pack": 8, "jit": True},
}


def options() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--part", choices=("epochs", "search", "trial", "all"), default="all")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--trials", type=int, default=20)
    parser.add_argument("--epochs", type=int, default=100)
    parser.add_argument("--patience", type=int, default=10)
    parser.add_argument("--cv", type=int, default=3)
    parser.add_argument("--modes", nargs="+", default=["fit", "auto", "pack4", "jit"], choices=sorted(SEARCH_MODES))
    parser.add_argument("--configs", nargs="+", default=list(EPOCH_CONFIGS), choices=EPOCH_CONFIGS)
    parser.add_argument("--repeat-epochs", type=int, default=4, help="steady epochs timed after the first")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    return parser.parse_args()


# ----- children: one configuration each, in a fresh process ----------------------------------
def pinned() -> None:
    sys.path.insert(0, HERE)
    from _housing import pin_one_thread

    pin_one_thread()


def epochs_child(config: str, arch: str, repeat: int) -> dict[str, Any]:
    """Time the first epoch and ``repeat`` steady epochs of one engine configuration."""
    pinned()
    from _housing import housing_splits, textbook_build

    x, y, xv, yv, _, _ = housing_splits()
    hidden, neurons = ARCHS[arch]
    k = int(config.split("-")[0][4:]) if config.startswith("pack") else 1
    models = [textbook_build(hidden, neurons) for _ in range(k)]
    if config.startswith("fit"):
        return _time_fit(models[0], config, x, y, xv, yv, repeat)
    return _time_graph(models, config.endswith("jit"), x, y, xv, yv, repeat)


def _clocks() -> tuple[float, float]:
    return time.process_time(), time.perf_counter()


def _rates(k: int, marks: list[tuple[float, float]]) -> dict[str, Any]:
    (c0, w0), (c1, w1), (c2, w2) = marks[0], marks[1], marks[-1]
    steady = len(marks) - 2
    return {
        "setup_cpu": c1 - c0, "setup_wall": w1 - w0,
        "eps_cpu": k * steady / (c2 - c1), "eps_wall": k * steady / (w2 - w1),
    }


def _time_fit(model: Any, config: str, x: Any, y: Any, xv: Any, yv: Any, repeat: int) -> dict[str, Any]:
    import keras

    if config == "fit-spe64":
        model.steps_per_execution = 64
    marks = [_clocks()]
    timer = keras.callbacks.LambdaCallback(on_epoch_end=lambda *_: marks.append(_clocks()))
    model.fit(x, y, batch_size=32, epochs=repeat + 1, validation_data=(xv, yv), verbose=0, callbacks=[timer])
    return _rates(1, marks)


def _time_graph(models: list[Any], jit: bool, x: Any, y: Any, xv: Any, yv: Any, repeat: int) -> dict[str, Any]:
    from nnhp_magics.core.data import Arrays
    from nnhp_magics.training.engine.graph import EpochProgram, epoch_order, feed_for, prepare_model

    feed = feed_for(Arrays(x, y), Arrays(xv, yv))
    marks = [_clocks()]
    for model in models:
        prepare_model(model, feed, 32)
    program = EpochProgram(models, 32, jit=jit)
    for epoch in range(repeat + 1):
        orders = [epoch_order(len(x), k, epoch) for k in range(len(models))]
        program.run([feed] * len(models), orders, [True] * len(models))
        marks.append(_clocks())
    return _rates(len(models), marks)


def search_child(mode: str, seed: int, args: argparse.Namespace) -> dict[str, Any]:
    """One textbook search; returns its times, test MSE and engines."""
    pinned()
    from _housing import TEXTBOOK_SPEC, housing_splits, textbook_build

    from nnhp_magics import hpsearch

    x, y, xv, yv, xt, yt = housing_splits()
    cpu, wall = _clocks()
    search = hpsearch(
        textbook_build, x, y, TEXTBOOK_SPEC, valid=(xv, yv), cv=args.cv, trials=args.trials, epochs=args.epochs,
        patience=args.patience, seed=seed, namespace={}, **SEARCH_MODES[mode],
    )
    model = search.best_model
    cpu_end, wall_end = _clocks()
    mse = float(model.evaluate(xt, yt, verbose=0))
    return {
        "cpu": cpu_end - cpu, "wall": wall_end - wall, "test_mse": mse, "best_score": search.best_score,
        "model_epochs": sum(t.epochs for t in search.trials),
        "engines": sorted({t.engine for t in search.trials}),
    }


TRIAL_GRIDS = {"own": "n_neurons = choice(29, 30)", "shared": "learning_rate = choice(2.9e-3, 3e-3)"}


def trial_child(mode: str, seed: int, grid: str, args: argparse.Namespace) -> dict[str, Any]:
    """The second of two textbook trials of one process (see the module's docstring): its seconds and model-epochs."""
    pinned()
    from _housing import housing_splits, textbook_build

    from nnhp_magics import hpsearch

    x, y, xv, yv, _, _ = housing_splits()
    search = hpsearch(
        textbook_build, x, y, TRIAL_GRIDS[grid], strategy="grid", valid=(xv, yv), cv=args.cv,
        trials=None, epochs=args.epochs, patience=args.patience, seed=seed, namespace={}, **SEARCH_MODES[mode],
    )
    trial = search.trials[1]
    return {"seconds": trial.seconds, "model_epochs": trial.epochs, "engine": trial.engine}


def run_child(args: argparse.Namespace) -> None:
    part, *rest = args.child.split(":")
    if part == "epochs":
        result = epochs_child(rest[0], rest[1], args.repeat_epochs)
    elif part == "trial":
        result = trial_child(rest[0], int(rest[1]), rest[2], args)
    else:
        result = search_child(rest[0], int(rest[1]), args)
    print("RESULT " + json.dumps(result))


# ----- driver ----------------------------------------------------------------------------------
def spawn(child: str, args: argparse.Namespace) -> dict[str, Any]:
    """Run one configuration in a fresh process and read its result line."""
    command = [sys.executable, os.path.abspath(__file__), "--child", child] + _forward(args)
    out = subprocess.run(command, capture_output=True, text=True, check=False)
    for line in out.stdout.splitlines():
        if line.startswith("RESULT "):
            return json.loads(line[7:])
    raise RuntimeError(f"{child} failed:\n{out.stderr[-3000:]}")


def _forward(args: argparse.Namespace) -> list[str]:
    return [
        "--trials", str(args.trials), "--epochs", str(args.epochs), "--patience", str(args.patience),
        "--cv", str(args.cv), "--repeat-epochs", str(args.repeat_epochs),
    ]


def epochs_part(args: argparse.Namespace) -> None:
    print("| model | engine | setup s (cpu) | model-epochs/s (cpu) | x fit (cpu) | model-epochs/s (wall) "
          "| x fit (wall) |")
    print("|---|---|---|---|---|---|---|")
    for arch in ARCHS:
        base: dict[str, Any] | None = None
        for config in args.configs:
            r = spawn(f"epochs:{config}:{arch}", args)
            base = base or r
            print(
                f"| {arch} | {config} | {r['setup_cpu']:.2f} | {r['eps_cpu']:.1f} "
                f"| {r['eps_cpu'] / base['eps_cpu']:.1f} "
                f"| {r['eps_wall']:.1f} | {r['eps_wall'] / base['eps_wall']:.1f} |",
                flush=True,
            )


def search_part(args: argparse.Namespace) -> None:
    print(f"textbook search: {args.trials} trials, --cv {args.cv}, --epochs {args.epochs}, --patience {args.patience}")
    print("| seed | mode | engines | wall s | cpu s | x fit (wall) | x fit (cpu) | model-epochs | test MSE |")
    print("|---|---|---|---|---|---|---|---|---|")
    for seed in args.seeds:
        results = {}
        for mode in args.modes:
            results[mode] = spawn(f"search:{mode}:{seed}", args)
            print(f"seed {seed} {mode}: {json.dumps(results[mode])}", file=sys.stderr, flush=True)
        base = results.get("fit", results[args.modes[0]])
        for mode, r in results.items():
            print(
                f"| {seed} | {mode} | {','.join(r['engines'])} | {r['wall']:.0f} | {r['cpu']:.0f} "
                f"| {base['wall'] / r['wall']:.1f} | {base['cpu'] / r['cpu']:.1f} | {r['model_epochs']} "
                f"| {r['test_mse']:.4f} |",
                flush=True,
            )


def trial_part(args: argparse.Namespace) -> None:
    print(f"one textbook trial (1x30): --cv {args.cv}, --epochs {args.epochs}, --patience {args.patience}, over its life")
    print("| seed | mode | program | engine | seconds | model-epochs | model-epochs/s | x fit |")
    print("|---|---|---|---|---|---|---|---|")
    ratios: dict[str, list[float]] = {}
    for seed in args.seeds:
        runs = [(mode, grid) for grid in TRIAL_GRIDS for mode in args.modes if grid == "own" or mode != "fit"]
        results = {run: spawn(f"trial:{run[0]}:{seed}:{run[1]}", args) for run in runs}
        base = results.get(("fit", "own"), results[runs[0]])
        base_rate = base["model_epochs"] / base["seconds"]
        for (mode, grid), r in results.items():
            rate = r["model_epochs"] / r["seconds"]
            ratios.setdefault(f"{mode}, {grid} program", []).append(rate / base_rate)
            print(f"| {seed} | {mode} | {grid} | {r['engine']} | {r['seconds']:.1f} | {r['model_epochs']} | {rate:.1f} "
                  f"| {rate / base_rate:.1f} |", flush=True)
    for run, values in ratios.items():
        print(f"{run}: median x fit {sorted(values)[len(values) // 2]:.1f} over seeds {args.seeds}")


def main() -> None:
    args = options()
    if args.child:
        run_child(args)
        return
    if args.part in ("epochs", "all"):
        epochs_part(args)
    if args.part in ("search", "all"):
        search_part(args)
    if args.part in ("trial", "all"):
        trial_part(args)


if __name__ == "__main__":
    main()
