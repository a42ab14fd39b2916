# shellcheck shell=bash
# component woodpecker: a Woodpecker CI API for the tests (see scripts/lib.sh), one of three kinds:
#
# - external: WOODPECKER_SERVER and WOODPECKER_TOKEN are already exported (a server you run):
#   they are recorded as they are (WOODPECKER_KIND=real) and nothing is started.
# - real: WOODPECKER_SERVER_BIN names a woodpecker-server binary (or is `build`: build it from the
#   Go module proxy, go.woodpecker-ci.org/woodpecker/v3, program cmd/server, with a placeholder
#   web/dist and CGO for SQLite; when the proxy refuses the module the component is skipped and
#   .stack/env gets WOODPECKER_UNAVAILABLE). It runs against the `forgejo` component (Forgejo, or
#   Gitea when FORGE_KIND=gitea); the admin user and token come from a scripted OAuth login
#   through the forge (woodpecker_login.py). WOODPECKER_KIND=real.
# - double (default): the test-only Woodpecker API double of this repository
#   (crates/woodpecker-double, held to recordings of a real 3.17 server by its conformance test),
#   built with cargo into the shared target dir and started against the forge: it lists the
#   forge admin's repositories through the Gitea API. The admin is the forge admin; a second,
#   non-admin user gets a token too. WOODPECKER_KIND=double.
#
# Exports: WOODPECKER_SERVER WOODPECKER_TOKEN WOODPECKER_KIND, WOODPECKER_TOKEN_NONADMIN (double;
# or when exported by you), or WOODPECKER_UNAVAILABLE (real kind from the proxy, when refused).

WOODPECKER_MODULE=go.woodpecker-ci.org/woodpecker/v3
WOODPECKER_SKIP=""   # set by woodpecker_install to the reason when it cannot be had

woodpecker_url() { echo "http://127.0.0.1:$WOODPECKER_PORT"; }

# external | real | double. A WOODPECKER_SERVER that is our own port (a sourced .stack/env) is not external.
woodpecker_kind() {
  if [ -n "${WOODPECKER_SERVER:-}" ] && [ -n "${WOODPECKER_TOKEN:-}" ] && [ "$WOODPECKER_SERVER" != "$(woodpecker_url)" ]; then
    echo external
  elif [ -n "${WOODPECKER_SERVER_BIN:-}" ]; then
    echo real
  else
    echo double
  fi
}

WOODPECKER_DOUBLE_NONADMIN=ci-nonadmin
woodpecker_cargo_target() { echo "${CARGO_TARGET_DIR:-$CACHE/cargo-target}"; }
woodpecker_double_bin() { echo "$(woodpecker_cargo_target)/debug/woodpecker-double"; }

# A random token kept in $STATE/woodpecker/NAME (reused across restarts).
woodpecker_secret_file() {
  local f="$STATE/woodpecker/$1"
  mkdir -p "$STATE/woodpecker"
  [ -s "$f" ] || { python3 -c 'import secrets; print("wpd_" + secrets.token_hex(24))' > "$f"; chmod 600 "$f"; }
  cat "$f"
}

woodpecker_double_install() {
  # Debug profile: its dependencies are the ones the tests already compiled in the shared target.
  log "building woodpecker-double (cargo, debug, into $(woodpecker_cargo_target); cargo prints its progress)"
  (cd "$REPO_ROOT" && CARGO_TARGET_DIR=$(woodpecker_cargo_target) cargo build --locked -p woodpecker-double --bin woodpecker-double) \
    || die "cannot build woodpecker-double"
  [ -x "$(woodpecker_double_bin)" ] || die "no binary at $(woodpecker_double_bin)"
}

woodpecker_double_start() {
  [ -s "$STATE/forgejo/token" ] || die "woodpecker (double) needs the forgejo component up first (no $STATE/forgejo/token)"
  start_bg woodpecker "$(woodpecker_double_bin)" \
    --listen "127.0.0.1:$WOODPECKER_PORT" \
    --admin-token "$(woodpecker_secret_file double-admin-token)" \
    --user "$WOODPECKER_DOUBLE_NONADMIN:$(woodpecker_secret_file double-nonadmin-token)" \
    --forge-url "$(forgejo_url)" \
    --forge-token "$(cat "$STATE/forgejo/token")"
}

