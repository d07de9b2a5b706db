"""Bad-input campaign (issue #14): run the whole hostile-input catalogue over every command and
print the pass rate per command and overall, with every failing case and its reason.

The catalogue (tests/bad_input_catalogue.py) discovers the commands from the Typer app, so the
campaign follows the CLI as it changes. Each case runs in-process under a time limit.

    PYTHONPATH=src nice -n 10 /work/venv/bin/python benchmarks/bad_input_campaign.py [--timeout 20] [--only denoise]
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--timeout", type=float, default=20.0, help="seconds per case")
    ap.add_argument("--only", action="append", default=[], help="command name prefix (repeatable)")
    ap.add_argument("--skip-heavy", action="store_true", help="leave out option cases of training/benchmark commands")
    ap.add_argument("--json", dest="json_out", default=None, help="write every outcome to this JSON file")
    args = ap.parse_args()
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    import bad_input_catalogue as cat

    root = Path(tempfile.mkdtemp(prefix="bad_input_"))
    try:
        ws = cat.Workspace(root)
        cat.prepare()  # imports and the app, outside the per-case time limit
        rc, _, err = cat.run_argv(["noise", "estimate", str(ws.good)], root)
        if rc != 0:
            raise SystemExit(f"the harness is broken: a harmless run exited {rc}: {err.strip()[:300]}")
        cases = cat.generate_cases()
        if args.only:
            cases = [c for c in cases if any(c.command.name.startswith(o) for o in args.only)]
        if args.skip_heavy:
            cases = [c for c in cases if not (c.command.heavy and c.expect == "either")]
        per = collections.defaultdict(lambda: [0, 0])
        failures = []
        outcomes = []
        start = time.perf_counter()
        for i, case in enumerate(cases):
            work = root / "cases" / f"{i:04d}"
            work.mkdir(parents=True)
            o = cat.run_case(case, ws, work, timeout=args.timeout)
            shutil.rmtree(work, ignore_errors=True)
            per[case.command.name][0] += o.ok
            per[case.command.name][1] += 1
            outcomes.append(o.__dict__)
            if not o.ok:
                failures.append(o)
                print(f"FAIL {o.case_id}: {o.reason} [{o.seconds:.1f} s] {o.stderr.strip().splitlines()[-1][:200] if o.stderr.strip() else ''}",
                      flush=True)
        total = sum(v[1] for v in per.values())
        passed = sum(v[0] for v in per.values())
        print()
        print(f"{'command':24s} {'passed':>7s} {'cases':>6s} {'rate':>7s}")
        for name, (ok, n) in sorted(per.items()):
            print(f"{name:24s} {ok:7d} {n:6d} {100 * ok / n:6.1f}%")
        print(f"{'TOTAL':24s} {passed:7d} {total:6d} {100 * passed / max(total, 1):6.1f}%  ({time.perf_counter() - start:.0f} s)")
        if args.json_out:
            Path(args.json_out).write_text(json.dumps(outcomes, indent=1))
        return 0 if not failures else 1
    finally:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
