"""Every nnhp_magics strategy against the tools a user would reach for instead, side by side in one run.

California housing split as the textbook does (random_state=42), the textbook MLP and
space (n_hidden 0-3, n_neurons 1-99, learning_rate log-uniform 3e-4..3e-2), SGD,
batch 32, EarlyStopping(patience, restore_best_weights=True); the same trial budget
and seeds for every run. Each run gets a fresh process with one TensorFlow thread;
two run at a time (--jobs). Wall seconds cover the search itself (scikit-learn's
refit included), not imports, a warm-up fit or the export. The best model each tool
exports is loaded back and evaluated on the validation and test sets.

The peers' results are kept in ``benchmarks/results/peers.json`` (one entry per run,
seed and budget, written as each run finishes): a later call reuses them and runs
only what is missing, so the nnhp rows can be refreshed in minutes beside peers that
took hours. ``--refresh`` reruns the peers too; nnhp runs always run.

    python benchmarks/peers.py --quick                                # 10 trials, 20 epochs, seed 0: 15-30 min on 2 cores
    python benchmarks/peers.py --seeds 0 1 2 --trials 20 --epochs 100  # the textbook budget: hours the first time

``nnhp-hyperband`` runs Hyperband's whole plan for ``--epochs`` as Keras Tuner sizes
it (the trial budget does not bound it); ``nnhp-random-cv`` is the seed's workflow,
3-fold CV over the trial budget and a refit of the best parameters, as
RandomizedSearchCV does; ``nnhp-hyperband-tpe`` is the same plan with TPE proposing
each bracket's configurations (``--sampler tpe``, BOHB-style) instead of random draws.

``grid`` is left out: the space has a continuous learning rate, so there is no grid.
"""

from __future__ import annotations

import argparse
import json
import math
import multiprocessing
import os
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import Future, ProcessPoolExecutor, as_completed
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

from _housing import TEXTBOOK_SPEC, epoch_counter, housing_splits, pin_one_thread, textbook_build

NNHP_STRATEGIES = ("random", "bayes", "hyperband", "evolution")
NNHP_RUNS = tuple(f"nnhp-{s}" for s in NNHP_STRATEGIES) + ("nnhp-random-cv", "nnhp-hyperband-tpe")
PEERS = ("kt-random", "kt-bayes", "kt-hyperband", "sklearn-randomized-cv", "optuna-tpe-pruning")
RUNS = NNHP_RUNS + PEERS
LONGEST_FIRST = ("sklearn-randomized-cv", "kt-hyperband")
RESULTS_FILE = Path(__file__).resolve().parent / "results" / "peers.json"


@dataclass
class Budget:
    """What every run gets: trials, epochs per trial, early-stopping patience, and where to write."""

    trials: int
    epochs: int
    patience: int
    workdir: str
    sampler: str = "tpe"

    @property
    def key(self) -> str:
        """What a kept result must match to be reused: the trial budget, epochs and patience."""
        return f"trials={self.trials} epochs={self.epochs} patience={self.patience}"


@dataclass
class Result:
    """One run's figures; ``val_mse`` and ``test_mse`` come from its exported best model."""

    run: str
    seed: int
    seconds: float = math.nan
    epochs: int = 0
    trials: str = ""
    val_mse: float = math.nan
    test_mse: float = math.nan
    note: str = ""
    error: str | None = None
    measured: str = ""

    @property
    def seconds_per_epoch(self) -> float:
        return self.seconds / self.epochs if self.epochs else math.nan


@dataclass
class Searched:
    """What a search hands back before evaluation: the best model's path and its bookkeeping."""

    model_path: str
    epochs: int
    trials: str
    note: str = ""


def _early_stopping(patience: int) -> Any:
    import keras

    return keras.callbacks.EarlyStopping(patience=patience, restore_best_weights=True)


