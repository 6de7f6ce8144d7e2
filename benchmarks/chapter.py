"""The chapter's other two searches: the Fashion-MNIST classifier against Keras Tuner, and wide & deep by engine.

Part ``--fashion``: synthetic Fashion-MNIST-shaped data (28x28 float images in [0, 1],
10 classes, 6,000 training / 1,000 validation rows by default, ``--full`` for the
chapter's 55,000 / 5,000), made by a fixed-seed generator: each class is a pattern of
its own (a blob at a class position plus stripes at a class angle and frequency),
blended with up to 25% of another class's pattern, shifted by up to 3 pixels, scaled
in brightness (0.6-1.3), with Gaussian noise (sigma 0.45), clipped to [0, 1], so a
small MLP learns it but not perfectly (logistic regression on 3,000 rows: 0.78). The chapter's classifier: Flatten, ``n_hidden`` Dense
layers of ``n_neurons`` (relu), Dense(10, softmax), SGD(learning_rate),
sparse_categorical_crossentropy, metrics=["accuracy"]. Space: n_hidden int 1-3,
n_neurons int 50-300, learning_rate log-uniform 1e-4..1e-2. Both tools get the same
data, trials, epochs, batch 32 and seed, and the same callbacks:
EarlyStopping(monitor="val_accuracy", patience=2) and TensorBoard(log_dir) in a temp
dir; nnhp through ``fit_kwargs={"callbacks": [...]}`` with objective val_accuracy
(max), Keras Tuner's RandomSearch through ``tuner.search(callbacks=[...])`` with
objective "val_accuracy". The script checks that nnhp's trials ran on the graph engine
(both callbacks act per epoch) and counts the folders TensorBoard wrote, one per trial.

Part ``--wide-deep``: the chapter's wide & deep model on California housing (the
textbook split, random_state=42, unscaled features: its Normalization layers do the
scaling): input_wide = features 0-4, input_deep = features 2-7, each through a
Normalization layer that BUILD leaves un-adapted (nnhp adapts it on each trial's
training rows), the deep path an MLP of ``n_hidden`` x ``n_neurons`` (relu), concat
with the wide path, Dense(1), mse, Adam(learning_rate). Space: n_hidden int 1-3,
n_neurons int 10-100, learning_rate log-uniform 1e-4..1e-2. X and valid are tuples
(X_wide, X_deep). nnhp with ``engine="auto"`` (the graph engine) against
``engine="fit"``, same trials, epochs, patience and seed.

Every run is a fresh process with one TensorFlow thread, one after another; its wall
seconds cover the search call only (imports and one tiny warm-up fit come before).

    python benchmarks/chapter.py --fashion --wide-deep          # the defaults: about 4 min on 2 cores
    python benchmarks/chapter.py --fashion --full               # 55,000 / 5,000 rows: much longer
    python benchmarks/chapter.py --wide-deep --trials 20 --epochs 100 --patience 10
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("TF_NUM_INTRAOP_THREADS", "1")
os.environ.setdefault("TF_NUM_INTEROP_THREADS", "1")

import numpy as np
from _housing import epoch_counter

HERE = os.path.dirname(os.path.abspath(__file__))

FASHION_SPEC = """
n_hidden = int(1, 3)
n_neurons = int(50, 300)
learning_rate = loguniform(1e-4, 1e-2)
"""

WIDE_DEEP_SPEC = """
n_hidden = int(1, 3)
n_neurons = int(10, 100)
learning_rate = loguniform(1e-4, 1e-2)
"""


# ----- data --------------------------------------------------------------------------------------
def fashion_like(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """``n`` 28x28 float32 images in [0, 1] of 10 learnable classes, and their int labels; same seed, same rows."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:28, 0:28].astype("float32")
    prototypes = []
    for c in range(10):
        cy, cx = 7 + 7 * (c % 3), 6 + 5 * (c // 3)
        blob = np.exp(-((yy - cy) ** 2 + (xx - cx) ** 2) / (2 * (3.0 + c % 2) ** 2))
        angle, freq = np.pi * c / 10, 0.35 + 0.08 * (c % 4)
        stripes = 0.5 + 0.5 * np.cos(freq * (xx * np.cos(angle) + yy * np.sin(angle)))
        prototypes.append(0.6 * blob + 0.4 * stripes * (0.3 + blob))
    base = np.stack(prototypes).astype("float32")
    labels = rng.integers(0, 10, size=n)
    other = rng.integers(0, 10, size=n)  # a faint second pattern, so classes overlap as clothes do
    weight = rng.uniform(0.0, 0.25, size=n).astype("float32")
    shifts = rng.integers(-3, 4, size=(n, 2))
    scale = rng.uniform(0.6, 1.3, size=n).astype("float32")
    images = np.empty((n, 28, 28), dtype="float32")
    for i in range(n):
        pattern = (1 - weight[i]) * base[labels[i]] + weight[i] * base[other[i]]
        images[i] = np.roll(pattern, tuple(shifts[i]), axis=(0, 1)) * scale[i]
    images += rng.normal(0.0, 0.45, size=images.shape).astype("float32")
    return np.clip(images, 0.0, 1.0), labels.astype("int64")


def fashion_splits(train: int, valid: int, seed: int = 42) -> tuple[np.ndarray, ...]:
    x, y = fashion_like(train + valid, seed)
    return x[:train], y[:train], x[train:], y[train:]


def housing_raw() -> tuple[tuple[np.ndarray, np.ndarray], np.ndarray, tuple[np.ndarray, np.ndarray], np.ndarray]:
    """The textbook split of California housing, unscaled, as ((X_wide, X_deep), y) for train and valid."""
    from _housing import DATA_HOME
    from sklearn.datasets import fetch_california_housing
    from sklearn.model_selection import train_test_split

    housing = fetch_california_housing(data_home=DATA_HOME, download_if_missing=False)
    x_full, _, y_full, _ = train_test_split(housing.data, housing.target, random_state=42)
    x_train, x_valid, y_train, y_valid = train_test_split(x_full, y_full, random_state=42)
    x_train, x_valid = x_train.astype("float32"), x_valid.astype("float32")
    return ((x_train[:, :5], x_train[:, 2:]), y_train.astype("float32"),
            (x_valid[:, :5], x_valid[:, 2:]), y_valid.astype("float32"))


# ----- builds ------------------------------------------------------------------------------------
def build_fashion(n_hidden: int = 1, n_neurons: int = 100, learning_rate: float = 3e-3) -> Any:
    """The chapter's Fashion-MNIST MLP."""
    import keras

    model = keras.Sequential([keras.Input(shape=(28, 28)), keras.layers.Flatten()])
    for _ in range(n_hidden):
        model.add(keras.layers.Dense(n_neurons, activation="relu"))
    model.add(keras.layers.Dense(10, activation="softmax"))
    model.compile(loss="sparse_categorical_crossentropy", optimizer=keras.optimizers.SGD(learning_rate=learning_rate),
                  metrics=["accuracy"])
    return model


def build_wide_deep(n_hidden: int = 2, n_neurons: int = 30, learning_rate: float = 1e-3) -> Any:
    """The chapter's wide & deep model; its Normalization layers are left for the search to adapt."""
    import keras

    input_wide = keras.Input(shape=(5,))
    input_deep = keras.Input(shape=(6,))
    hidden = keras.layers.Normalization()(input_deep)
    for _ in range(n_hidden):
        hidden = keras.layers.Dense(n_neurons, activation="relu")(hidden)
    concat = keras.layers.concatenate([keras.layers.Normalization()(input_wide), hidden])
    output = keras.layers.Dense(1)(concat)
    model = keras.Model(inputs=[input_wide, input_deep], outputs=[output])
    model.compile(loss="mse", optimizer=keras.optimizers.Adam(learning_rate=learning_rate))
    return model


def kt_build(hp: Any) -> Any:
    """The Fashion build written against Keras Tuner's ``hp``, the same space."""
    return build_fashion(
        n_hidden=hp.Int("n_hidden", 1, 3),
        n_neurons=hp.Int("n_neurons", 50, 300),
        learning_rate=hp.Float("learning_rate", 1e-4, 1e-2, sampling="log"),
    )


# ----- children: one run each, in a fresh process ------------------------------------------------
def _callbacks(log_dir: str) -> list[Any]:
    import keras

    return [keras.callbacks.EarlyStopping(monitor="val_accuracy", patience=2),
            keras.callbacks.TensorBoard(log_dir=log_dir)]


def _folders(log_dir: str) -> int:
    path = Path(log_dir)
    return sum(1 for p in path.iterdir() if p.is_dir()) if path.exists() else 0


def _warm_up() -> None:
    """Import the tools and run one tiny fit, so no run pays TensorFlow's start-up inside its timing."""
    import keras

    import nnhp_magics.search.loop  # noqa: F401

    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input(shape=(4,)), keras.layers.Dense(4), keras.layers.Dense(1)])
    model.compile(loss="mse", optimizer="sgd")
    model.fit(np.zeros((64, 4), "float32"), np.zeros(64, "float32"), epochs=1, verbose=0)


