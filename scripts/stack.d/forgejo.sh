# shellcheck shell=bash
# component forgejo: the forge and OCI registry (see scripts/lib.sh for the contract).
#
# Built from the Go module proxy: Forgejo (module forgejo.org) when FORGE_KIND=forgejo, Gitea
# (module code.gitea.io/gitea) when FORGE_KIND=gitea. Both have the same packages API, container
# registry, OAuth2 provider and admin CLI; the component and its exports keep the name "forgejo".
# No bindata: the server reads templates/options/public from the module source (STATIC_ROOT_PATH).
# Why Gitea today: the Go module proxy refuses forgejo.org; the one Forgejo snapshot it serves
# (codeberg.org/forgejo/forgejo, a pseudo-version from 2024-12) needs ten code.forgejo.org modules
# that the proxy refuses too. Set FORGE_KIND=forgejo and FORGEJO_VERSION in versions.env to switch.
#
# Exports: FORGEJO_URL FORGEJO_USER FORGEJO_PASSWORD FORGEJO_TOKEN FORGEJO_TEST_ORG FORGE_KIND
# Provisioned: admin user `viktor` (the platform's owner; images live under it), a token with all
# scopes (kept in $STATE/forgejo/token and reused), org `cicd-test` with repos alpha/beta/gamma.

FORGEJO_ADMIN_USER=viktor
FORGEJO_TEST_ORG=cicd-test
FORGEJO_TEST_REPOS=(alpha beta gamma)

forgejo_module() {
  case "$FORGE_KIND" in
    forgejo) echo forgejo.org ;;
    gitea) echo code.gitea.io/gitea ;;
    *) die "FORGE_KIND must be forgejo or gitea, not '$FORGE_KIND'" ;;
  esac
}
forgejo_home() { echo "$CACHE/forge/$FORGE_KIND-$FORGEJO_VERSION"; }
forgejo_bin() { echo "$(forgejo_home)/bin/$FORGE_KIND"; }
forgejo_url() { echo "http://127.0.0.1:$FORGEJO_PORT"; }

# forge_go_build LOGFILE go-build-args...: `go build -v`, printing how far it got every 30 seconds.
forge_go_build() {
  local logf=$1; shift
  local t0 pid; t0=$(date +%s)
  : > "$logf"
  go build -v "$@" >"$logf" 2>&1 &
  pid=$!
  while kill -0 "$pid" 2>/dev/null; do
    sleep 2
    if [ $(( ($(date +%s) - t0) % 30 )) -lt 2 ]; then
      log "  ... $(wc -l < "$logf") packages compiled after $(( $(date +%s) - t0 ))s"; sleep 2
    fi
  done
  if ! wait "$pid"; then
    tail -n 40 "$logf" >&2
    die "go build failed (full log: $logf)"
  fi
}

