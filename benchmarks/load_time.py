"""How long `%load_ext nnhp_magics` takes in a fresh IPython, and that it imports no TensorFlow.

    python benchmarks/load_time.py [--repeat 5]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys

PROBE = (
    "import sys, time; from IPython.testing.globalipapp import start_ipython; ip = start_ipython(); "
    "t = time.perf_counter(); ip.run_line_magic('load_ext', 'nnhp_magics'); "
    "print(time.perf_counter() - t, 'tensorflow' in sys.modules)"
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    times = []
    for _ in range(args.repeat):
        out = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, check=True).stdout.split()
        times.append(float(out[-2]))
        assert out[-1] == "False", "TensorFlow was imported"
    print(f"%load_ext nnhp_magics: median {statistics.median(times):.3f} s, max {max(times):.3f} s over {args.repeat} runs")


if __name__ == "__main__":
    main()