def run_nnhp(
    strategy: str, seed: int, data: tuple, budget: Budget, cv: int | None = None, sampler: str | None = None
) -> Searched:
    """One ``hpsearch`` with this strategy, exported as %hpexport would (under ``cv``, after the refit).

    ``bayes`` uses the budget's sampler, any other strategy ``sampler`` (None: its
    default); ``hyperband`` runs its whole plan for the budget's epochs, as Keras
    Tuner's Hyperband does.
    """
    from nnhp_magics import hpsearch

    xt, yt, xv, yv = data[:4]
    search = hpsearch(
        textbook_build, xt, yt, TEXTBOOK_SPEC, valid=(xv, yv), strategy=strategy, cv=cv,
        trials=None if strategy == "hyperband" else budget.trials, epochs=budget.epochs, patience=budget.patience,
        batch_size=32, seed=seed, namespace={}, sampler=budget.sampler if strategy == "bayes" else sampler,
    )
    paths = search.export(Path(budget.workdir) / f"nnhp-{strategy}-{sampler or 'default'}-{cv or 1}-{seed}")
    states = [t.state for t in search.trials]
    engines = ", ".join(sorted({t.engine for t in search.trials}))
    folds = f" x {cv} folds + refit" if cv else ""
    return Searched(
        str(paths["model"]), sum(t.epochs for t in search.trials), _state_counts(states) + folds, f"engine {engines}"
    )


def kt_build(hp: Any) -> Any:
    """The textbook build written against Keras Tuner's ``hp`` object."""
    return textbook_build(
        n_hidden=hp.Int("n_hidden", 0, 3),
        n_neurons=hp.Int("n_neurons", 1, 99),
        learning_rate=hp.Float("learning_rate", 3e-4, 3e-2, sampling="log"),
    )


def run_keras_tuner(kind: str, seed: int, data: tuple, budget: Budget) -> Searched:
    """Keras Tuner's RandomSearch, BayesianOptimization or Hyperband (one full iteration, factor 3)."""
    import keras
    import keras_tuner as kt

    xt, yt, xv, yv = data[:4]
    common = dict(objective="val_loss", seed=seed, directory=budget.workdir, project_name=f"kt-{kind}-{seed}",
                  overwrite=True)
    if kind == "hyperband":
        tuner = kt.Hyperband(kt_build, max_epochs=budget.epochs, factor=3, **common)
    elif kind == "bayes":
        tuner = kt.BayesianOptimization(kt_build, max_trials=budget.trials, **common)
    else:
        tuner = kt.RandomSearch(kt_build, max_trials=budget.trials, **common)
    counter = epoch_counter()
    keras.utils.set_random_seed(seed)
    tuner.search(xt, yt, epochs=budget.epochs, batch_size=32, validation_data=(xv, yv), verbose=0,
                 callbacks=[_early_stopping(budget.patience), counter()])
    path = str(Path(budget.workdir) / f"kt-{kind}-{seed}.keras")
    tuner.get_best_models(1)[0].save(path)
    states = [str(t.status).lower() for t in tuner.oracle.trials.values()]
    return Searched(path, counter.count, _state_counts(states))


class TextbookKwargs:
    """The textbook's param_distribs as one distribution: SKLearnRegressor takes every build argument in ``model_kwargs``."""

    def rvs(self, random_state: Any = None) -> dict[str, Any]:
        from scipy.stats import reciprocal
        from sklearn.utils import check_random_state

        rng = check_random_state(random_state)
        return {
            "n_hidden": int(rng.choice([0, 1, 2, 3])),
            "n_neurons": int(rng.randint(1, 100)),
            "learning_rate": float(reciprocal(3e-4, 3e-2).rvs(random_state=rng)),
        }


def sklearn_build(X: Any = None, y: Any = None, **params: Any) -> Any:
    """SKLearnRegressor calls the builder with X and y; the textbook build ignores them."""
    return textbook_build(**params)


def run_sklearn(seed: int, data: tuple, budget: Budget) -> Searched:
    """RandomizedSearchCV(cv=3) over keras.wrappers.SKLearnRegressor, refit on the whole training set."""
    import keras
    from sklearn.model_selection import RandomizedSearchCV

    xt, yt, xv, yv = data[:4]
    counter = epoch_counter()
    keras.utils.set_random_seed(seed)
    search = RandomizedSearchCV(
        keras.wrappers.SKLearnRegressor(model=sklearn_build), {"model_kwargs": TextbookKwargs()},
        n_iter=budget.trials, cv=3, scoring="neg_mean_squared_error", random_state=seed, refit=True,
    )
    search.fit(xt, yt, epochs=budget.epochs, batch_size=32, validation_data=(xv, yv), verbose=0,
               callbacks=[_early_stopping(budget.patience), counter()])
    path = str(Path(budget.workdir) / f"sklearn-{seed}.keras")
    search.best_estimator_.model_.save(path)
    return Searched(path, counter.count, f"{budget.trials}x3 folds", note=f"CV MSE {-search.best_score_:.3f}")


