#!/usr/bin/env python3
"""Smoke assertions on a compare.py output directory: it ran, and results.md has a measured
column for every contender it was asked for that this machine can run, in every test.
Never checks a speed."""
import json
import os
import sys

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import contenders  # noqa: E402


def main(out):
    with open(os.path.join(out, "results.json")) as f:
        data = json.load(f)
    with open(os.path.join(out, "results.md")) as f:
        table = f.read()
    # The contenders the run was asked for (its --contenders, else the default set of its kind),
    # less those this machine cannot run (not installed, or a binary without the variant's option).
    wanted = data["settings"].get("contenders")
    wanted = wanted.split(",") if wanted else (
        contenders.DEFAULT_QUICK if data["settings"].get("quick") else contenders.DEFAULT_FULL)
    installed = [n for n in wanted if contenders.builtin(n, probe=False).missing is None
                 and n not in data.get("skipped", {})] + ["direct"]
    tests = sorted({r["test"] for r in data["runs"]})
    header = next((line for line in table.splitlines() if line.startswith("| figure | ")), "")
    columns = [c.strip() for c in header.strip("|").split("|")[1:]]
    problems = [] if header else ["results.md has no summary table"]
    for name in installed:
        if name not in columns:
            problems.append(f"{name}: no column in the summary table of results.md")
        for test in tests:
            if name == "direct" and test in ("idle", "startup", "strace", "strace-rtt"):
                continue
            runs = [r for r in data["runs"] if r["contender"] == name and r["test"] == test]
            if not any("result" in r for r in runs):
                errors = "; ".join(r.get("error", "") for r in runs) or "never ran"
                problems.append(f"{name} {test}: no successful run ({errors})")
    if not tests:
        problems.append("no runs at all")
    for p in problems:
        print(f"bench-smoke: FAIL {p}")
    if problems:
        return 1
    print(f"bench-smoke: ok, {len(installed)} contenders × {len(tests)} tests in {out}/results.md")
    return 0


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: check_results.py OUTPUT_DIR")
    sys.exit(main(sys.argv[1]))