woodpecker_double_provision() {
  local url tok non
  url=$(woodpecker_url)
  tok=$(woodpecker_secret_file double-admin-token)
  non=$(woodpecker_secret_file double-nonadmin-token)
  curl -sf -H "Authorization: Bearer $tok" "$url/api/user" | grep -q '"admin":true' \
    || die "woodpecker-double does not take the admin token"
  rm -f "$STATE/env.d/woodpecker.env"
  export_env woodpecker WOODPECKER_SERVER "$url"
  export_env woodpecker WOODPECKER_TOKEN "$tok"
  export_env woodpecker WOODPECKER_TOKEN_NONADMIN "$non"
  export_env woodpecker WOODPECKER_KIND double
}

# The version to build: the pin from versions.env, else the proxy's latest (resolved once, cached).
woodpecker_resolve_version() {
  local f="$CACHE/woodpecker/resolved-latest" out v
  if [ -n "$WOODPECKER_VERSION" ]; then echo "$WOODPECKER_VERSION"; return 0; fi
  if [ -s "$f" ]; then cat "$f"; return 0; fi
  go_env
  out=$(cd "$CACHE" && go list -m -json "$WOODPECKER_MODULE@latest" 2>&1) || { printf '%s\n' "$out" >&2; return 1; }
  v=$(printf '%s\n' "$out" | sed -n 's/^[[:space:]]*"Version": "\(.*\)",\{0,1\}$/\1/p' | head -n 1)
  [ -n "$v" ] || return 1
  mkdir -p "$CACHE/woodpecker"; echo "$v" > "$f"; echo "$v"
}

woodpecker_home() { echo "$CACHE/woodpecker/$1"; }

woodpecker_install() {
  case "$(woodpecker_kind)" in
    external) log "woodpecker: using $WOODPECKER_SERVER (exported), nothing to install"; return 0 ;;
    double) woodpecker_double_install; return 0 ;;
  esac
  if [ "$WOODPECKER_SERVER_BIN" != build ]; then
    [ -x "$WOODPECKER_SERVER_BIN" ] || die "WOODPECKER_SERVER_BIN=$WOODPECKER_SERVER_BIN is not an executable"
    log "woodpecker: real server $WOODPECKER_SERVER_BIN"; return 0
  fi
  woodpecker_build_from_proxy
}

# The binary of the real server: WOODPECKER_SERVER_BIN, or the one built from the Go module proxy.
woodpecker_server_bin() {
  if [ "$WOODPECKER_SERVER_BIN" != build ]; then echo "$WOODPECKER_SERVER_BIN"; return 0; fi
  echo "$(woodpecker_home "$(woodpecker_resolve_version)")/bin/woodpecker-server"
}

woodpecker_build_from_proxy() {
  local ver home dir
  if ! ver=$(woodpecker_resolve_version); then
    WOODPECKER_SKIP="the Go module proxy refuses $WOODPECKER_MODULE (no version can be resolved)"
    log "WARNING: skipping woodpecker: $WOODPECKER_SKIP"
    return 0
  fi
  home=$(woodpecker_home "$ver")
  if [ -x "$home/bin/woodpecker-server" ]; then log "woodpecker $ver is cached"; return 0; fi
  go_env; export CGO_ENABLED=1
  log "downloading $WOODPECKER_MODULE@$ver"
  if ! dir=$(go_module_dir "$WOODPECKER_MODULE@$ver"); then
    WOODPECKER_SKIP="the Go module proxy refuses $WOODPECKER_MODULE@$ver"
    log "WARNING: skipping woodpecker: $WOODPECKER_SKIP"
    return 0
  fi
  rm -rf "$home/src"; mkdir -p "$home/bin"
  cp -r "$dir" "$home/src"; chmod -R u+w "$home/src"
  # The UI is embedded from web/dist, which the module lacks: a placeholder page is enough for the API.
  mkdir -p "$home/src/web/dist"
  [ -f "$home/src/web/dist/index.html" ] || \
    echo '<!doctype html><title>Woodpecker</title><p>API only: this build has no web UI.</p>' > "$home/src/web/dist/index.html"
  log "building woodpecker-server $ver"
  (cd "$home/src" && forge_go_build "$home/build.log" \
    -ldflags "-s -w -X go.woodpecker-ci.org/woodpecker/v3/version.Version=${ver#v}" \
    -o "$home/bin/woodpecker-server.tmp" ./cmd/server)
  mv "$home/bin/woodpecker-server.tmp" "$home/bin/woodpecker-server"
}

