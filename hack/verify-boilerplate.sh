#!/usr/bin/env bash
# Fails when a tracked Go file does not start with the license header of
# hack/boilerplate.go.txt (after an optional //go:build line), as controller-gen
# writes it on generated files.
set -euo pipefail
cd "$(dirname "$0")/.."

want="$(head -2 hack/boilerplate.go.txt | tail -1)"
missing=()
while IFS= read -r f; do
  head -5 "$f" | grep -qxF "${want}" || missing+=("$f")
done < <(git ls-files '*.go'; git ls-files --others --exclude-standard '*.go')
if [[ ${#missing[@]} -gt 0 ]]; then
  printf 'missing the license header of hack/boilerplate.go.txt:\n'
  printf '  %s\n' "${missing[@]}"
  exit 1
fi
