#!/usr/bin/env bash
# Stages the function's deployable source in OUT_DIR: functions/ without its tests,
# plus a vendor/ directory holding every dependency, shared/ included. The result
# builds with no go.work and no sibling directories, which is what Google's Go
# buildpack gets when Cloud Build uploads it (gcloud functions deploy --source).
# Terraform's first deploy zips the same directory (make function-zip).
set -euo pipefail

out=${1:?usage: function-source.sh OUT_DIR}
root=$(cd "$(dirname "$0")/.." && pwd)

rm -rf "$out"
mkdir -p "$out"
out=$(cd "$out" && pwd)

# Source only: tests and their data are not part of the deployed function.
(cd "$root/functions" && tar --exclude=./vendor --exclude='*_test.go' --exclude=testdata -cf - .) |
  (cd "$out" && tar -xf -)

# go.mod replaces shared with ../shared; vendoring copies it in, and in vendor mode
# the go command never reads the replacement directory.
(cd "$root/functions" && GOWORK=off GOFLAGS=-mod=mod go mod vendor -o "$out/vendor")

# gcloud uploads what .gcloudignore allows; an explicit file stops gcloud from
# generating one from a .gitignore that would drop vendor/.
printf '%s\n' '# Upload the staged directory as it is.' '.gcloudignore' > "$out/.gcloudignore"
