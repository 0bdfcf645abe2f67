"""`python -m bench [--list] [NAME [args...] ...]`: list or run the benchmarks of issue 5.

Without a name every benchmark runs in order (what `make bench` does). Arguments after a name that start
with `--` are passed to that benchmark (e.g. `python -m bench memory --sizes 500000,1000000`).
"""
from __future__ import annotations

import importlib
import signal
import sys

from bench import BENCHMARKS


def _describe() -> None:
    for name, module in BENCHMARKS.items():
        try:
            desc = importlib.import_module(module).DESCRIPTION
        except Exception as exc:  # noqa: BLE001 - listing must work even when one module is broken
            desc = f"(cannot import: {exc})"
        print(f"{name:10s} {desc}")


def main(argv: list[str]) -> int:
    # SIGTERM (e.g. from `timeout`) unwinds like Ctrl-C, so simulator/child processes are stopped too.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    if argv and argv[0] in ("--list", "-l", "list"):
        _describe()
        return 0
    if argv and argv[0] in ("-h", "--help"):
        print(__doc__)
        _describe()
        return 0
    plan: list[tuple[str, list[str]]] = []
    for arg in argv:
        if arg.startswith("-") and plan:
            plan[-1][1].append(arg)
        elif arg in BENCHMARKS:
            plan.append((arg, []))
        elif plan:
            plan[-1][1].append(arg)  # value of the previous option
        else:
            print(f"unknown benchmark {arg!r}; known: {', '.join(BENCHMARKS)}", file=sys.stderr)
            return 2
    if not plan:
        plan = [(name, []) for name in BENCHMARKS]
    failed = []
    for name, args in plan:
        print(f"=== bench {name} {' '.join(args)}".rstrip(), flush=True)
        code = importlib.import_module(BENCHMARKS[name]).main(args)
        if code:
            failed.append(name)
    if failed:
        print(f"benchmarks that failed to run: {', '.join(failed)}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