def pruning_callback(trial: Any, monitor: str = "val_loss") -> Any:
    """The Keras pruning callback a user writes for Optuna 5: report each epoch, raise TrialPruned when told."""
    import keras
    import optuna

    class OptunaPruning(keras.callbacks.Callback):
        def on_epoch_end(self, epoch: int, logs: dict[str, float] | None = None) -> None:
            value = (logs or {}).get(monitor)
            if value is None or not math.isfinite(value):
                return
            trial.report(value, epoch + 1)
            if trial.should_prune():
                raise optuna.TrialPruned(f"pruned at epoch {epoch + 1}")

    return OptunaPruning()


def run_optuna(seed: int, data: tuple, budget: Budget) -> Searched:
    """Optuna's TPE with a HyperbandPruner, driven by study.optimize and a hand-written Keras callback."""
    import keras
    import optuna

    xt, yt, xv, yv = data[:4]
    counter = epoch_counter()
    best: dict[str, Any] = {"value": math.inf, "model": None}

    def objective(trial: optuna.Trial) -> float:
        params = {
            "n_hidden": trial.suggest_int("n_hidden", 0, 3),
            "n_neurons": trial.suggest_int("n_neurons", 1, 99),
            "learning_rate": trial.suggest_float("learning_rate", 3e-4, 3e-2, log=True),
        }
        keras.utils.set_random_seed(seed * 1000 + trial.number)
        model = textbook_build(**params)
        history = model.fit(xt, yt, epochs=budget.epochs, batch_size=32, validation_data=(xv, yv), verbose=0,
                            callbacks=[_early_stopping(budget.patience), counter(), pruning_callback(trial)])
        value = min((v for v in history.history["val_loss"] if math.isfinite(v)), default=math.nan)
        if value < best["value"]:
            best.update(value=value, model=model)
        return value

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(
        sampler=optuna.samplers.TPESampler(seed=seed),
        pruner=optuna.pruners.HyperbandPruner(min_resource=1, max_resource=budget.epochs, reduction_factor=3),
    )
    study.optimize(objective, n_trials=budget.trials)
    path = str(Path(budget.workdir) / f"optuna-{seed}.keras")
    best["model"].save(path)
    return Searched(path, counter.count, _state_counts([t.state.name.lower() for t in study.trials]))


def _state_counts(states: list[str]) -> str:
    """'7 complete, 3 pruned' from a list of trial states."""
    counts: dict[str, int] = {}
    for state in states:
        counts[state] = counts.get(state, 0) + 1
    return ", ".join(f"{n} {state}" for state, n in counts.items())


def _searcher(run: str) -> Callable[[int, tuple, Budget], Searched]:
    """The function behind a run name."""
    if run == "nnhp-random-cv":
        return lambda seed, data, budget: run_nnhp("random", seed, data, budget, cv=3)
    if run == "nnhp-hyperband-tpe":
        return lambda seed, data, budget: run_nnhp("hyperband", seed, data, budget, sampler="tpe")
    if run.startswith("nnhp-"):
        return lambda seed, data, budget: run_nnhp(run.removeprefix("nnhp-"), seed, data, budget)
    if run.startswith("kt-"):
        return lambda seed, data, budget: run_keras_tuner(run.removeprefix("kt-"), seed, data, budget)
    return {"sklearn-randomized-cv": run_sklearn, "optuna-tpe-pruning": run_optuna}[run]


def _warm_up(data: tuple) -> None:
    """Import every tool and run one tiny fit, so no run pays TensorFlow's start-up inside its timing."""
    import keras
    import keras_tuner  # noqa: F401
    import optuna  # noqa: F401
    import sklearn.model_selection  # noqa: F401

    import nnhp_magics.search.loop  # noqa: F401

    keras.utils.set_random_seed(0)
    textbook_build().fit(data[0][:64], data[1][:64], epochs=1, verbose=0)


