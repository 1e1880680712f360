"""Benchmarks printed as one JSON object (scripts/bench), one key per module of benchmarks/.

Each figure sits beside the raw limit measured in the same run (these machines are shared and
noisy). `--only NAME` runs some of them; each module's `run(tmp, args)` returns its figures.
"""
from __future__ import annotations

import argparse
import importlib
import pkgutil
import sys
import tempfile
import traceback
from pathlib import Path

import orjson

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import benchmarks  # noqa: E402


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--only", help="comma-separated module names (default: all)")
    ap.add_argument("--matches", type=int, default=1000)
    ap.add_argument("--sessions", type=int, default=20)
    ap.add_argument("--samples", type=int, default=200)
    args = ap.parse_args()
    names = sorted(m.name for m in pkgutil.iter_modules(benchmarks.__path__) if m.name != "common")
    if args.only:
        names = [n for n in names if n in args.only.split(",")]
    result, failed = {}, False
    for name in names:
        with tempfile.TemporaryDirectory(prefix=f"betpipe-bench-{name}-") as tmp:
            try:
                result[name] = importlib.import_module(f"benchmarks.{name}").run(Path(tmp), args)
            except Exception as e:  # one broken bench must not hide the others' figures
                result[name] = {"error": f"{type(e).__name__}: {e}"}
                traceback.print_exc()
                failed = True
    print(orjson.dumps(result, option=orjson.OPT_INDENT_2).decode())
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
