#!/usr/bin/env bash
# make e2e: seed 000 rolled out under steady load through simulated AWS load
# balancers (ALB ip, ALB instance, NLB ip), with the operator off and on, a
# Helm-like upgrade, and the drain curve, on a real etcd + kube-apiserver +
# kube-controller-manager (test/e2e, docs/e2e.md). Prints the table, the CURVE
# and DEFAULT lines and, last, the line
#   E2E scenarios=N off_errors=N on_errors=N on_requests=N
# E2E_SHORT=1 (CI): ALB ip off and on, the Helm-like upgrade, two curve points.
# E2E_TIME_SCALE (default 4) compresses model time; E2E_PARALLEL (default 3)
# is how many scenarios run side by side.
set -euo pipefail
cd "$(dirname "$0")/.."

ASSETS="${KUBEBUILDER_ASSETS:-$(hack/k8s-binaries.sh all)}"
[[ -x "${ASSETS}/kube-controller-manager" ]] || ASSETS="$(hack/k8s-binaries.sh all)"
[[ -x bin/manager ]] || go build -o bin/manager .

report="$(mktemp)"
trap 'rm -f "${report}"' EXIT
svg="docs/e2e-rollouts.svg"
curve_svg="docs/e2e-drain-curve.svg"
if [[ "${E2E_SHORT:-}" == "1" ]]; then svg="$(mktemp --suffix=.svg)"; curve_svg="$(mktemp --suffix=.svg)"; fi

started=$(date +%s)
set +e
GRACEFULDRAIN_E2E=1 KUBEBUILDER_ASSETS="${ASSETS}" E2E_REPORT="${report}" \
  E2E_SVG="$(realpath -m "${svg}")" E2E_CURVE_SVG="$(realpath -m "${curve_svg}")" \
  go test ./test/e2e/ -run '^TestRollouts$' -count=1 -v -timeout 60m
rc=$?
set -e
echo
if [[ -s "${report}" ]]; then
  [[ "${E2E_SHORT:-}" == "1" ]] || echo "charts: ${svg} ${curve_svg}"
  echo "e2e took $(( $(date +%s) - started )) s"
  cat "${report}"   # ends with the E2E line
else
  echo "e2e: no report (the test failed before measuring; see above)" >&2
fi
exit "${rc}"