def run_one(run: str, seed: int, budget: Budget) -> Result:
    """Run one search in this (fresh) process and evaluate the model it exports."""
    import keras

    pin_one_thread()
    data = housing_splits()
    _warm_up(data)
    started = time.perf_counter()
    searched = _searcher(run)(seed, data, budget)
    seconds = time.perf_counter() - started
    model = keras.models.load_model(searched.model_path)
    val = model.evaluate(data[2], data[3], batch_size=1024, verbose=0)
    test = model.evaluate(data[4], data[5], batch_size=1024, verbose=0)
    return Result(run, seed, seconds, searched.epochs, searched.trials, float(val), float(test), searched.note,
                  measured=_measured())


def _measured() -> str:
    """When and with what versions a result was measured, kept beside it in the results file."""
    from importlib.metadata import version

    tools = ("tensorflow", "keras", "keras-tuner", "scikit-learn", "optuna")
    return time.strftime("%Y-%m-%d") + " " + " ".join(f"{t} {version(t)}" for t in tools)


def load_kept(path: Path) -> dict[str, dict[str, Any]]:
    """The kept results, by ``run seed budget`` key; an absent file keeps none."""
    if not path.exists():
        return {}
    return json.loads(path.read_text())


def keep(path: Path, kept: dict[str, dict[str, Any]], budget: Budget, result: Result) -> None:
    """Add a successful peer result to the results file, written to a temporary file and renamed over it."""
    if result.error is not None or result.run in NNHP_RUNS:
        return
    kept.update(load_kept(path))  # another run of this script may have kept results since this one read them
    kept[_kept_key(result.run, result.seed, budget)] = asdict(result)
    path.parent.mkdir(parents=True, exist_ok=True)
    temp = path.with_name(f".{path.name}.{os.getpid()}.partial")
    temp.write_text(json.dumps(kept, indent=1, sort_keys=True) + "\n")
    os.replace(temp, path)


def _kept_key(run: str, seed: int, budget: Budget) -> str:
    return f"{run} seed={seed} {budget.key}"


def kept_result(kept: dict[str, dict[str, Any]], run: str, seed: int, budget: Budget) -> Result | None:
    """A peer's kept result for this seed and budget, or None."""
    entry = kept.get(_kept_key(run, seed, budget))
    if entry is None or run in NNHP_RUNS:
        return None
    names = {f.name for f in fields(Result)}
    return Result(**{k: v for k, v in entry.items() if k in names})


def _quiet_worker(verbose: bool) -> None:
    """Send a worker's output (progress bars, TF logs) to /dev/null unless --verbose."""
    if verbose:
        return
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)
    os.dup2(devnull, 2)
    sys.stdout = sys.stderr = open(os.devnull, "w")


def run_all(
    runs: list[str], seeds: list[int], budget: Budget, jobs: int, verbose: bool, results_file: Path, refresh: bool
) -> list[Result]:
    """Every (run, seed) not kept in its own process, ``jobs`` at a time; results in table order.

    Several at a time, the longest start first (so none is left alone at the end);
    one at a time, seed by seed in table order, so each seed's runs finish together.
    """
    kept = load_kept(results_file)
    results: dict[tuple[str, int], Result] = {}
    for run, seed in ((r, s) for s in seeds for r in runs):
        found = None if refresh else kept_result(kept, run, seed, budget)
        if found is not None:
            results[run, seed] = found
            print(f"  kept     {format_row(found)}  (measured {found.measured})", flush=True)
    missing = [(r, s) for s in seeds for r in runs if (r, s) not in results]
    order = missing if jobs == 1 else sorted(missing, key=lambda rs: (rs[0] not in LONGEST_FIRST, rs[1]))
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(jobs, mp_context=context, initializer=_quiet_worker, initargs=(verbose,),
                             max_tasks_per_child=1) as pool:
        futures: dict[Future, tuple[str, int]] = {pool.submit(run_one, r, s, budget): (r, s) for r, s in order}
        for future in as_completed(futures):
            run, seed = futures[future]
            try:
                results[run, seed] = future.result()
            except Exception as exc:  # one broken run must not lose hours of the others
                results[run, seed] = Result(run, seed, error=f"{type(exc).__name__}: {exc}")
            keep(results_file, kept, budget, results[run, seed])
            print(f"  finished {format_row(results[run, seed])}", flush=True)
    return [results[r, s] for r in runs for s in seeds]


