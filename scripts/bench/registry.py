#!/usr/bin/env python3
"""Registry benchmark: wall time and HTTP request counts of cicd_forgejo_package_retention over
about 1000 package versions and of the cicd_registry_integrity walk over about 300 tags, run by
a real Terraform against the stack's forge. Prints figures; asserts nothing.

Seeds a throwaway organization (removed at the end): `app` with --tags single-arch tags and
`multi` with --indexes two-platform indexes (3 versions each). Then, each step timed and its
requests counted from the provider's debug log ("http request" lines, per system):
  1. create the policy with dry_run = true   (one evaluation at apply)
  2. plan                                     (refresh = one evaluation)
  3. dry_run = false: apply                   (refresh = one evaluation; the plan evaluates the
                                               refresh's snapshot; apply: one listing to check the
                                               planned versions, the deletions, one listing to confirm)
  4. integrity walk over what is left         (data source in `terraform plan`)

Usage: scripts/bench/registry.py [--tags 600] [--indexes 100] [--keep-last 200] [--cli PATH]
       [--provider-dir DIR]   (DIR holds terraform-provider-cicd; default target/release, else target/debug)
Needs the stack (`. .stack/env`): FORGEJO_URL, FORGEJO_USER, FORGEJO_TOKEN, TERRAFORM_LATEST.
OCI_PUSH may point at the oci-push script (default scripts/oci-push).
"""
import argparse
import importlib.machinery
import importlib.util
import json
import os
import re
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections import Counter
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
    return env


def load_oci_push(env):
    path = env.get("OCI_PUSH") or str(ROOT / "scripts" / "oci-push")
    loader = importlib.machinery.SourceFileLoader("oci_push", path)
    spec = importlib.util.spec_from_loader("oci_push", loader)
    mod = importlib.util.module_from_spec(spec)
    loader.exec_module(mod)
    return mod


def api(env, method, path, body=None):
    req = urllib.request.Request(env["FORGEJO_URL"].rstrip("/") + path, method=method,
                                 data=None if body is None else json.dumps(body).encode())
    req.add_header("Authorization", "token " + env["FORGEJO_TOKEN"])
    req.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(req) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


def versions(env, owner):
    out, page = [], 1
    while True:
        _, body = api(env, "GET", f"/api/v1/packages/{owner}?type=container&limit=50&page={page}")
        items = json.loads(body)
        out += items
        if len(items) < 50:
            return out
        page += 1


class Tf:
    def __init__(self, cli, provider_dir, env):
        self.dir = tempfile.TemporaryDirectory(prefix="cicd-bench-")
        self.cli = cli
        rc = Path(self.dir.name) / "cli.tfrc"
        rc.write_text('provider_installation {\n  dev_overrides {\n    "viktorbarzin/cicd" = "%s"\n  }\n  direct {}\n}\n' % provider_dir)
        self.env = dict(env, TF_CLI_CONFIG_FILE=str(rc), CHECKPOINT_DISABLE="1", TF_IN_AUTOMATION="1")

    def write(self, hcl):
        header = 'terraform {\n  required_providers {\n    cicd = { source = "viktorbarzin/cicd" }\n  }\n}\n'
        (Path(self.dir.name) / "main.tf").write_text(header + hcl)

    def run(self, *args):
        log = Path(self.dir.name) / "provider.log"
        log.unlink(missing_ok=True)
        env = dict(self.env, TF_LOG_PROVIDER="debug", TF_LOG_PATH=str(log))
        t0 = time.monotonic()
        r = subprocess.run([self.cli, *args, "-no-color"], cwd=self.dir.name, env=env, capture_output=True, text=True)
        secs = time.monotonic() - t0
        if r.returncode not in (0, 2):
            sys.exit(f"{args}: {r.stdout}\n{r.stderr}")
        counts = Counter()
        for line in log.read_text(errors="replace").splitlines() if log.exists() else []:
            if "http request" in line:
                m = re.search(r'system"?[=:]\s*"?(\w+)', line)
                counts[m.group(1) if m else "?"] += 1
        return secs, counts, r.stdout