# An OAuth2 application on the forge, owned by the admin; its secret is only shown at creation.
woodpecker_oauth_app() {
  local f="$STATE/woodpecker/oauth-app.json" id body
  if [ -s "$f" ]; then
    id=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["id"])' "$f")
    forgejo_api GET "/user/applications/oauth2/$id" >/dev/null && return 0
  fi
  log "creating the OAuth2 application for woodpecker on the forge"
  body=$(forgejo_api POST /user/applications/oauth2 \
    "{\"name\":\"woodpecker-$(date +%s)\",\"redirect_uris\":[\"$(woodpecker_url)/authorize\"],\"confidential_client\":true}") \
    || die "cannot create the OAuth2 application: $body"
  printf '%s\n' "$body" > "$f"; chmod 600 "$f"
}

woodpecker_start() {
  case "$(woodpecker_kind)" in
    external) return 0 ;;
    double) woodpecker_double_start; return 0 ;;
  esac
  [ -z "$WOODPECKER_SKIP" ] || return 0
  local d="$STATE/woodpecker" client secret kind
  mkdir -p "$d"
  [ -s "$d/agent-secret" ] || { python3 -c 'import secrets; print(secrets.token_hex(32))' > "$d/agent-secret"; chmod 600 "$d/agent-secret"; }
  woodpecker_oauth_app
  client=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["client_id"])' "$d/oauth-app.json")
  secret=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["client_secret"])' "$d/oauth-app.json")
  kind=$(echo "$FORGE_KIND" | tr '[:lower:]' '[:upper:]')   # WOODPECKER_FORGEJO_* or WOODPECKER_GITEA_*
  start_bg woodpecker env \
    WOODPECKER_HOST="$(woodpecker_url)" \
    WOODPECKER_SERVER_ADDR="127.0.0.1:$WOODPECKER_PORT" \
    WOODPECKER_GRPC_ADDR="127.0.0.1:$WOODPECKER_GRPC_PORT" \
    WOODPECKER_AGENT_SECRET="$(cat "$d/agent-secret")" \
    WOODPECKER_ADMIN="$FORGEJO_ADMIN_USER" \
    WOODPECKER_OPEN=false \
    WOODPECKER_DATABASE_DRIVER=sqlite3 \
    WOODPECKER_DATABASE_DATASOURCE="$d/woodpecker.sqlite" \
    WOODPECKER_LOG_LEVEL=info \
    "WOODPECKER_$kind=true" \
    "WOODPECKER_${kind}_URL=$(forgejo_url)" \
    "WOODPECKER_${kind}_CLIENT=$client" \
    "WOODPECKER_${kind}_SECRET=$secret" \
    "$(woodpecker_server_bin)"
}

woodpecker_wait() {
  [ "$(woodpecker_kind)" != external ] || return 0
  [ -z "$WOODPECKER_SKIP" ] || return 0
  local deadline=$(( $(date +%s) + 120 ))
  until curl -sf -o /dev/null "$(woodpecker_url)/healthz"; do
    is_running woodpecker || { tail -n 30 "$STATE/log/woodpecker.log" >&2; die "woodpecker exited (log: $STATE/log/woodpecker.log)"; }
    [ "$(date +%s)" -ge "$deadline" ] && die "timed out waiting for $(woodpecker_url)/healthz"
    sleep 0.5
  done
}

