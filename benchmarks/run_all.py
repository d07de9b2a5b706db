"""Run every benchmark script in this folder, one after the other, and summarise.

Usage: ``python benchmarks/run_all.py [--quick] [NAME_FILTER]``. Each script prints its own
ratios against its anchor; this runner only reports which scripts succeeded and how long each took.
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def main(argv: list[str]) -> int:
    quick = "--quick" in argv
    filters = [a for a in argv if not a.startswith("--")]
    scripts = sorted(p for p in HERE.glob("*.py") if p.name != "run_all.py" and not p.name.startswith(("_", "make_")))
    scripts = [p for p in scripts if not filters or any(f in p.name for f in filters)]
    results = []
    for script in scripts:
        cmd = [sys.executable, str(script)] + (["--quick"] if quick else [])
        print(f"\n=== {script.name} {'(quick)' if quick else ''}", flush=True)
        start = time.perf_counter()
        rc = subprocess.call(cmd)
        results.append((script.name, rc, time.perf_counter() - start))
    print("\n=== summary")
    for name, rc, seconds in results:
        print(f"{'ok  ' if rc == 0 else 'FAIL'} {name:45s} {seconds:8.1f} s")
    return 0 if all(rc == 0 for _, rc, _ in results) else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
