# shellcheck shell=bash
# component woodpecker: Woodpecker CI server against the local forge (see scripts/lib.sh).
#
# Built from the Go module proxy (go.woodpecker-ci.org/woodpecker/v3, program cmd/server) with a
# placeholder web/dist (the module ships no built UI) and CGO for SQLite. The forge is the
# `forgejo` component (Forgejo, or Gitea when FORGE_KIND=gitea). Admin user and personal token
# come from a scripted OAuth login through the forge (woodpecker_login.py), so the Woodpecker
# user row holds a real forge OAuth token and repository activation can call the forge.
#
# When the Go module proxy refuses the module, install says so, the component is skipped, and
# .stack/env gets WOODPECKER_UNAVAILABLE (the reason) instead of WOODPECKER_SERVER/TOKEN.
#
# Exports: WOODPECKER_SERVER WOODPECKER_TOKEN (or WOODPECKER_UNAVAILABLE)

WOODPECKER_MODULE=go.woodpecker-ci.org/woodpecker/v3
WOODPECKER_SKIP=""   # set by woodpecker_install to the reason when it cannot be had

woodpecker_url() { echo "http://127.0.0.1:$WOODPECKER_PORT"; }

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
  [ -z "$WOODPECKER_SKIP" ] || return 0
  local ver home d="$STATE/woodpecker" client secret kind
  ver=$(woodpecker_resolve_version); home=$(woodpecker_home "$ver")
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
    "$home/bin/woodpecker-server"
}

woodpecker_wait() {
  [ -z "$WOODPECKER_SKIP" ] || return 0
  local deadline=$(( $(date +%s) + 120 ))
  until curl -sf -o /dev/null "$(woodpecker_url)/healthz"; do
    is_running woodpecker || { tail -n 30 "$STATE/log/woodpecker.log" >&2; die "woodpecker exited (log: $STATE/log/woodpecker.log)"; }
    [ "$(date +%s)" -ge "$deadline" ] && die "timed out waiting for $(woodpecker_url)/healthz"
    sleep 0.5
  done
}

woodpecker_provision() {
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
}

woodpecker_stop() { stop_bg woodpecker; }

woodpecker_status() {
  if [ -n "$WOODPECKER_SKIP" ] || grep -q WOODPECKER_UNAVAILABLE "$STATE/env.d/woodpecker.env" 2>/dev/null; then
    echo "woodpecker: unavailable (${WOODPECKER_SKIP:-see WOODPECKER_UNAVAILABLE in $STATE/env})"; return 0
  fi
  if is_running woodpecker && curl -sf -o /dev/null "$(woodpecker_url)/healthz"; then
    echo "woodpecker: up at $(woodpecker_url)"
  else
    echo "woodpecker: down"; return 1
  fi
}