woodpecker_provision() {
  case "$(woodpecker_kind)" in
    external)
      rm -f "$STATE/env.d/woodpecker.env"
      export_env woodpecker WOODPECKER_SERVER "$WOODPECKER_SERVER"
      export_env woodpecker WOODPECKER_TOKEN "$WOODPECKER_TOKEN"
      [ -z "${WOODPECKER_TOKEN_NONADMIN:-}" ] || export_env woodpecker WOODPECKER_TOKEN_NONADMIN "$WOODPECKER_TOKEN_NONADMIN"
      export_env woodpecker WOODPECKER_KIND real
      return 0 ;;
    double) woodpecker_double_provision; return 0 ;;
  esac
  if [ -n "$WOODPECKER_SKIP" ]; then
    rm -f "$STATE/env.d/woodpecker.env"
    export_env woodpecker WOODPECKER_UNAVAILABLE "$WOODPECKER_SKIP"
    return 0
  fi
  local d="$STATE/woodpecker" url tok
  url=$(woodpecker_url)
  tok=$(cat "$d/token" 2>/dev/null || true)
  if [ -z "$tok" ] || ! curl -sf -o /dev/null -H "Authorization: Bearer $tok" "$url/api/user"; then
    log "logging in to woodpecker as $FORGEJO_ADMIN_USER through the forge's OAuth"
    tok=$(python3 "$REPO_ROOT/scripts/stack.d/woodpecker_login.py" --woodpecker "$url" \
      --forge "$(forgejo_url)" --user "$FORGEJO_ADMIN_USER" --password "$(cat "$STATE/forgejo/password")") \
      || die "woodpecker login failed"
    printf '%s\n' "$tok" > "$d/token"; chmod 600 "$d/token"
  fi
  curl -sf -H "Authorization: Bearer $tok" "$url/api/user" | grep -q '"admin":true' \
    || die "woodpecker user $FORGEJO_ADMIN_USER is not admin"
  rm -f "$STATE/env.d/woodpecker.env"
  export_env woodpecker WOODPECKER_SERVER "$url"
  export_env woodpecker WOODPECKER_TOKEN "$tok"
  export_env woodpecker WOODPECKER_KIND real
}

woodpecker_stop() { stop_bg woodpecker; }

woodpecker_status() {
  local kind; kind=$(woodpecker_kind)
  if [ "$kind" = external ]; then echo "woodpecker: external server at $WOODPECKER_SERVER"; return 0; fi
  if [ -n "$WOODPECKER_SKIP" ] || grep -q WOODPECKER_UNAVAILABLE "$STATE/env.d/woodpecker.env" 2>/dev/null; then
    echo "woodpecker: unavailable (${WOODPECKER_SKIP:-see WOODPECKER_UNAVAILABLE in $STATE/env})"; return 0
  fi
  if is_running woodpecker && curl -sf -o /dev/null "$(woodpecker_url)/healthz"; then
    echo "woodpecker: up ($kind) at $(woodpecker_url)"
  else
    echo "woodpecker: down"; return 1
  fi
}

# Smoke test: the version, the admin token, the forge behind it, and (when there is one) a token
# without admin rights that is refused an admin route.
woodpecker_check() {
  local env="$STATE/env.d/woodpecker.env" server tok non code ver
  [ -f "$env" ] || { echo "woodpecker: not provisioned"; return 1; }
  server=$(. "$env"; echo "${WOODPECKER_SERVER:-}")
  tok=$(. "$env"; echo "${WOODPECKER_TOKEN:-}")
  non=$(. "$env"; echo "${WOODPECKER_TOKEN_NONADMIN:-}")
  if [ -z "$server" ]; then echo "woodpecker: unavailable ($(. "$env"; echo "${WOODPECKER_UNAVAILABLE:-}"))"; return 0; fi
  ver=$(curl -sf "$server/version" | sed -n 's/.*"version":"\([^"]*\)".*/\1/p') || true
  [ -n "$ver" ] || { echo "woodpecker: GET /version failed at $server"; return 1; }
  curl -sf -H "Authorization: Bearer $tok" "$server/api/user" | grep -q '"admin":true' \
    || { echo "woodpecker: the admin token is not an admin's"; return 1; }
  code=$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $tok" "$server/api/user/repos?all=true")
  [ "$code" = 200 ] || { echo "woodpecker: listing the forge repositories answered $code"; return 1; }
  curl -sf -H "Authorization: Bearer $tok" "$server/api/user/repos?all=true" | grep -q "\"$FORGEJO_TEST_ORG/" \
    || { echo "woodpecker: the forge repositories of $FORGEJO_TEST_ORG are not listed"; return 1; }
  if [ -n "$non" ]; then
    code=$(curl -s -o /dev/null -w '%{http_code}' -X POST -H "Authorization: Bearer $non" \
      -H 'Content-Type: application/json' --data '{"name":"x","value":"x","events":["push"]}' "$server/api/secrets")
    [ "$code" = 403 ] || { echo "woodpecker: a non-admin token got $code creating a global secret (want 403)"; return 1; }
  fi
  echo "woodpecker: $server ($(. "$env"; echo "${WOODPECKER_KIND:-?}")) version $ver, admin token ok, forge repositories of $FORGEJO_TEST_ORG listed${non:+, non-admin token refused an admin route}"
}
