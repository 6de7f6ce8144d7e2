"""The search's own overhead: a 10-trial random search vs the same 10 model.fit calls by hand.

Both sides use the same parameters (taken from the search), the same per-trial seeds,
EarlyStopping(restore_best_weights) and TerminateOnNaN, on the same data, in one run.

    python benchmarks/search_overhead.py [--trials 10] [--epochs 20] [--rows 3000]
"""

from __future__ import annotations

import argparse
import os
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from _housing import TEXTBOOK_SPEC, housing_splits, pin_one_thread, textbook_build


def by_hand(params_list, x, y, xv, yv, epochs, patience, seed):
    """The loop a user would write: set the seed, build, fit with the same callbacks."""
    import keras

    from nnhp_magics.training.trial import trial_seed

    for number, params in enumerate(params_list):
        keras.utils.set_random_seed(trial_seed(seed, number))
        model = textbook_build(**params)
        model.fit(
            x, y, validation_data=(xv, yv), epochs=epochs, batch_size=32, verbose=0,
            callbacks=[
                keras.callbacks.EarlyStopping(patience=patience, restore_best_weights=True),
                keras.callbacks.TerminateOnNaN(),
            ],
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=10)
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--rows", type=int, default=3000)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--engine", default="fit", help="the search's engine (fit: the same work as by hand)")
    args = parser.parse_args()
    pin_one_thread()
    from nnhp_magics import hpsearch

    x, y, xv, yv, _, _ = housing_splits(args.rows)
    extra = {"engine": args.engine} if "engine" in hpsearch.__code__.co_varnames else {}
    by_hand([{"n_hidden": 1, "n_neurons": 5, "learning_rate": 1e-3}], x, y, xv, yv, 1, 1, args.seed)  # warm-up
    wall = {"search": 0.0, "hand": 0.0}
    cpu = {"search": 0.0, "hand": 0.0}
    params = None
    for order in ("search", "hand", "hand", "search"):  # ABBA cancels drift in machine load
        started, started_cpu = time.perf_counter(), time.process_time()
        if order == "search":
            search = hpsearch(
                textbook_build, x, y, TEXTBOOK_SPEC, valid=(xv, yv), trials=args.trials, epochs=args.epochs,
                patience=10, seed=args.seed, namespace={}, **extra,
            )
            params = [t.params for t in search.trials]
        else:
            by_hand(params, x, y, xv, yv, args.epochs, 10, args.seed)
        wall[order] += time.perf_counter() - started
        cpu[order] += time.process_time() - started_cpu
    print(f"wall: search {wall['search']:.1f} s, by hand {wall['hand']:.1f} s, ratio {wall['search'] / wall['hand']:.3f}; "
          f"CPU: search {cpu['search']:.1f} s, by hand {cpu['hand']:.1f} s, ratio {cpu['search'] / cpu['hand']:.3f} "
          "(each side run twice, in ABBA order)")

if __name__ == "__main__":
    main()
