#!/usr/bin/env bash
# Runs every go-fuzz target for FUZZTIME each (default 30s) and prints the
# executions of each and their total:  FUZZ targets=N execs=N
# The seed corpora of the same targets run in `make test` as normal tests.
set -euo pipefail
cd "$(dirname "$0")/.."
FUZZTIME="${FUZZTIME:-30s}"

# package  target
TARGETS=(
  "./internal/settings FuzzParse"
  "./internal/discovery FuzzDiscover"
  "./internal/discovery FuzzDiscoverGraph"
  "./internal/plan FuzzCompute"
  "./internal/plan FuzzPlanApply"
)

total=0
n=0
for t in "${TARGETS[@]}"; do
  read -r pkg name <<<"$t"
  log="$(mktemp)"
  echo "--- fuzz $name ($pkg) for $FUZZTIME"
  if ! go test "$pkg" -run '^$' -fuzz "^${name}\$" -fuzztime "$FUZZTIME" >"$log" 2>&1; then
    cat "$log"
    echo "fuzz $name FAILED (a failing input is saved under $pkg/testdata/fuzz/$name)"
    rm -f "$log"
    exit 1
  fi
  execs="$(grep -o 'execs: [0-9]*' "$log" | tail -1 | grep -o '[0-9]*' || echo 0)"
  tail -3 "$log"
  rm -f "$log"
  echo "fuzz $name execs=$execs"
  total=$((total + execs))
  n=$((n + 1))
done
echo "FUZZ targets=$n execs=$total"
