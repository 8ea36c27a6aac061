#!/usr/bin/env bash
# Fails when git tracks build output: a compiled executable (ELF, Mach-O, PE or a Go
# test binary) or any file over 2 MiB. Build output belongs in bin/, artifacts/ or
# build/ (.gitignore). ALLOW_LARGE names tracked files allowed past the size limit
# (none today); add a docs/ image here by name if one ever needs it.
set -euo pipefail
cd "$(dirname "$0")/.."
limit=$((2 * 1024 * 1024))
ALLOW_LARGE=()
bad=0
while IFS= read -r -d '' f; do
  [ -f "$f" ] || continue # deleted in the work tree but not yet in the index
  size=$(stat -c %s "$f")
  if [ "$size" -gt "$limit" ] && [[ ! " ${ALLOW_LARGE[*]} " =~ " $f " ]]; then
    echo "check-tracked: $f is $size bytes, over 2 MiB: build output? (git rm --cached, .gitignore)" >&2
    bad=1
  fi
  magic=$(head -c 4 "$f" | od -An -tx1 | tr -d ' \n')
  case "$magic" in
  7f454c46 | cffaedfe | cefaedfe | feedface | feedfacf | 4d5a9000)
    echo "check-tracked: $f is a compiled executable: build output belongs under bin/" >&2
    bad=1
    ;;
  esac
done < <(git ls-files -z)
exit "$bad"
