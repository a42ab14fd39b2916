#!/usr/bin/env python3
"""Load benchmark: N resources of mixed types (default 500) with -parallelism=50.

Runs the load acceptance test (tests/acceptance_load.rs, steps in
tests/support/steps/load.rs) at full size: apply, empty plan, destroy, each checked, and prints
its figures per phase (seconds, request count per system from the provider's debug log,
requests per resource). `cargo test` runs the same test with N=100.

Usage: scripts/bench/load.py [--count 500]
(needs the stack: `scripts/stack up`, or STACK_ENV_FILE naming its env file)
"""
import argparse
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--count", type=int, default=500)
    a = ap.parse_args()
    env = dict(os.environ, CICD_LOAD_SIZE=str(a.count))
    r = subprocess.run(
        ["cargo", "test", "--test", "acceptance_load", "--", "--nocapture"],
        cwd=ROOT, env=env, capture_output=True, text=True,
    )
    lines = (r.stderr + r.stdout).splitlines()
    for line in [l for l in lines if l.startswith("[load ")] + [l for l in lines if l.startswith("test result")]:
        print(line)
    if r.returncode != 0:
        print((r.stdout + r.stderr)[-6000:], file=sys.stderr)
    return r.returncode


if __name__ == "__main__":
    sys.exit(main())