def policy(owner, keep_last, dry_run):
    return f'''
resource "cicd_forgejo_package_retention" "r" {{
  owner     = "{owner}"
  keep_last = {keep_last}
  dry_run   = {str(dry_run).lower()}
}}
output "pending" {{ value = length(cicd_forgejo_package_retention.r.pending_deletions) }}
'''


def fmt(counts):
    total = sum(counts.values())
    parts = ", ".join(f"{k} {v}" for k, v in sorted(counts.items()))
    return f"{total} requests ({parts})"


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--tags", type=int, default=600)
    ap.add_argument("--indexes", type=int, default=100)
    ap.add_argument("--keep-last", type=int, default=200)
    ap.add_argument("--cli")
    ap.add_argument("--provider-dir")
    args = ap.parse_args()
    env = stack_env()
    cli = args.cli or env.get("TERRAFORM_LATEST") or "terraform"
    target = Path(os.environ.get("CARGO_TARGET_DIR", ROOT / "target"))
    pdir = args.provider_dir or str(target / ("release" if (target / "release" / "terraform-provider-cicd").exists() else "debug"))
    owner = f"bench-reg-{os.getpid()}"
    st, body = api(env, "POST", "/api/v1/orgs", {"username": owner, "visibility": "public"})
    if st >= 300:
        sys.exit(f"create org: {st} {body[:200]}")
    oci = load_oci_push(env)
    reg = oci.Registry(env["FORGEJO_URL"], env["FORGEJO_USER"], env["FORGEJO_TOKEN"])
    try:
        t0 = time.monotonic()
        app = oci.Image(reg, f"{owner}/app")
        for i in range(args.tags):
            oci.push_single(app, f"t{i:04d}", "linux/amd64", f"{owner}/{i}", "oci", salt=f"t{i:04d}")
        multi = oci.Image(reg, f"{owner}/multi")
        for i in range(args.indexes):
            oci.push_index(multi, f"m{i:04d}", ["linux/amd64", "linux/arm64"], f"{owner}/m{i}", "oci")
        n = len(versions(env, owner))
        print(f"seeded {n} versions ({args.tags} tags in app, {args.indexes} indexes in multi) in {time.monotonic() - t0:.1f}s")
        print(f"provider: {pdir}; cli: {cli}")

        tf = Tf(cli, pdir, env)
        tf.write(policy(owner, args.keep_last, True))
        secs, c, _ = tf.run("apply", "-auto-approve")
        print(f"retention dry-run create (1 evaluation of {n} versions): {secs:.2f}s, {fmt(c)}")
        secs, c, out = tf.run("plan")
        print(f"retention plan (refresh = 1 evaluation):              {secs:.2f}s, {fmt(c)}")
        tf.write(policy(owner, args.keep_last, False))
        secs, c, out = tf.run("apply", "-auto-approve")
        left = len(versions(env, owner))
        print(f"retention apply (refresh eval + {n - left} deletions + 2 listings): {secs:.2f}s, {fmt(c)}")
        secs, c, out = tf.run("plan", "-detailed-exitcode")
        print(f"retention plan after apply (empty):                   {secs:.2f}s, {fmt(c)}")

        tf2 = Tf(cli, pdir, env)
        tf2.write(f'''
data "cicd_registry_integrity" "x" {{
  owner = "{owner}"
}}
output "counts" {{
  value = [data.cicd_registry_integrity.x.images_checked, data.cicd_registry_integrity.x.tags_checked,
           data.cicd_registry_integrity.x.manifests_checked, data.cicd_registry_integrity.x.broken_count]
}}
''')
        secs, c, out = tf2.run("apply", "-auto-approve")
        m = re.search(r"counts = \[\s*([\d,\s]+)\]", out.replace("tolist(", "").replace(")", ""))
        figures = m.group(1).split() if m else []
        print(f"integrity walk ({' '.join(figures)} = images, tags, manifests, broken): {secs:.2f}s, {fmt(c)}")
    finally:
        pkgs = {v["name"] for v in versions(env, owner)}
        for p in pkgs:
            api(env, "DELETE", f"/api/v1/packages/{owner}/container/{p}")
        api(env, "DELETE", f"/api/v1/orgs/{owner}")


if __name__ == "__main__":
    main()
