"""How long `relvec --help` and `relvec embed --help` take, and what they import (issue: a light CLI start).

Each command is run ``--repeats`` times in a fresh interpreter, alternating, and the median wall time is
reported with the heavy modules the command imported (none is the goal)."""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time

HEAVY = ("torch", "transformers", "sklearn", "matplotlib", "numpy")
PROBE = (
    "import sys\nfrom relvec.cli import main\ntry:\n    main({argv!r})\nexcept SystemExit:\n    pass\n"
    "import json\nprint('IMPORTED', json.dumps(sorted(m for m in {heavy!r} if m in sys.modules)), file=sys.stderr)"
)


def run(argv: list[str]) -> tuple[float, list[str]]:
    code = PROBE.format(argv=argv, heavy=HEAVY)
    start = time.perf_counter()
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    elapsed = time.perf_counter() - start
    line = next(x for x in done.stderr.splitlines() if x.startswith("IMPORTED"))
    return elapsed, json.loads(line.split(" ", 1)[1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args()
    commands = {
        "relvec --help": ["--help"],
        "relvec embed --help": ["embed", "--help"],
        "relvec train --help": ["train", "--help"],
    }
    times: dict[str, list[float]] = {name: [] for name in commands}
    imported: dict[str, list[str]] = {}
    for _ in range(args.repeats):
        for name, argv in commands.items():
            elapsed, heavy = run(argv)
            times[name].append(elapsed)
            imported[name] = heavy
    report = {
        name: {"median_s": round(statistics.median(t), 3), "imports": imported[name]} for name, t in times.items()
    }
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
