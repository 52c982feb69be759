#!/usr/bin/env bash
# make e2e: seed 000 rolled out under steady load through a simulated ALB, with
# the operator off and on, on a real etcd + kube-apiserver + kube-controller-manager
# (test/e2e, docs/e2e.md). Prints the table and, last, the line
#   E2E scenarios=N off_errors=N on_errors=N on_requests=N
# E2E_SHORT=1: one rollout off and one on for seed 000 with ip targets (CI).
set -euo pipefail
cd "$(dirname "$0")/.."

ASSETS="${KUBEBUILDER_ASSETS:-$(hack/k8s-binaries.sh all)}"
[[ -x "${ASSETS}/kube-controller-manager" ]] || ASSETS="$(hack/k8s-binaries.sh all)"
[[ -x bin/manager ]] || go build -o bin/manager .

report="$(mktemp)"
trap 'rm -f "${report}"' EXIT
svg="docs/e2e-rollouts.svg"
if [[ "${E2E_SHORT:-}" == "1" ]]; then svg="$(mktemp --suffix=.svg)"; fi

set +e
GRACEFULDRAIN_E2E=1 KUBEBUILDER_ASSETS="${ASSETS}" E2E_REPORT="${report}" E2E_SVG="$(realpath -m "${svg}")" \
  go test ./test/e2e/ -run '^TestRollouts$' -count=1 -v -timeout 40m
rc=$?
set -e
echo
if [[ -s "${report}" ]]; then
  [[ "${E2E_SHORT:-}" == "1" ]] || echo "chart: ${svg}"
  cat "${report}"   # ends with the E2E line
else
  echo "e2e: no report (the test failed before measuring; see above)" >&2
fi
exit "${rc}"
