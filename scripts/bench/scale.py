#!/usr/bin/env python3
"""Plan scaling: wall time of `terraform plan` (refresh of every resource + plan) with N
resources of each kind, N = 200, 400, 800 by default, and the providers' peak RSS meanwhile:

  cicd_image_deployment   this provider, against the stack's Kubernetes (N Deployments with
                          replicas 0 in a fresh namespace, one image pushed to the forge)
  null_resource           hashicorp/null 2.1.2 (Go), the peer (see core.py for where it comes from)
  terraform_data          built into Terraform: no provider process at all, the floor

For each kind one working directory grows from the smallest N to the largest (apply adds the new
resources), and at each N the plan is timed --runs times (median reported). Prints a table and,
imported by scripts/bench/all, returns the figures. Asserts nothing; cleans up.

Usage: scripts/bench/scale.py [--counts 200,400,800] [--runs 3] [--cli TERRAFORM_LATEST]
                              [--provider-dir DIR]   (DIR holds terraform-provider-cicd; default
                              the release build)
"""
import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
sys.path.insert(0, str(HERE))
from core import null_provider, rss_kib  # noqa: E402
from kube import oci_push, stack_env  # noqa: E402

KINDS = ("cicd_image_deployment", "null_resource", "terraform_data")


class PeakRss:
    """Peak VmHWM of the processes running one of `binaries` (sampled every 5 ms): only the
    providers under test, since other provider processes may run on the machine."""

    def __init__(self, binaries):
        self.binaries = {os.path.realpath(b) for b in binaries}
        self.peak = 0
        self._stop = threading.Event()
        self._th = threading.Thread(target=self._watch, daemon=True)

    def _watch(self):
        while not self._stop.is_set():
            for pid in os.listdir("/proc"):
                if not pid.isdigit():
                    continue
                try:
                    exe = os.readlink(f"/proc/{pid}/exe")
                except OSError:
                    continue
                if exe in self.binaries:
                    v = rss_kib(pid)
                    if v and v > self.peak:
                        self.peak = v
            time.sleep(0.005)

    def __enter__(self):
        self._th.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._th.join()


def hcl(kind, names, ns=None, image=None, tag=None):
    # Only the provider the kind needs: Terraform starts every declared provider.
    need = {"cicd_image_deployment": '    cicd = { source = "viktorbarzin/cicd" }\n',
            "null_resource": '    null = { source = "hashicorp/null" }\n'}.get(kind, "")
    header = 'terraform {\n  required_providers {\n' + need + '  }\n}\n'
    names_hcl = "[" + ", ".join(f'"{n}"' for n in names) + "]"
    body = f"locals {{ names = {names_hcl} }}\n"
    if kind == "cicd_image_deployment":
        body += ('resource "cicd_image_deployment" "r" {\n  for_each         = toset(local.names)\n'
                 f'  namespace        = "{ns}"\n  deployment       = each.key\n  container        = "app"\n'
                 f'  image            = "{image}"\n  tag              = "{tag}"\n  force            = true\n'
                 '  wait_for_rollout = false\n}\n')
    elif kind == "null_resource":
        body += 'resource "null_resource" "r" {\n  for_each = toset(local.names)\n  triggers = { name = each.key }\n}\n'
    else:
        body += 'resource "terraform_data" "r" {\n  for_each = toset(local.names)\n  input    = each.key\n}\n'
    return header + body


