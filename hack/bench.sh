#!/usr/bin/env bash
# make bench: gracefuldrain at N workloads (default 1000; N=5000 works) on a
# real etcd + kube-apiserver, against its write floor and memory floor, and its
# admission webhook answering AdmissionReviews over TLS, in one run
# (test/bench). Prints tables, a BENCH and a WEBHOOK line, and the targets;
# exits non-zero when a target is missed (docs/benchmarks.md).
#   N=5000 make bench
#   KINDS=deployment make bench             # kinds per namespace of 10 (default deployment=7,statefulset=1,daemonset=1,rollout=1)
#   PODS=0 make bench                       # running pods per workload (default 2, its replicas)
#   QPS=100 BURST=200 make bench            # operator --kube-api-qps/--kube-api-burst (and the floor's)
#   CONCURRENCY=8 STEADY=3m make bench      # --max-concurrent-reconciles, steady-state window
#   SCRAPE=1s make bench                    # how often the managers' metrics are scraped for heap samples (default 15s, a Prometheus's)
#   MANAGER_ARGS="--zap-log-level=error" make bench
#   MANAGER_ENV="GOGC=100" make bench       # environment of the operator process (the bare manager gets its GC settings)
#   REVIEWS=2000 WARMUP=200 SENDERS=2 make bench  # admission reviews measured, sent before, concurrent senders
set -euo pipefail
cd "$(dirname "$0")/.."

ASSETS="${KUBEBUILDER_ASSETS:-$(hack/k8s-binaries.sh)}"
# Argo Rollouts' CRDs, from its Go module through the module proxy (cached).
ARGO_CRDS="${ARGO_ROLLOUTS_CRDS:-$(hack/tools.sh argo-rollouts-crds)}"
go build -o bin/manager . # always: a stale binary would measure old code
go build -o bin/bench ./test/bench
go build -o bin/bench-bare ./test/bench/bare

KUBEBUILDER_ASSETS="${ASSETS}" exec bin/bench \
  -n "${N:-1000}" -kinds "${KINDS:-deployment=7,statefulset=1,daemonset=1,rollout=1}" -pods "${PODS:-2}" \
  -argo-rollouts-crds "${ARGO_CRDS}" \
  -qps "${QPS:-50}" -burst "${BURST:-100}" -concurrency "${CONCURRENCY:-4}" \
  -steady "${STEADY:-2m}" -scrape-interval "${SCRAPE:-15s}" -timeout "${TIMEOUT:-30m}" \
  -manager bin/manager -bare bin/bench-bare \
  -manager-args "${MANAGER_ARGS:-}" -manager-env "${MANAGER_ENV:-}" \
  -reviews "${REVIEWS:-2000}" -warmup "${WARMUP:-200}" -senders "${SENDERS:-2}"
