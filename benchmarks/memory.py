"""Peak memory over a long search of small models: it must stay flat after the first trials.

Prints the peak RSS after trial K (default 10) and at the end of N trials (default 100).

    python benchmarks/memory.py [--trials 100] [--after 10] [--rows 2000] [--engine auto|graph|fit] [--jit on|off|auto]

Also prints the RSS growth per trial between trial K and the last, from the RSS itself
(not the peak), which is what a long search in one kernel pays.
"""

from __future__ import annotations

import argparse
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from _housing import TEXTBOOK_SPEC, housing_splits, pin_one_thread, textbook_build


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=100)
    parser.add_argument("--after", type=int, default=10)
    parser.add_argument("--rows", type=int, default=2000)
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--engine", default="auto", choices=("auto", "graph", "fit"))
    parser.add_argument("--jit", default="auto", choices=("auto", "on", "off"), help="XLA: chosen per trial, forced or off")
    args = parser.parse_args()
    pin_one_thread()
    import resource

    import psutil

    from nnhp_magics import hpsearch
    from nnhp_magics.core.events import TrialFinished

    process = psutil.Process()
    peaks: dict[int, float] = {}
    rss: dict[int, float] = {}

    def record(event) -> None:
        if isinstance(event, TrialFinished):
            peaks[event.trial + 1] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
            rss[event.trial + 1] = process.memory_info().rss / 2**20
            if (event.trial + 1) % 20 == 0:
                print(f"trial {event.trial + 1}: rss {process.memory_info().rss / 2**20:.0f} MB", flush=True)

    x, y, xv, yv, _, _ = housing_splits(args.rows)
    hpsearch(
        textbook_build, x, y, TEXTBOOK_SPEC, valid=(xv, yv), trials=args.trials, epochs=args.epochs,
        seed=0, namespace={}, listeners=[record], engine=args.engine, jit={"auto": None, "on": True, "off": False}[args.jit],
    )
    early, final = peaks[args.after], peaks[args.trials]
    print(f"peak RSS after trial {args.after}: {early:.0f} MB; after trial {args.trials}: {final:.0f} MB; growth {final - early:.0f} MB")
    per_trial = (rss[args.trials] - rss[args.after]) / (args.trials - args.after)
    print(f"RSS growth from trial {args.after} to {args.trials}: {per_trial:+.3f} MB per trial "
          f"(--engine {args.engine}, XLA {args.jit})")


if __name__ == "__main__":
    main()
