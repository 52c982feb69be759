#!/usr/bin/env bash
# make e2e: seed 000 rolled out under steady load through simulated AWS load
# balancers (ALB ip, ALB instance, NLB ip), with the operator off and on, a
# Helm-like upgrade, and the drain curve, on a real etcd + kube-apiserver +
# kube-controller-manager (test/e2e, docs/e2e.md). Prints the table, the CURVE
# and DEFAULT lines and, last, the line
#   E2E scenarios=N off_errors=N on_errors=N on_requests=N
# E2E_SHORT=1 (CI): ALB ip off and on, the Helm-like upgrade, two curve points,
# and, with the operator, the StatefulSet and the Argo Rollouts canary.
# E2E_TIME_SCALE (default 4) compresses model time; E2E_PARALLEL (default 3)
# is how many scenarios run side by side; E2E_ONLY=<regexp> runs only the
# scenarios whose names match (e.g. E2E_ONLY='^sts-|^rollout-').
# The Argo Rollouts canary runs under the real rollouts-controller, built from
# its Go module once and cached (hack/tools.sh rollouts-controller).
set -euo pipefail
cd "$(dirname "$0")/.."

ASSETS="${KUBEBUILDER_ASSETS:-$(hack/k8s-binaries.sh all)}"
[[ -x "${ASSETS}/kube-controller-manager" ]] || ASSETS="$(hack/k8s-binaries.sh all)"
[[ -x bin/manager ]] || go build -o bin/manager .
# The Argo Rollouts controller and CRDs, for the rollout-canary scenarios (every
# selection that may include them; cached after the first build).
if [[ -z "${E2E_ONLY:-}" ]] || grep -qE -- "${E2E_ONLY}" <<<"rollout-canary-alb-ip-off
rollout-canary-alb-ip-on"; then
  mapfile -t argo < <(hack/tools.sh rollouts-controller argo-rollouts-crds)
  export E2E_ROLLOUTS_CONTROLLER="${argo[0]}" E2E_ARGO_CRDS="${argo[1]}"
fi

report="$(mktemp)"
trap 'rm -f "${report}"' EXIT
svg="docs/e2e-rollouts.svg"
curve_svg="docs/e2e-drain-curve.svg"
# Only the full run (every scenario) redraws the committed charts.
partial=""
[[ "${E2E_SHORT:-}" == "1" || -n "${E2E_ONLY:-}" ]] && partial=1
if [[ -n "${partial}" ]]; then svg="$(mktemp --suffix=.svg)"; curve_svg="$(mktemp --suffix=.svg)"; fi

started=$(date +%s)
set +e
GRACEFULDRAIN_E2E=1 KUBEBUILDER_ASSETS="${ASSETS}" E2E_REPORT="${report}" \
  E2E_SVG="$(realpath -m "${svg}")" E2E_CURVE_SVG="$(realpath -m "${curve_svg}")" \
  go test ./test/e2e/ -run '^TestRollouts$' -count=1 -v -timeout 60m
rc=$?
set -e
echo
if [[ -s "${report}" ]]; then
  [[ -n "${partial}" ]] || echo "charts: ${svg} ${curve_svg}"
  echo "e2e took $(( $(date +%s) - started )) s"
  cat "${report}"   # ends with the E2E line
else
  echo "e2e: no report (the test failed before measuring; see above)" >&2
fi
exit "${rc}"
