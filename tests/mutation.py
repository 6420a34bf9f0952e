"""
Mutation testing of randnum's serving core, module by module.

    python3 -m venv .venv-mutation
    .venv-mutation/bin/pip install '.[dev]'
    .venv-mutation/bin/pip uninstall -y randnum
    .venv-mutation/bin/python tests/mutation.py [MODULE ...]

mutmut (configured in setup.cfg) copies randnum into mutants/ and runs, for
each mutant, the fast in-memory tests that execute the mutated function.
The tests import randnum from the installed package everywhere else
(pytest's importlib mode), so this venv must hold randnum's dependencies but
not randnum itself: then the mutated copy is the one imported.  The default
modules are the serving core; the report gives each module's score and its
surviving mutants (inspect one with `mutmut show NAME`).
"""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from collections import Counter
from pathlib import Path

CORE = (
    "query",
    "generation.source",
    "tcp.framing",
    "tcp.answering",
    "tcp.protocol",
    "flow",
    "limits",
    "stats",
    "server",
    "generation.values",
    "signing.records",
    "signing.store",
    "workers.messages",
    "workers.pool",
)
BIN = Path(sys.executable).parent
#: A mutant that makes a test fail, or hang until mutmut's timeout (an
#: endless loop), is detected.
DETECTED = ("killed", "timeout")


def main() -> None:
    if importlib.util.find_spec("randnum") is not None:
        sys.exit(
            "randnum is installed in this venv, so the tests would import it "
            "rather than the mutants: pip uninstall -y randnum"
        )
    modules = sys.argv[1:] or list(CORE)
    for module in modules:
        run = subprocess.run(
            [str(BIN / "mutmut"), "run", f"randnum.{module}.*"],
            capture_output=True,
            text=True,
            check=False,
        )
        if run.returncode:
            # Most often: a test that fails without any mutant.
            print(f"mutmut failed for {module}:", *run.stdout.splitlines()[-15:])
    results = subprocess.run(
        [str(BIN / "mutmut"), "results", "--all", "true"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    counts: dict[str, Counter[str]] = {module: Counter() for module in modules}
    survivors: dict[str, list[str]] = {module: [] for module in modules}
    for line in results.splitlines():
        name, _, status = line.strip().rpartition(": ")
        module = name.split(".")[1] if name.startswith("randnum.") else ""
        if module in counts and status != "not checked":
            counts[module][status] += 1
            if status not in DETECTED:
                survivors[module].append(f"{name} ({status})")
    print(f"{'module':12} {'mutants':>8} {'killed':>8} {'score':>7}")
    for module in modules:
        total = sum(counts[module].values())
        killed = sum(counts[module][status] for status in DETECTED)
        score = f"{100 * killed / total:.0f}%" if total else "-"
        print(f"{module:12} {total:>8} {killed:>8} {score:>7}")
    for module in modules:
        for survivor in survivors[module]:
            print(f"  {survivor}")


if __name__ == "__main__":
    main()