def fashion_child(tool: str, args: argparse.Namespace, workdir: str) -> dict[str, Any]:
    from _housing import pin_one_thread

    pin_one_thread()
    xt, yt, xv, yv = fashion_splits(args.train_rows, args.valid_rows)
    if tool == "kt":
        import keras_tuner  # noqa: F401
    _warm_up()
    log_dir = os.path.join(workdir, f"tb-{tool}")
    started = time.perf_counter()
    if tool == "nnhp":
        from nnhp_magics import hpsearch

        search = hpsearch(build_fashion, xt, yt, FASHION_SPEC, valid=(xv, yv), trials=args.trials, epochs=args.epochs,
                          patience=2, batch_size=32, objective="val_accuracy", seed=args.seed, namespace={},
                          fit_kwargs={"callbacks": _callbacks(log_dir)}, engine="auto")
        seconds = time.perf_counter() - started
        return {"seconds": seconds, "epochs": sum(t.epochs for t in search.trials), "best": search.best_score,
                "params": search.best_params, "trials": len(search.trials),
                "engines": sorted({t.engine for t in search.trials}),
                "reasons": sorted({t.engine_reason for t in search.trials if t.engine_reason}),
                "tb_folders": _folders(log_dir)}
    import keras
    import keras_tuner as kt

    counter = epoch_counter()
    keras.utils.set_random_seed(args.seed)
    tuner = kt.RandomSearch(kt_build, objective="val_accuracy", max_trials=args.trials, seed=args.seed,
                            directory=workdir, project_name="kt-fashion", overwrite=True)
    tuner.search(xt, yt, epochs=args.epochs, batch_size=32, validation_data=(xv, yv), verbose=0,
                 callbacks=_callbacks(log_dir) + [counter()])
    seconds = time.perf_counter() - started
    best = tuner.oracle.get_best_trials(1)[0]
    return {"seconds": seconds, "epochs": counter.count, "best": float(best.score), "params": best.hyperparameters.values,
            "trials": len(tuner.oracle.trials), "engines": ["fit"], "reasons": [], "tb_folders": _folders(log_dir)}