HEADER = f"{'run':<22} {'seed':>4} {'wall s':>8} {'epochs':>7} {'s/epoch':>8} {'val MSE':>8} {'test MSE':>8}  trials"


def format_row(r: Result) -> str:
    """One table line for a result (or its error)."""
    if r.error is not None:
        return f"{r.run:<22} {r.seed:>4}  FAILED: {r.error}"
    note = f"; {r.note}" if r.note else ""
    return (f"{r.run:<22} {r.seed:>4} {r.seconds:>8.0f} {r.epochs:>7d} {r.seconds_per_epoch:>8.2f} "
            f"{r.val_mse:>8.3f} {r.test_mse:>8.3f}  {r.trials}{note}")


def _median(results: list[Result], run: str, attr: str) -> float:
    values = [getattr(r, attr) for r in results if r.run == run and r.error is None]
    return statistics.median(values) if values else math.nan


def summary(results: list[Result], runs: list[str]) -> list[str]:
    """Per run over seeds: median and range of wall seconds, val and test MSE."""
    lines = [f"{'run':<22} {'wall s median [range]':>24} {'val MSE median [range]':>26} {'test MSE median [range]':>26}"]
    for run in runs:
        ok = [r for r in results if r.run == run and r.error is None]
        if not ok:
            continue
        cells = []
        for attr in ("seconds", "val_mse", "test_mse"):
            values = [getattr(r, attr) for r in ok]
            fmt = ".0f" if attr == "seconds" else ".3f"
            cells.append(f"{statistics.median(values):{fmt}} [{min(values):{fmt}}-{max(values):{fmt}}]")
        lines.append(f"{run:<22} {cells[0]:>24} {cells[1]:>26} {cells[2]:>26}")
    return lines


KT_OF_THE_SAME_KIND = {"random": "kt-random", "bayes": "kt-bayes", "hyperband": "kt-hyperband", "evolution": "kt-random"}


def _mark(ok: bool) -> str:
    return "[met]   " if ok else "[MISSED]"


def targets(results: list[Result]) -> list[str]:
    """The targets, judged on the medians over seeds, for those whose runs are in ``results``."""
    present = {r.run for r in results if r.error is None}
    lines = []
    if {"nnhp-random-cv", "sklearn-randomized-cv"} <= present:
        lines.append(_end_to_end_target(results))
    lines += [_hyperband_target(results, run) for run in ("nnhp-hyperband", "nnhp-hyperband-tpe")
              if {run, "kt-hyperband"} <= present]
    if set(RUNS) <= present:
        lines.append(_bayes_target(results))
    lines += [_speed_target(results, s) for s in NNHP_STRATEGIES if {f"nnhp-{s}", KT_OF_THE_SAME_KIND[s]} <= present]
    return lines


def _end_to_end_target(results: list[Result]) -> str:
    """The seed's workflow (3-fold CV and a refit) at least 40x faster than RandomizedSearchCV's, test MSE no worse."""
    ours_s, theirs_s = _median(results, "nnhp-random-cv", "seconds"), _median(results, "sklearn-randomized-cv", "seconds")
    ours_t, theirs_t = (_median(results, r, "test_mse") for r in ("nnhp-random-cv", "sklearn-randomized-cv"))
    speedup = theirs_s / ours_s
    return (f"{_mark(speedup >= 40 and ours_t <= theirs_t)} random, cv=3 + refit >= 40x faster than "
            f"RandomizedSearchCV(cv=3): {ours_s:.0f} s vs {theirs_s:.0f} s ({speedup:.1f}x), "
            f"test MSE {ours_t:.3f} vs {theirs_t:.3f}")


