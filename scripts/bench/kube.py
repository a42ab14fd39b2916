#!/usr/bin/env python3
"""Kubernetes benchmark: refresh of N `cicd_image_deployment` resources in one namespace.

Creates N Deployments (replicas 0, so rollouts finish at once) in a fresh namespace, pushes one
image with scripts/oci-push, applies a configuration with N resources (for_each), then times
`terraform plan` (refresh of all N + plan) and counts the provider's API requests per system
from its debug log ("http request" lines). Prints figures; asserts nothing. Cleans up.

Usage: scripts/bench/kube.py [--count 200] [--cli TERRAFORM_LATEST] [--provider-dir DIR]
(needs the stack: `scripts/stack up`; the provider binary built with `cargo build`)
"""
import argparse
import collections
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def stack_env():
    env = dict(os.environ)
    f = Path(os.environ.get("STACK_ENV_FILE", ROOT / ".stack" / "env"))
    if f.exists():
        out = subprocess.run(["bash", "-c", f". {f} && env -0"], capture_output=True, check=True)
        for item in out.stdout.split(b"\0"):
            if b"=" in item:
                k, v = item.split(b"=", 1)
                env.setdefault(k.decode(), v.decode())
    return env, f


def oci_push(env, env_file, *args):
    script = ROOT / "scripts" / "oci-push"
    if not script.exists():
        script = Path(env_file).resolve().parent.parent / "scripts" / "oci-push"
    subprocess.run([str(script), *args], env=env, check=True, capture_output=True)


def count_requests(log):
    counts = collections.Counter()
    for line in log.splitlines():
        if "http request" in line:
            m = re.search(r'system"?[=:]\s*"?([A-Za-z]+)', line)
            counts[m.group(1) if m else "?"] += 1
    return counts


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--count", type=int, default=200)
    ap.add_argument("--cli", default="TERRAFORM_LATEST", help="env key of the CLI (TERRAFORM_103, TERRAFORM_LATEST, TOFU)")
    ap.add_argument("--provider-dir", default=None)
    a = ap.parse_args()
    env, env_file = stack_env()
    kubectl, cli = env["KUBECTL"], env[a.cli]
    target = Path(env.get("CARGO_TARGET_DIR", ROOT / "target"))
    pdir = Path(a.provider_dir) if a.provider_dir else target / "debug"
    if not (pdir / "terraform-provider-cicd").exists():
        sys.exit(f"no provider binary in {pdir}: run cargo build (or pass --provider-dir)")
    ns = f"bench-kube-{os.getpid()}"
    repo_path = "viktor/cicd-bench-kube"
    host = env["FORGEJO_URL"].split("://", 1)[1].rstrip("/")
    tag = f"{os.getpid() & 0xffffffff:08x}"
    names = [f"app-{i:03d}" for i in range(a.count)]
    work = Path(tempfile.mkdtemp(prefix="cicd-bench-kube-"))
    try:
        subprocess.run([kubectl, "create", "namespace", ns], env=env, check=True, capture_output=True)
        docs = []
        for n in names:
            docs.append(
                f"apiVersion: apps/v1\nkind: Deployment\nmetadata: {{name: {n}, namespace: {ns}}}\n"
                f"spec:\n  replicas: 0\n  selector: {{matchLabels: {{app: {n}}}}}\n"
                f"  template:\n    metadata: {{labels: {{app: {n}}}}}\n"
                f"    spec:\n      containers: [{{name: app, image: \"{host}/{repo_path}:00000000\"}}]\n"
            )
        t = time.monotonic()
        subprocess.run([kubectl, "apply", "-f", "-"], input="---\n".join(docs).encode(), env=env, check=True, capture_output=True)
        print(f"created {a.count} deployments in {time.monotonic() - t:.1f}s")
        oci_push(env, env_file, "push-image", repo_path, tag)
        (work / "cli.tfrc").write_text(
            f'provider_installation {{\n  dev_overrides {{\n    "viktorbarzin/cicd" = "{pdir}"\n  }}\n  direct {{}}\n}}\n'
        )
        (work / "main.tf").write_text(
            'terraform {\n  required_providers {\n    cicd = { source = "viktorbarzin/cicd" }\n  }\n}\n'
            f"locals {{ names = {names!r} }}\n".replace("'", '"')
            + 'resource "cicd_image_deployment" "app" {\n  for_each   = toset(local.names)\n'
            f'  namespace  = "{ns}"\n  deployment = each.key\n  container  = "app"\n'
            f'  image      = "{host}/{repo_path}"\n  tag        = "{tag}"\n  force      = true\n}}\n'
        )
        run_env = dict(env, TF_CLI_CONFIG_FILE=str(work / "cli.tfrc"), CHECKPOINT_DISABLE="1",
                       TF_IN_AUTOMATION="1", TF_LOG_PROVIDER="DEBUG")
        run_env.pop("TF_LOG", None)

        def tf(*args):
            t = time.monotonic()
            r = subprocess.run([cli, *args, "-no-color", "-input=false"], cwd=work, env=run_env, capture_output=True, text=True)
            return time.monotonic() - t, r

        secs, r = tf("apply", "-auto-approve")
        if r.returncode != 0:
            sys.exit("apply failed:\n" + r.stdout[-3000:] + r.stderr[-3000:])
        c = count_requests(r.stderr)
        print(f"apply of {a.count} resources (plan + apply + rollout waits): {secs:.1f}s, requests {dict(c)}")
        for label, extra in [("plan (refresh of all)", []), ("plan -refresh=false", ["-refresh=false"])]:
            secs, r = tf("plan", "-detailed-exitcode", *extra)
            c = count_requests(r.stderr)
            print(f"{label} with {a.count} resources: {secs:.2f}s, exit {r.returncode}, "
                  f"requests {dict(c)} (total {sum(c.values())})")
        # Out-of-band change of one deployment: the plan shows one update, at the same cost.
        subprocess.run([kubectl, "-n", ns, "set", "image", f"deployment/{names[0]}", f"app={host}/{repo_path}:00000000"],
                       env=env, check=True, capture_output=True)
        secs, r = tf("plan", "-detailed-exitcode")
        c = count_requests(r.stderr)
        changes = re.search(r"Plan: .*", r.stdout)
        print(f"plan after one out-of-band change: {secs:.2f}s, {changes.group(0) if changes else r.returncode}, "
              f"requests {dict(c)}")
    finally:
        subprocess.run([kubectl, "delete", "namespace", ns, "--wait=false"], env=env, capture_output=True)
        try:
            oci_push(env, env_file, "delete", repo_path, tag)
        except subprocess.CalledProcessError:
            pass
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