# go_module_dir MODULE@VERSION: download a module through the proxy and print its (read-only) dir.
go_module_dir() {
  local out dir
  out=$(cd "$CACHE" && go mod download -json "$1" 2>&1) || true
  dir=$(printf '%s\n' "$out" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",\{0,1\}$/\1/p')
  if [ -z "$dir" ] || [ ! -d "$dir" ]; then
    printf '%s\n' "$out" >&2
    die "cannot download $1 from the Go module proxy"
  fi
  echo "$dir"
}

# Without bindata the web UI looks for the (un-built) frontend manifest: an empty one keeps the log quiet.
forgejo_placeholder_manifest() {
  mkdir -p "$1/public/assets/.vite"
  [ -f "$1/public/assets/.vite/manifest.json" ] || echo '{}' > "$1/public/assets/.vite/manifest.json"
}

forgejo_install() {
  local home bin mod dir
  home=$(forgejo_home); bin=$(forgejo_bin)
  [ -n "$FORGEJO_VERSION" ] || die "FORGEJO_VERSION is empty in scripts/versions.env"
  if [ -x "$bin" ] && [ -d "$home/src/templates" ]; then
    log "$FORGE_KIND $FORGEJO_VERSION is cached"; forgejo_placeholder_manifest "$home/src"; return 0
  fi
  go_env; export CGO_ENABLED=1
  mod=$(forgejo_module)
  log "downloading $mod@$FORGEJO_VERSION"
  dir=$(go_module_dir "$mod@$FORGEJO_VERSION")
  # The module has replace directives, so build inside a writable copy of it.
  rm -rf "$home/src.tmp"; mkdir -p "$home/bin"
  cp -r "$dir" "$home/src.tmp"; chmod -R u+w "$home/src.tmp"
  # No `go mod download`: it would fetch test-only modules too, and the proxy refuses some of them.
  log "building $FORGE_KIND $FORGEJO_VERSION (a cold build takes 15-30 minutes on 2 cores)"
  (cd "$home/src.tmp" && forge_go_build "$home/build.log" \
    -tags 'sqlite sqlite_unlock_notify' \
    -ldflags "-s -w -X main.Version=${FORGEJO_VERSION#v}" \
    -o "$home/bin/$FORGE_KIND.tmp" .)
  forgejo_placeholder_manifest "$home/src.tmp"
  rm -rf "$home/src"; mv "$home/src.tmp" "$home/src"
  mv "$home/bin/$FORGE_KIND.tmp" "$bin"
  log "built $bin"
}

# The server and its CLI run with the same environment and config.
forgejo_cli() {
  env GITEA_I_AM_BEING_UNSAFE_RUNNING_AS_ROOT=true FORGEJO_I_AM_BEING_UNSAFE_RUNNING_AS_ROOT=true \
    GITEA_WORK_DIR="$STATE/forgejo" FORGEJO_WORK_DIR="$STATE/forgejo" \
    "$(forgejo_bin)" --config "$STATE/forgejo/app.ini" --work-path "$STATE/forgejo" \
    --custom-path "$STATE/forgejo/custom" "$@"
}

# forgejo_secret NAME: generate once (with the forge's own generator), then reuse.
forgejo_secret() {
  local f="$STATE/forgejo/secrets/$1"
  if [ ! -s "$f" ]; then
    mkdir -p "$STATE/forgejo/secrets"; chmod 700 "$STATE/forgejo/secrets"
    "$(forgejo_bin)" generate secret "$1" > "$f.tmp" && mv "$f.tmp" "$f"
  fi
  cat "$f"
}

forgejo_write_config() {
  local d="$STATE/forgejo" secret_key internal_token jwt_secret
  mkdir -p "$d/data" "$d/repos" "$d/custom/conf" "$d/log"
  if ! { secret_key=$(forgejo_secret SECRET_KEY) && internal_token=$(forgejo_secret INTERNAL_TOKEN) \
      && jwt_secret=$(forgejo_secret JWT_SECRET); }; then
    die "cannot generate secrets with $(forgejo_bin)"
  fi
  cat > "$d/app.ini" <<EOF
; written by scripts/stack.d/forgejo.sh on every start: edit there, not here
APP_NAME = cicd local stack
RUN_USER = $(id -un)
RUN_MODE = prod
WORK_PATH = $d
I_AM_BEING_UNSAFE_RUNNING_AS_ROOT = true

[server]
PROTOCOL = http
HTTP_ADDR = 127.0.0.1
HTTP_PORT = $FORGEJO_PORT
DOMAIN = 127.0.0.1
ROOT_URL = $(forgejo_url)/
STATIC_ROOT_PATH = $(forgejo_home)/src
APP_DATA_PATH = $d/data
DISABLE_SSH = true
START_SSH_SERVER = false
OFFLINE_MODE = true
LFS_START_SERVER = false

[database]
DB_TYPE = sqlite3
PATH = $d/data/forge.db
SQLITE_JOURNAL_MODE = WAL

[repository]
ROOT = $d/repos
DEFAULT_BRANCH = main

[security]
INSTALL_LOCK = true
SECRET_KEY = $secret_key
INTERNAL_TOKEN = $internal_token

[oauth2]
ENABLED = true
JWT_SIGNING_ALGORITHM = HS256
JWT_SECRET = $jwt_secret

[service]
DISABLE_REGISTRATION = true
REQUIRE_SIGNIN_VIEW = false
DEFAULT_KEEP_EMAIL_PRIVATE = true

[webhook]
; Woodpecker (and test receivers) listen on loopback
ALLOWED_HOST_LIST = loopback,private
SKIP_TLS_VERIFY = true
DELIVER_TIMEOUT = 10

[packages]
ENABLED = true

[actions]
ENABLED = false

[mailer]
ENABLED = false

[picture]
DISABLE_GRAVATAR = true
ENABLE_FEDERATED_AVATAR = false

[cache]
ADAPTER = memory

[session]
PROVIDER = file
PROVIDER_CONFIG = $d/data/sessions

[indexer]
ISSUE_INDEXER_TYPE = db
REPO_INDEXER_ENABLED = false

[cron.update_checker]
ENABLED = false

[log]
MODE = console
LEVEL = Info
ROOT_PATH = $d/log
EOF
}

forgejo_start() {
  forgejo_write_config
  start_bg forgejo env GITEA_I_AM_BEING_UNSAFE_RUNNING_AS_ROOT=true FORGEJO_I_AM_BEING_UNSAFE_RUNNING_AS_ROOT=true \
    GITEA_WORK_DIR="$STATE/forgejo" FORGEJO_WORK_DIR="$STATE/forgejo" \
    "$(forgejo_bin)" --config "$STATE/forgejo/app.ini" --work-path "$STATE/forgejo" \
    --custom-path "$STATE/forgejo/custom" web
}

forgejo_wait() {
  local url; url=$(forgejo_url)
  local deadline=$(( $(date +%s) + 180 ))
  until curl -sf -o /dev/null "$url/api/healthz"; do
    is_running forgejo || { tail -n 30 "$STATE/log/forgejo.log" >&2; die "$FORGE_KIND exited (log: $STATE/log/forgejo.log)"; }
    [ "$(date +%s)" -ge "$deadline" ] && die "timed out waiting for $url/api/healthz"
    sleep 0.5
  done
}

# forgejo_api METHOD PATH [JSON]: call the REST API as the admin; prints the body, returns 0 on 2xx.
forgejo_api() {
  local method=$1 path=$2 data=${3:-} code out
  out=$(mktemp)
  code=$(curl -s -o "$out" -w '%{http_code}' -X "$method" \
    -H "Authorization: token $(cat "$STATE/forgejo/token")" -H 'Content-Type: application/json' \
    ${data:+--data "$data"} "$(forgejo_url)/api/v1$path") || code=000
  cat "$out"; rm -f "$out"
  case "$code" in 2*) return 0 ;; *) return 1 ;; esac
}

