"""Is a refined second round better than more random trials?

Per seed, on California housing with the textbook model and space (SGD, batch 32,
patience 10, --valid on the textbook's validation split):

- ``random 30``: one random search of 30 trials;
- ``random 20 + refined 10``: a random search of 20 trials with the same seed (its
  trials are the first 20 of the other arm: parameters and TensorFlow seeds derive
  from (seed, trial number)), then ``search.run_round(trials=10)``: the refined spec
  around the top 25% of complete trials, random strategy, in the same study.

Prints per seed the best validation MSE, the test MSE of the best model (the best
trial's own model) and the wall time of each arm, then the medians.

    python benchmarks/refine.py [--seeds 0 1 2] [--first 20] [--second 10] [--epochs 100]
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from _housing import TEXTBOOK_SPEC, housing_splits, pin_one_thread, textbook_build


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--first", type=int, default=20)
    parser.add_argument("--second", type=int, default=10)
    parser.add_argument("--epochs", type=int, default=100)
    args = parser.parse_args()
    pin_one_thread()
    from nnhp_magics import hpsearch

    x, y, xv, yv, xt, yt = housing_splits()
    common = {"valid": (xv, yv), "epochs": args.epochs, "patience": 10, "namespace": {}}

    def test_mse(search) -> float:
        return float(search.best_model.evaluate(xt, yt, verbose=0))

    print("| seed | arm | best val MSE | test MSE | wall s |")
    print("|---|---|---|---|---|")
    results: dict[str, list[float]] = {"random": [], "refined": []}
    for seed in args.seeds:
        began = time.perf_counter()
        plain = hpsearch(textbook_build, x, y, TEXTBOOK_SPEC, trials=args.first + args.second, seed=seed, **common)
        plain_wall = time.perf_counter() - began
        print(f"| {seed} | random {args.first + args.second} | {plain.best_score:.4f} | {test_mse(plain):.4f} "
              f"| {plain_wall:.0f} |", flush=True)
        began = time.perf_counter()
        refined = hpsearch(textbook_build, x, y, TEXTBOOK_SPEC, trials=args.first, seed=seed, **common)
        spec = refined.refine()
        refined.run_round(spec, trials=args.second)
        refined_wall = time.perf_counter() - began
        ranges = "; ".join(line.split("=", 1)[1].strip() for line in spec.splitlines() if "=" in line and not line.startswith("#"))
        print(f"| {seed} | random {args.first} + refined {args.second} ({ranges}) | {refined.best_score:.4f} "
              f"| {test_mse(refined):.4f} | {refined_wall:.0f} |", flush=True)
        results["random"].append(plain.best_score)
        results["refined"].append(refined.best_score)
    wins = sum(r < p for r, p in zip(results["refined"], results["random"]))
    print(f"median best val MSE: random {statistics.median(results['random']):.4f}, "
          f"refined {statistics.median(results['refined']):.4f}; refined better on {wins} of {len(args.seeds)} seeds")


if __name__ == "__main__":
    main()
