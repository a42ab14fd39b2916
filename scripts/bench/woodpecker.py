#!/usr/bin/env python3
"""Woodpecker benchmark: refresh of N global secrets and M repositories.

Creates M repositories on the stack's forge (org $FORGEJO_TEST_ORG), applies a configuration
with N `cicd_woodpecker_global_secret` and M `cicd_woodpecker_repo` resources, then times
`terraform plan` (refresh of all + plan) and counts the provider's API requests per system from
its debug log ("http request" lines). The goal is one list walk per collection (50 per page),
not one GET per object. Prints figures; asserts nothing. Destroys and cleans up.

Usage: scripts/bench/woodpecker.py [--secrets 100] [--repos 20] [--cli TERRAFORM_LATEST]
                                   [--provider-dir DIR]
(needs the stack: `scripts/stack up`; the provider binary built with `cargo build`)
"""
import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(Path(__file__).resolve().parent))
from kube import count_requests, stack_env  # noqa: E402  (the stack's settings, request counting)


def forge(env, method, path, body=None):
    req = urllib.request.Request(
        env["FORGEJO_URL"].rstrip("/") + path,
        method=method,
        data=json.dumps(body).encode() if body is not None else None,
        headers={"Authorization": f"token {env['FORGEJO_TOKEN']}", "Content-Type": "application/json"},
    )
    with urllib.request.urlopen(req) as r:
        return r.status


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--secrets", type=int, default=100)
    ap.add_argument("--repos", type=int, default=20)
    ap.add_argument("--cli", default="TERRAFORM_LATEST", help="env key of the CLI (TERRAFORM_103, TERRAFORM_LATEST, TOFU)")
    ap.add_argument("--provider-dir", default=None)
    a = ap.parse_args()
    env, _ = stack_env()
    cli = env[a.cli]
    target = Path(env.get("CARGO_TARGET_DIR", ROOT / "target"))
    pdir = Path(a.provider_dir) if a.provider_dir else target / "debug"
    if not (pdir / "terraform-provider-cicd").exists():
        sys.exit(f"no provider binary in {pdir}: run cargo build (or pass --provider-dir)")
    org = env.get("FORGEJO_TEST_ORG", "cicd-test")
    tag = f"{os.getpid() & 0xffff:04x}"
    repos = [f"bench-wp-{tag}-{i:02d}" for i in range(a.repos)]
    secrets = [f"BENCH_{tag.upper()}_{i:03d}" for i in range(a.secrets)]
    work = Path(tempfile.mkdtemp(prefix="cicd-bench-wp-"))
    try:
        t = time.monotonic()
        for r in repos:
            forge(env, "POST", f"/api/v1/orgs/{org}/repos", {"name": r, "auto_init": True})
        print(f"created {a.repos} forge repositories in {time.monotonic() - t:.1f}s")
        (work / "cli.tfrc").write_text(
            f'provider_installation {{\n  dev_overrides {{\n    "viktorbarzin/cicd" = "{pdir}"\n  }}\n  direct {{}}\n}}\n'
        )
        (work / "main.tf").write_text(
            'terraform {\n  required_providers {\n    cicd = { source = "viktorbarzin/cicd" }\n  }\n}\n'
            + f"locals {{\n  repos   = {json.dumps(repos)}\n  secrets = {json.dumps(secrets)}\n}}\n"
            + 'resource "cicd_woodpecker_global_secret" "s" {\n  for_each = toset(local.secrets)\n'
            '  name     = each.key\n  events   = ["push", "tag"]\n  value    = "bench-${each.key}"\n}\n'
            + 'resource "cicd_woodpecker_repo" "r" {\n  for_each  = toset(local.repos)\n'
            f'  full_name = "{org}/${{each.key}}"\n  timeout   = 30\n}}\n'
        )
        run_env = dict(env, TF_CLI_CONFIG_FILE=str(work / "cli.tfrc"), CHECKPOINT_DISABLE="1",
                       TF_IN_AUTOMATION="1", TF_LOG_PROVIDER="DEBUG")
        run_env.pop("TF_LOG", None)

        def tf(*args):
            t = time.monotonic()
            r = subprocess.run([cli, *args, "-no-color", "-input=false"], cwd=work, env=run_env,
                               capture_output=True, text=True)
            return time.monotonic() - t, r

        secs, r = tf("apply", "-auto-approve")
        if r.returncode != 0:
            sys.exit("apply failed:\n" + r.stdout[-3000:] + r.stderr[-3000:])
        c = count_requests(r.stderr)
        print(f"apply of {a.secrets} secrets + {a.repos} repos: {secs:.1f}s, requests {dict(c)}")
        for label, extra in [("plan (refresh of all)", []), ("plan -refresh=false", ["-refresh=false"])]:
            secs, r = tf("plan", "-detailed-exitcode", *extra)
            c = count_requests(r.stderr)
            print(f"{label} with {a.secrets} secrets + {a.repos} repos: {secs:.2f}s, exit {r.returncode}, "
                  f"requests {dict(c)} (total {sum(c.values())})")
        secs, r = tf("destroy", "-auto-approve")
        c = count_requests(r.stderr)
        print(f"destroy: {secs:.1f}s, exit {r.returncode}, requests {dict(c)}")
    finally:
        for r in repos:
            try:
                forge(env, "DELETE", f"/api/v1/repos/{org}/{r}")
            except Exception:
                pass
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
