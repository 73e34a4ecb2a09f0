#!/usr/bin/env python3
"""Smoke assertions on a compare.py output directory: it ran, and results.md has a measured
row for every contender installed on this machine, in every test. Never checks a speed."""
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
    installed = [n for n in contenders.BUILTIN if contenders.builtin(n).missing is None] + ["direct"]
    tests = sorted({r["test"] for r in data["runs"]})
    problems = []
    for name in installed:
        if f"\n| {name} | " not in table:
            problems.append(f"{name}: no row in results.md")
        for test in tests:
            if name == "direct" and test in ("idle", "strace"):
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