def wide_deep_child(engine: str, args: argparse.Namespace) -> dict[str, Any]:
    from _housing import pin_one_thread

    pin_one_thread()
    xt, yt, xv, yv = housing_raw()
    _warm_up()
    from nnhp_magics import hpsearch

    started = time.perf_counter()
    search = hpsearch(build_wide_deep, xt, yt, WIDE_DEEP_SPEC, valid=(xv, yv), trials=args.trials,
                      epochs=args.wd_epochs, patience=args.patience, batch_size=32, seed=args.seed, namespace={},
                      engine=engine)
    seconds = time.perf_counter() - started
    return {"seconds": seconds, "epochs": sum(t.epochs for t in search.trials), "best": search.best_score,
            "params": search.best_params, "trials": len(search.trials),
            "states": sorted({t.state for t in search.trials}),
            "engines": sorted({t.engine for t in search.trials}),
            "reasons": sorted({t.engine_reason for t in search.trials if t.engine_reason})}


# ----- driver ------------------------------------------------------------------------------------
def spawn(child: str, args: argparse.Namespace, workdir: str) -> dict[str, Any]:
    """Run one search in a fresh process and read its result line."""
    command = [sys.executable, os.path.abspath(__file__), "--child", child, "--workdir", workdir] + _forward(args)
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [HERE, os.path.dirname(HERE),
                                                                     os.environ.get("PYTHONPATH")])))
    out = subprocess.run(command, capture_output=True, text=True, check=False, env=env)
    for line in out.stdout.splitlines():
        if line.startswith("RESULT "):
            return json.loads(line[7:])
    raise RuntimeError(f"{child} failed:\n{out.stderr[-3000:]}")


def _forward(args: argparse.Namespace) -> list[str]:
    return ["--trials", str(args.trials), "--epochs", str(args.epochs), "--wd-epochs", str(args.wd_epochs),
            "--patience", str(args.patience), "--seed", str(args.seed), "--train-rows", str(args.train_rows),
            "--valid-rows", str(args.valid_rows)]


def _params(p: dict[str, Any]) -> str:
    return ", ".join(f"{k}={v:.2g}" if isinstance(v, float) else f"{k}={v}" for k, v in p.items())


