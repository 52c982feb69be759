#!/usr/bin/env bash
# make demo: the operator's main job in about three minutes. Seed 000 (nginx
# behind an ALB Ingress with ip targets, field report 000) rolled out under
# steady traffic, once without the operator and once with it, side by side, on
# a real etcd + kube-apiserver + kube-controller-manager with the e2e's
# simulated node, ALB and AWS Load Balancer Controller (test/e2e/demo reuses
# test/e2e's harness). Prints the non-2xx counts, what the operator reports
# (kubectl get gd, the drain fields, the Events), stops everything it started,
# and ends with the line
#   DEMO requests_off=N errors_off=N requests_on=N errors_on=N ready=True|False
# Needs nothing but Go: the control plane binaries come from
# hack/k8s-binaries.sh (built once, cached outside the checkout).
set -euo pipefail
cd "$(dirname "$0")/.."

ASSETS="${KUBEBUILDER_ASSETS:-$(hack/k8s-binaries.sh all)}"
[[ -x "${ASSETS}/kube-controller-manager" ]] || ASSETS="$(hack/k8s-binaries.sh all)"
[[ -x bin/manager ]] || go build -o bin/manager .
go build -o bin/demo ./test/e2e/demo
KUBEBUILDER_ASSETS="${ASSETS}" exec bin/demo