forgejo_provision() {
  local d="$STATE/forgejo" url user=$FORGEJO_ADMIN_USER pw tok r
  url=$(forgejo_url)
  [ -s "$d/password" ] || { python3 -c 'import secrets; print("Cicd-" + secrets.token_hex(12))' > "$d/password"; chmod 600 "$d/password"; }
  pw=$(cat "$d/password")
  if ! forgejo_cli admin user list --admin 2>/dev/null | awk '{print $2}' | grep -qx "$user"; then
    log "creating admin user $user"
    forgejo_cli admin user create --admin --username "$user" --password "$pw" \
      --email "$user@example.com" --must-change-password=false >/dev/null
  fi
  # Reuse the stored token while it still works.
  tok=$(cat "$d/token" 2>/dev/null || true)
  if [ -z "$tok" ] || ! curl -sf -o /dev/null -H "Authorization: token $tok" "$url/api/v1/user"; then
    log "generating an access token for $user (all scopes)"
    tok=$(forgejo_cli admin user generate-access-token --username "$user" \
      --token-name "stack-$(date +%s)" --scopes all --raw | tail -n 1)
    printf '%s\n' "$tok" > "$d/token"; chmod 600 "$d/token"
    curl -sf -o /dev/null -H "Authorization: token $tok" "$url/api/v1/user" || die "new token does not work"
  fi
  if ! forgejo_api GET "/orgs/$FORGEJO_TEST_ORG" >/dev/null; then
    log "creating org $FORGEJO_TEST_ORG"
    forgejo_api POST /orgs "{\"username\":\"$FORGEJO_TEST_ORG\",\"visibility\":\"public\"}" >/dev/null \
      || die "cannot create org $FORGEJO_TEST_ORG"
  fi
  for r in "${FORGEJO_TEST_REPOS[@]}"; do
    if ! forgejo_api GET "/repos/$FORGEJO_TEST_ORG/$r" >/dev/null; then
      log "creating repo $FORGEJO_TEST_ORG/$r"
      forgejo_api POST "/orgs/$FORGEJO_TEST_ORG/repos" \
        "{\"name\":\"$r\",\"auto_init\":true,\"readme\":\"Default\",\"default_branch\":\"main\"}" >/dev/null \
        || die "cannot create repo $FORGEJO_TEST_ORG/$r"
    fi
  done
  export_env forgejo FORGE_KIND "$FORGE_KIND"
  export_env forgejo FORGEJO_URL "$url"
  export_env forgejo FORGEJO_USER "$user"
  export_env forgejo FORGEJO_PASSWORD "$pw"
  export_env forgejo FORGEJO_TOKEN "$tok"
  export_env forgejo FORGEJO_TEST_ORG "$FORGEJO_TEST_ORG"
  export_env forgejo FORGEJO_DB "$d/data/forge.db"  # for scripts/oci-push backdate (test stack only)
}

forgejo_stop() { stop_bg forgejo; }

forgejo_status() {
  local v
  if is_running forgejo && v=$(curl -sf "$(forgejo_url)/api/v1/version" | sed -n 's/.*"version":"\([^"]*\)".*/\1/p'); then
    echo "forgejo: up ($FORGE_KIND $v) at $(forgejo_url)"
  else
    echo "forgejo: down"; return 1
  fi
}
