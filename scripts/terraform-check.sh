#!/usr/bin/env bash
# Checks terraform/ with the real google provider: fmt, init, validate, and the plan
# tests (terraform/tests/*.tftest.hcl, mock provider, command = plan).
#
# The provider comes from the offline mirror of hashicorp/google 7.45.0 in
# ../shared/tools/terraform (beside the repository) when it is there, otherwise from the
# Terraform registry. Without either, this fails and says which is missing. Set
# TF_PROVIDER_SOURCE=registry or =mirror to skip the registry probe.
#
# Nothing is written into the working tree: the configuration is copied to a
# temporary directory (with every other top-level entry of the repository linked
# beside it, for tests that read ../cloudbuild.yaml), so neither .terraform/ nor a
# lock file lands in terraform/. The mirror's binary is built from source and its
# checksums differ from the registry's, which is why no lock file is kept.
set -euo pipefail

die() { echo "terraform-check: $*" >&2; exit 1; }

here=$(cd "$(dirname "$0")" && pwd)
root=$(git -C "$here" rev-parse --show-toplevel 2>/dev/null || (cd "$here/.." && pwd))

# A machine without the CLI builds the pinned release from the Go module proxy (once,
# into a cache folder): the only registry this project's machines are sure to reach.
if ! command -v terraform >/dev/null; then
  bin=${XDG_CACHE_HOME:-$HOME/.cache}/vividly-tools/terraform-1.11.4
  if [ ! -x "$bin/terraform" ]; then
    echo "terraform-check: terraform not installed; building 1.11.4 from the Go module proxy into $bin" >&2
    GOBIN=$bin GOWORK=off GOFLAGS=-mod=mod go install github.com/hashicorp/terraform@v1.11.4 ||
      die "the terraform CLI is not installed and could not be built (need 1.11 or newer: https://developer.hashicorp.com/terraform/install)"
  fi
  PATH=$bin:$PATH
fi
ver=$(terraform version -json 2>/dev/null | sed -n 's/.*"terraform_version": *"\([0-9.]*\)".*/\1/p')
case "$ver" in
  1.1[1-9].* | 1.[2-9][0-9].* | [2-9].*) ;;
  *) die "terraform ${ver:-of unknown version} is too old: the plan tests need 1.11 or newer (override_during)" ;;
esac

export CHECKPOINT_DISABLE=1 TF_IN_AUTOMATION=1 TF_INPUT=0

registry_reachable() {
  if command -v curl >/dev/null; then
    curl -fsS --max-time 5 -o /dev/null https://registry.terraform.io/.well-known/terraform.json 2>/dev/null
  else
    timeout 5 bash -c 'exec 3<>/dev/tcp/registry.terraform.io/443' 2>/dev/null
  fi
}

mirror="$(cd "$root/.." && pwd)/shared/tools/terraform/provider-mirror.sh"
source=${TF_PROVIDER_SOURCE:-}
if [ -z "$source" ]; then
  # The mirror, when it is there, keeps the check offline and on the pinned release.
  if [ -f "$mirror" ]; then source=mirror; elif registry_reachable; then source=registry; else source=none; fi
fi
case "$source" in
  registry) echo "terraform-check: provider from registry.terraform.io" ;;
  mirror)
    [ -f "$mirror" ] || die "registry.terraform.io is unreachable and the offline provider mirror is missing (expected $mirror, from shared/ beside the repository); one of the two is needed"
    mirror_env=$(bash "$mirror") || die "the offline provider mirror failed ($mirror)"
    eval "$mirror_env" # export TF_CLI_CONFIG_FILE=…
    echo "terraform-check: provider from the offline mirror ($TF_CLI_CONFIG_FILE)"
    ;;
  none) die "no google provider: registry.terraform.io is unreachable and the offline mirror is missing (expected $mirror, from shared/ beside the repository)" ;;
  *) die "TF_PROVIDER_SOURCE must be registry or mirror, not $source" ;;
esac

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
export TF_DATA_DIR="$tmp/data"

# The configuration, copied without any local state; everything else linked.
mkdir -p "$tmp/root/terraform"
(cd "$root/terraform" && tar --exclude=.terraform --exclude=.terraform.lock.hcl --exclude='*.tfstate*' -cf - .) |
  (cd "$tmp/root/terraform" && tar -xf -)
for entry in "$root"/*; do
  [ "$(basename "$entry")" = terraform ] || ln -s "$entry" "$tmp/root/"
done
cd "$tmp/root/terraform"

# Drops the "Resource targeting is in effect" warning the API-ordering tests cause
# (they plan one service account at a time, on purpose).
quiet_targeting() {
  awk '/Warning: Resource targeting is in effect/ { skip = 1; blank = 0; next }
       skip { if (/as part of an error message/) { skip = 0; after = 1 }; next }
       /^$/ { if (!after) blank++; next }
       { after = 0; for (; blank > 0; blank--) print ""; print }'
}

step() { echo "terraform-check: $*"; }

step "fmt -check -recursive"
terraform fmt -check -recursive -diff . || die "terraform fmt would change the files above: run terraform fmt -recursive terraform"

step "init -backend=false"
terraform init -backend=false -no-color >"$tmp/init.log" 2>&1 || { cat "$tmp/init.log" >&2; die "terraform init failed (provider source: $source)"; }

step "validate"
terraform validate -no-color

# Test files plan an environment from its tfvars; each set runs with its own file.
# The sets run side by side (each plan is independent, and nothing is written but
# their logs), then their output is printed in order.
sets=("dev:dev ci variants first_apply" "dev:validation cluster fcm redis_scale" "prod:prod prod_placeholders")
pids=()
for i in "${!sets[@]}"; do
  spec=${sets[$i]}
  env=${spec%%:*}
  filters=()
  for f in ${spec#*:}; do filters+=("-filter=tests/$f.tftest.hcl"); done
  (
    echo "terraform-check: test -var-file=environments/$env.tfvars ${spec#*:}"
    terraform test -no-color -var-file="environments/$env.tfvars" "${filters[@]}" 2>&1
  ) >"$tmp/test-$i.log" &
  pids+=($!)
done
status=0
for i in "${!sets[@]}"; do
  wait "${pids[$i]}" || status=1
  quiet_targeting <"$tmp/test-$i.log"
done

# A test file that no set above runs would silently never run.
for f in tests/*.tftest.hcl; do
  name=$(basename "$f" .tftest.hcl)
  case " ${sets[*]#*:} " in
    *" $name "*) ;;
    *) echo "terraform-check: $f is not run by any set in scripts/terraform-check.sh" >&2; status=1 ;;
  esac
done

[ "$status" = 0 ] || die "plan tests failed"
step "ok"