def run(counts=(200, 400, 800), runs=3, cli_key="TERRAFORM_LATEST", provider_dir=None, log=print):
    """{kind: {n: {"median": s, "min": s, "rss_kib": peak}}} for every kind and count."""
    env, env_file = stack_env()
    cli, kubectl = env[cli_key], env["KUBECTL"]
    target = Path(env.get("CARGO_TARGET_DIR", ROOT / "target"))
    pdir = Path(provider_dir) if provider_dir else target / "release"
    if not (pdir / "terraform-provider-cicd").exists():
        sys.exit(f"no provider binary in {pdir}: run cargo build --release (or pass --provider-dir)")
    null_dir = null_provider().parent
    counts = sorted(counts)
    pid = os.getpid()
    ns = f"bench-scale-{pid}"
    repo_path = "viktor/cicd-bench-scale"
    host = env["FORGEJO_URL"].split("://", 1)[1].rstrip("/")
    tag = f"{pid & 0xffffffff:08x}"
    names = [f"app-{i:04d}" for i in range(counts[-1])]
    work = Path(tempfile.mkdtemp(prefix="cicd-bench-scale-"))
    results = {k: {} for k in KINDS}
    try:
        subprocess.run([kubectl, "create", "namespace", ns], env=env, check=True, capture_output=True)
        created = [0]

        def deployments_up_to(n):
            """The namespace holds exactly the N Deployments of the configuration (the refresh lists
            them all), as in a real namespace managed by one configuration."""
            docs = [
                f"apiVersion: apps/v1\nkind: Deployment\nmetadata: {{name: {d}, namespace: {ns}}}\n"
                f"spec:\n  replicas: 0\n  selector: {{matchLabels: {{app: {d}}}}}\n"
                f"  template:\n    metadata: {{labels: {{app: {d}}}}}\n"
                f"    spec:\n      containers: [{{name: app, image: \"{host}/{repo_path}:00000000\"}}]\n"
                for d in names[created[0]:n]
            ]
            if docs:
                t = time.monotonic()
                subprocess.run([kubectl, "apply", "-f", "-"], input="---\n".join(docs).encode(), env=env, check=True,
                               capture_output=True)
                log(f"created {len(docs)} more deployments ({n} in all) in {time.monotonic() - t:.1f}s")
                created[0] = n

        oci_push(env, env_file, "push-image", repo_path, tag)
        rc = work / "cli.tfrc"
        rc.write_text('provider_installation {\n  dev_overrides {\n'
                      f'    "viktorbarzin/cicd" = "{pdir}"\n    "hashicorp/null" = "{null_dir}"\n'
                      '  }\n  direct {}\n}\n')
        run_env = dict(env, TF_CLI_CONFIG_FILE=str(rc), CHECKPOINT_DISABLE="1", TF_IN_AUTOMATION="1")
        for k in ("TF_LOG", "TF_LOG_PROVIDER", "TF_LOG_PATH"):
            run_env.pop(k, None)
        for kind in KINDS:
            d = work / kind
            d.mkdir()
            for n in counts:
                if kind == "cicd_image_deployment":
                    deployments_up_to(n)
                (d / "main.tf").write_text(hcl(kind, names[:n], ns, f"{host}/{repo_path}", tag))
                t = time.monotonic()
                r = subprocess.run([cli, "apply", "-auto-approve", "-no-color", "-input=false"], cwd=d, env=run_env,
                                   capture_output=True, text=True)
                if r.returncode != 0:
                    sys.exit(f"{kind}: apply of {n} failed:\n{r.stdout[-3000:]}{r.stderr[-3000:]}")
                log(f"{kind}: apply up to {n} resources in {time.monotonic() - t:.1f}s")
                times, peak = [], 0
                for _ in range(runs):
                    with PeakRss([pdir / "terraform-provider-cicd", null_dir / "terraform-provider-null"]) as rss:
                        t = time.perf_counter()
                        r = subprocess.run([cli, "plan", "-detailed-exitcode", "-no-color", "-input=false"], cwd=d,
                                           env=run_env, capture_output=True, text=True)
                        times.append(time.perf_counter() - t)
                    peak = max(peak, rss.peak)
                    if r.returncode != 0:
                        sys.exit(f"{kind}: plan of {n} is not empty (exit {r.returncode}):\n{r.stdout[-3000:]}{r.stderr[-3000:]}")
                results[kind][n] = {"median": statistics.median(times), "min": min(times), "rss_kib": peak}
                log(f"{kind}: plan (refresh) of {n}: median {statistics.median(times):.2f}s, "
                    f"min {min(times):.2f}s, provider peak RSS {peak / 1024:.1f} MiB")
            subprocess.run([cli, "destroy", "-auto-approve", "-no-color", "-input=false"], cwd=d, env=run_env,
                           capture_output=True)
    finally:
        subprocess.run([kubectl, "delete", "namespace", ns, "--wait=false"], env=env, capture_output=True)
        try:
            oci_push(env, env_file, "delete", repo_path, tag)
        except subprocess.CalledProcessError:
            pass
        shutil.rmtree(work, ignore_errors=True)
    return results


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--counts", default="200,400,800")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--cli", default="TERRAFORM_LATEST", help="env key of the CLI (TERRAFORM_103, TERRAFORM_LATEST, TOFU)")
    ap.add_argument("--provider-dir", default=None)
    a = ap.parse_args()
    res = run([int(x) for x in a.counts.split(",")], a.runs, a.cli, a.provider_dir)
    print(f"\n{'kind':<24}" + "".join(f"{n:>10}" for n in sorted(res[KINDS[0]])))
    for kind in KINDS:
        print(f"{kind:<24}" + "".join(f"{v['median']:>9.2f}s" for _, v in sorted(res[kind].items())))


if __name__ == "__main__":
    main()