def _row(name: str, r: dict[str, Any]) -> str:
    per_epoch = r["seconds"] / r["epochs"] if r["epochs"] else float("nan")
    engines = ", ".join(r["engines"]) + (f" ({'; '.join(r['reasons'])})" if r["reasons"] else "")
    return (f"| {name} | {r['seconds']:.1f} | {r['epochs']} | {per_epoch:.3f} | {r['best']:.4f} | {engines} "
            f"| {r.get('tb_folders', '-')} | {_params(r['params'])} |")


def fashion_part(args: argparse.Namespace, workdir: str) -> None:
    print(f"\nFashion-MNIST-shaped (synthetic), {args.train_rows} train / {args.valid_rows} valid rows; "
          f"{args.trials} trials, <= {args.epochs} epochs, EarlyStopping(val_accuracy, patience=2) + TensorBoard, "
          f"batch 32, seed {args.seed}", flush=True)
    results = {tool: spawn(f"fashion:{tool}", args, workdir) for tool in ("nnhp", "kt")}
    print("\n| tool | wall s | epochs | s/epoch | best val_accuracy | engines | TensorBoard folders | best params |")
    print("|---|---:|---:|---:|---:|---|---:|---|")
    print(_row("nnhp random (`engine=\"auto\"`)", results["nnhp"]))
    print(_row("Keras Tuner RandomSearch", results["kt"]))
    nnhp, ktr = results["nnhp"], results["kt"]
    print(f"\nnnhp / Keras Tuner wall time: {nnhp['seconds'] / ktr['seconds']:.2f}x; "
          f"nnhp trials all on the graph engine: {nnhp['engines'] == ['graph']}; "
          f"one TensorBoard folder per trial: nnhp {nnhp['tb_folders']} for {nnhp['trials']}, "
          f"Keras Tuner {ktr['tb_folders']} for {ktr['trials']}", flush=True)


def wide_deep_part(args: argparse.Namespace, workdir: str) -> None:
    print(f"\nWide & deep, California housing (11,610 train / 3,870 valid rows); {args.trials} trials, "
          f"<= {args.wd_epochs} epochs, patience {args.patience}, batch 32, seed {args.seed}", flush=True)
    results = {engine: spawn(f"wide-deep:{engine}", args, workdir) for engine in ("auto", "fit")}
    print("\n| engine | wall s | epochs | s/epoch | best val_loss (MSE) | trials' engines | best params |")
    print("|---|---:|---:|---:|---:|---|---|")
    for engine, r in results.items():
        per_epoch = r["seconds"] / r["epochs"] if r["epochs"] else float("nan")
        engines = ", ".join(r["engines"]) + (f" ({'; '.join(r['reasons'])})" if r["reasons"] else "")
        print(f"| `engine=\"{engine}\"` | {r['seconds']:.1f} | {r['epochs']} | {per_epoch:.3f} | {r['best']:.4f} "
              f"| {engines} | {_params(r['params'])} |")
    auto, fit = results["auto"], results["fit"]
    print(f"\nfit / auto wall time: {fit['seconds'] / auto['seconds']:.1f}x, per epoch "
          f"{(fit['seconds'] / fit['epochs']) / (auto['seconds'] / auto['epochs']):.1f}x", flush=True)


def options() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fashion", action="store_true", help="the Fashion-MNIST-shaped search, nnhp vs Keras Tuner")
    parser.add_argument("--wide-deep", action="store_true", help="the wide & deep search, graph engine vs fit")
    parser.add_argument("--trials", type=int, default=8)
    parser.add_argument("--epochs", type=int, default=10, help="max epochs per trial, --fashion")
    parser.add_argument("--wd-epochs", type=int, default=20, help="max epochs per trial, --wide-deep")
    parser.add_argument("--patience", type=int, default=5, help="early-stopping patience, --wide-deep")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--train-rows", type=int, default=6000)
    parser.add_argument("--valid-rows", type=int, default=1000)
    parser.add_argument("--full", action="store_true", help="55,000 / 5,000 rows, as the chapter")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--workdir", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.full:
        args.train_rows, args.valid_rows = 55000, 5000
    if not (args.fashion or args.wide_deep or args.child):
        parser.error("pick --fashion, --wide-deep or both")
    return args


def main() -> None:
    args = options()
    if args.child:
        part, what = args.child.split(":")
        result = fashion_child(what, args, args.workdir) if part == "fashion" else wide_deep_child(what, args)
        print("RESULT " + json.dumps(result, default=float))
        return
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="nnhp-chapter-") as workdir:
        if args.fashion:
            fashion_part(args, workdir)
        if args.wide_deep:
            wide_deep_part(args, workdir)
    print(f"\ntotal {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
