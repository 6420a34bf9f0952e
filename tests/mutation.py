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
modules are the serving core (L{CORE}); mutmut's own progress shows while
each runs.

The report gives each module's score and every surviving mutant, by name
(inspect one with C{mutmut show NAME}).  Each survivor must be judged in
C{tests/equivalent-mutants.md}, by name, as C{equivalent} (no test can tell
it from the original) or C{gap} (a test is still missing): the score
excuses only the equivalent ones, and a survivor the doc does not judge is
listed, and makes the run exit with status 1.

    .venv-mutation/bin/python tests/mutation.py --report

prints the report of the last run again, without running anything.
"""

from __future__ import annotations

import importlib.util
import re
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

CORE = (
    "query",
    "generation.source",
    "generation.values",
    "tcp.framing",
    "tcp.answering",
    "tcp.protocol",
    "flow",
    "limits",
    "stats",
    "server",
    "signing.records",
    "signing.store",
    "workers.messages",
    "workers.pool",
)
BIN = Path(sys.executable).parent
#: The judged survivors.
DOC = Path(__file__).parent / "equivalent-mutants.md"
#: A mutant that makes a test fail, or hang until mutmut's timeout (an
#: endless loop), is detected.
DETECTED = ("killed", "timeout")
#: A judged survivor in the doc: its name in backquotes, then its verdict.
JUDGED = re.compile(r"`(randnum\.[\w.]+__mutmut_\d+)`\s*\|\s*(equivalent|gap)\b")


def moduleOf(name: str, modules: list[str]) -> str | None:
    """
    Which of C{modules} the mutant C{name} (C{randnum.tcp.answering.x_f__mutmut_1})
    belongs to: the longest that is a prefix of its path.
    """
    path = name.split(".")
    best = None
    for module in modules:
        parts = ["randnum", *module.split(".")]
        if path[: len(parts)] == parts and len(path) == len(parts) + 1:
            if best is None or len(module) > len(best):
                best = module
    return best


def judged() -> dict[str, str]:
    """
    The doc's verdict on each survivor it judges, by mutant name.
    """
    return {name: verdict for name, verdict in JUDGED.findall(DOC.read_text())}


def run(module: str) -> None:
    """
    Run mutmut on C{module}'s mutants, its progress on the terminal.
    """
    started = time.monotonic()
    print(f"=== randnum.{module}", flush=True)
    ran = subprocess.run(
        [str(BIN / "mutmut"), "run", f"randnum.{module}.*"], check=False
    )
    minutes = (time.monotonic() - started) / 60
    print(f"=== randnum.{module}: {minutes:.1f} minutes", flush=True)
    if ran.returncode:
        # Most often: a test that fails without any mutant.
        print(f"mutmut failed for {module} (status {ran.returncode})")


def report(modules: list[str]) -> int:
    """
    Print each module's score and its survivors; 1 if any survivor is not
    judged in the doc.
    """
    results = subprocess.run(
        [str(BIN / "mutmut"), "results", "--all", "true"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    verdicts = judged()
    counts: dict[str, Counter[str]] = {module: Counter() for module in modules}
    survivors: dict[str, list[tuple[str, str]]] = {module: [] for module in modules}
    for line in results.splitlines():
        name, _, status = line.strip().rpartition(": ")
        module = moduleOf(name, modules)
        if module is None or status == "not checked":
            continue
        counts[module][status] += 1
        if status not in DETECTED:
            survivors[module].append((name, status))
    print(f"{'module':20} {'mutants':>8} {'killed':>8} {'excused':>8} {'score':>7}")
    for module in modules:
        total = sum(counts[module].values())
        killed = sum(counts[module][status] for status in DETECTED)
        excused = sum(
            verdicts.get(name) == "equivalent" for name, _ in survivors[module]
        )
        scored = total - excused
        score = f"{100 * killed / scored:.0f}%" if scored else "-"
        print(f"{module:20} {total:>8} {killed:>8} {excused:>8} {score:>7}")
    unjudged = []
    for module in modules:
        for name, status in survivors[module]:
            verdict = verdicts.get(name, "NOT IN THE DOC")
            print(f"  {name} ({status}): {verdict}")
            if name not in verdicts:
                unjudged.append(name)
    if unjudged:
        print(
            f"{len(unjudged)} survivors are not judged in {DOC.name}: "
            "read each (mutmut show NAME), then kill it or add it there."
        )
        return 1
    return 0


def main() -> None:
    """
    Run the modules named (or the core), then report.
    """
    if importlib.util.find_spec("randnum") is not None:
        sys.exit(
            "randnum is installed in this venv, so the tests would import it "
            "rather than the mutants: pip uninstall -y randnum"
        )
    arguments = sys.argv[1:]
    if arguments[:1] == ["--report"]:
        sys.exit(report(arguments[1:] or list(CORE)))
    modules = arguments or list(CORE)
    started = time.monotonic()
    for module in modules:
        run(module)
    print(f"all modules: {(time.monotonic() - started) / 60:.1f} minutes")
    sys.exit(report(modules))


if __name__ == "__main__":
    main()
