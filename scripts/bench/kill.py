#!/usr/bin/env python3
"""Kill test at full size: `kill -9` of terraform in the middle of an apply of 50
`cicd_image_deployment` (with rollout waits) and one `cicd_registry_credentials` over 20
namespaces, then `apply` again; every object is checked on the kube-apiserver itself.

The test is tests/kill_kube.rs (which `.ci/run` runs at 10 deployments and 4 namespaces); this
script runs it at the size given and prints its figures: when terraform was killed, how many
deployments were applied by then, how long the second apply took, how many objects were checked.

Usage: scripts/bench/kill.py [--deployments 50] [--namespaces 20]
(needs the stack: `scripts/stack up`)
"""
import argparse
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--deployments", type=int, default=50)
    ap.add_argument("--namespaces", type=int, default=20)
    a = ap.parse_args()
    env = dict(os.environ, KILL_DEPLOYMENTS=str(a.deployments), KILL_NAMESPACES=str(a.namespaces))
    r = subprocess.run(
        ["cargo", "test", "-q", "--test", "kill_kube", "--", "--nocapture"],
        cwd=ROOT, env=env, capture_output=True, text=True,
    )
    for line in (r.stdout + r.stderr).splitlines():
        if line.startswith("kill test:") or "panicked" in line or "FAILED" in line:
            print(line)
    sys.exit(r.returncode)


if __name__ == "__main__":
    main()
