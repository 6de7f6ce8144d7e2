"""Does a learning-rate range from %lrfind search as well as the textbook's fixed range?

Runs, per seed, the same random search twice on California housing: once with
`learning_rate = reciprocal(3e-4, 3e-2)` (the textbook), once with
`loguniform(suggestion / 10, suggestion * 3)` from `lrfind` on the textbook model.

    python benchmarks/lrfind_range.py [--seeds 0 1 2] [--trials 10] [--epochs 20]
"""

from __future__ import annotations

import argparse
import os
import statistics

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from _housing import housing_splits, pin_one_thread, textbook_build

SPACE = "n_hidden = choice(0, 1, 2, 3)\nn_neurons = int(1, 99)\nlearning_rate = {rate}\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--trials", type=int, default=10)
    parser.add_argument("--epochs", type=int, default=20)
    args = parser.parse_args()
    pin_one_thread()
    from nnhp_magics import hpsearch, lrfind

    x, y, xv, yv, _, _ = housing_splits()
    found = lrfind(textbook_build, x, y, quiet=True)
    print(f"lrfind suggestion: {found.suggestion:.4g}")
    ranges = {
        "textbook reciprocal(3e-4, 3e-2)": "reciprocal(3e-4, 3e-2)",
        "lrfind loguniform(s/10, 3s)": f"loguniform({found.suggestion / 10!r}, {found.suggestion * 3!r})",
    }
    scores: dict[str, list[float]] = {name: [] for name in ranges}
    for seed in args.seeds:
        for name, rate in ranges.items():
            search = hpsearch(textbook_build, x, y, SPACE.format(rate=rate), valid=(xv, yv), trials=args.trials,
                              epochs=args.epochs, patience=10, seed=seed, namespace={})
            scores[name].append(search.best_score)
            print(f"seed {seed} {name}: best val MSE {search.best_score:.4f}", flush=True)
    for name, values in scores.items():
        print(f"{name}: median best val MSE {statistics.median(values):.4f} over seeds {args.seeds}")


if __name__ == "__main__":
    main()