def _hyperband_target(results: list[Result], run: str) -> str:
    """nnhp hyperband (full plan; ``run`` names its proposals) reaches KT Hyperband's validation MSE in at most 1/20 of its wall time."""
    hb_val, kt_val = _median(results, run, "val_mse"), _median(results, "kt-hyperband", "val_mse")
    hb_s, kt_s = _median(results, run, "seconds"), _median(results, "kt-hyperband", "seconds")
    return (f"{_mark(hb_val <= kt_val and hb_s <= kt_s / 20)} {run} val MSE {hb_val:.3f} <= KT Hyperband's "
            f"{kt_val:.3f} in <= 1/20 of its wall time: {hb_s:.0f} s vs {kt_s:.0f} s ({hb_s / kt_s:.3f}x)")


def _bayes_target(results: list[Result]) -> str:
    """nnhp bayes reaches a validation MSE no worse than every peer's."""
    bayes = _median(results, "nnhp-bayes", "val_mse")
    peers = {p: v for p in PEERS if not math.isnan(v := _median(results, p, "val_mse"))}
    better = [f"{p} {v:.3f}" for p, v in peers.items() if v < bayes]
    tail = f"; better: {', '.join(better)}" if better else f" (best peer {min(peers.values(), default=math.nan):.3f})"
    return f"{_mark(not better and not math.isnan(bayes))} bayes val MSE {bayes:.3f} <= every peer's{tail}"


def _speed_target(results: list[Result], strategy: str) -> str:
    """An nnhp strategy's seconds per trained epoch within 10% of the Keras Tuner tuner of the same kind."""
    run, peer = f"nnhp-{strategy}", KT_OF_THE_SAME_KIND[strategy]
    ours = _median(results, run, "seconds") / _median(results, run, "epochs")
    theirs = _median(results, peer, "seconds") / _median(results, peer, "epochs")
    return (f"{_mark(ours <= 1.10 * theirs)} {run} s/epoch within 10% of {peer}'s: "
            f"{ours:.2f} vs {theirs:.2f} ({ours / theirs:.2f}x)")


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="10 trials, 20 epochs, seed 0 (15-30 minutes on 2 cores)")
    parser.add_argument("--trials", type=int, default=None, help="trials per run (default 20; --quick 10)")
    parser.add_argument("--epochs", type=int, default=None, help="max epochs per trial (default 100; --quick 20)")
    parser.add_argument("--patience", type=int, default=10)
    parser.add_argument("--seeds", type=int, nargs="+", default=None, help="default 0 1 2; --quick 0")
    parser.add_argument("--jobs", type=int, default=2, help="runs at a time, one TensorFlow thread each")
    parser.add_argument("--only", nargs="+", choices=RUNS, default=None, help="a subset of the runs")
    parser.add_argument("--verbose", action="store_true", help="keep the runs' own output")
    parser.add_argument("--sampler", choices=("tpe", "gp"), default="tpe",
                        help="the model behind nnhp bayes (gp needs the gp extra: PyTorch)")
    parser.add_argument("--results", type=Path, default=RESULTS_FILE,
                        help="the file keeping the peers' results (default benchmarks/results/peers.json)")
    parser.add_argument("--refresh", action="store_true", help="rerun the peers even when their results are kept")
    args = parser.parse_args()
    args.trials = args.trials or (10 if args.quick else 20)
    args.epochs = args.epochs or (20 if args.quick else 100)
    args.seeds = args.seeds or ([0] if args.quick else [0, 1, 2])
    return args


def main() -> None:
    args = parse_args()
    runs = list(args.only or RUNS)
    workdir = tempfile.mkdtemp(prefix="nnhp-peers-")
    budget = Budget(args.trials, args.epochs, args.patience, workdir, args.sampler)
    print(f"{len(runs)} runs x seeds {args.seeds}: {args.trials} trials, <= {args.epochs} epochs, patience "
          f"{args.patience}, {args.jobs} at a time, nnhp bayes with {args.sampler}; grid is left out (continuous learning rate: "
          "no grid)", flush=True)
    started = time.perf_counter()
    try:
        results = run_all(runs, args.seeds, budget, args.jobs, args.verbose, args.results, args.refresh)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    print(f"\n{HEADER}")
    print("\n".join(format_row(r) for r in results))
    if len(args.seeds) > 1:
        print("\n" + "\n".join(summary(results, runs)))
    print("\n" + "\n".join(targets(results)))
    print(f"\ntotal {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
