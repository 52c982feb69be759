#!/usr/bin/env bash
# Provides helm and promtool for the chart and Prometheus-rule tests, on machines
# where only the Go module proxy is reachable (no release downloads). Each is
# built from source once and cached outside the checkout, like
# hack/k8s-binaries.sh does for etcd and kube-apiserver, so clean clones (CI)
# reuse them. Neither is a dependency of the operator's go.mod: each is built in a
# throwaway module.
#
# Also provides the prometheus-operator's ServiceMonitor and PrometheusRule CRDs,
# so that the chart's monitoring objects can be applied to a test API server:
# they are taken from the operator's Go module (its example/ directory), which
# the module proxy serves like any other; nothing is built.
#
# Usage: hack/tools.sh [helm] [promtool] [prometheus-operator-crds] [argo-rollouts-crds] [rollouts-controller]
#   prints, one per line, the path of each binary asked for, or the directory
#   holding the CRDs (default: helm and promtool).
#
# Cold build times on 2 cores, measured with an empty Go build cache and the
# modules already downloaded, while other builds shared the CPU (load 5-7):
#   helm v3.22.0        324 s wall, 290 s CPU
#   promtool v0.316.0   883 s wall, 802 s CPU with every Prometheus service
#                       discovery linked in (AWS, Azure, GCE, ...); built with
#                       -tags remove_all_sd (Prometheus's own switch; promtool's
#                       rule tests need none of them): 522 s wall, 516 s CPU at
#                       nice 19 under load 9-12
# The first run on a busy machine takes longer (1,108 s and 1,391 s at load 15+).
#   rollouts-controller v1.10.1 (Argo Rollouts, for the e2e canary): 53 s wall
#                       with most of its packages already in the Go build
#                       cache (a first attempt was interrupted); a cold
#                       build compiles about as much as helm.
# Every later run finds them in the cache and costs nothing.
set -euo pipefail

# The newest releases the proxy serves that build here; their go.mod files ask
# for Go 1.26.0 (helm) and 1.26.7 (promtool), so `make test` needs that Go.
# helm v3 (v4 changed its CLI); Prometheus's Go module versions are v0.3XX.Y
# for Prometheus 3.XX.Y.
HELM_VERSION="${HELM_VERSION:-v3.22.0}"
PROMTOOL_VERSION="${PROMTOOL_VERSION:-v0.316.0}"
PROMETHEUS_OPERATOR_VERSION="${PROMETHEUS_OPERATOR_VERSION:-v0.85.0}"
# The newest Argo Rollouts whose go.mod this Go accepts (v1.10.2 asks for 1.26.10).
ARGO_ROLLOUTS_VERSION="${ARGO_ROLLOUTS_VERSION:-v1.10.1}"
CACHE_ROOT="${GRACEFULDRAIN_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/gracefuldrain}"

log() { echo "tools: $*" >&2; }

export GOFLAGS=-mod=mod CGO_ENABLED=0 GOTOOLCHAIN=local

# build_tool NAME VERSION MODULE PACKAGE: builds PACKAGE of MODULE@VERSION into
# <cache>/tools/NAME-VERSION/NAME unless it is there, and prints that path.
build_tool() {
  local name="$1" version="$2" module="$3" pkg="$4"
  shift 4
  local dest="${CACHE_ROOT}/tools/${name}-${version}"
  if [[ ! -x "${dest}/${name}" ]]; then
    mkdir -p "${dest}"
    # One builder at a time per tool; a second caller waits and then finds the binary.
    exec 9>"${dest}/.lock"
    flock 9
    if [[ ! -x "${dest}/${name}" ]]; then
      local work start
      work="$(mktemp -d)"
      # shellcheck disable=SC2064 # expand work now: it is local to this call
      trap "rm -rf '${work}'" EXIT
      start=$SECONDS
      log "building ${name} ${version} (cold: minutes, see the top of this script)"
      (
        cd "${work}"
        go mod init gracefuldrain.local/"${name}"-build >/dev/null 2>&1
        printf '//go:build tools\npackage tools\nimport _ "%s"\n' "${pkg}" > tools.go
        go mod edit -require "${module}@${version}"
        adopt_replaces "${name}" "${module}" "${version}"
        go mod tidy >/dev/null 2>&1 || go mod tidy
        go build -trimpath -tags "$(tags_for "${name}")" -ldflags "-s -w $(ldflags_for "${name}" "${version}")" -o "${dest}/${name}.tmp" "${pkg}"
      )
      mv "${dest}/${name}.tmp" "${dest}/${name}"
      rm -rf "${work}"
      trap - EXIT
      log "built ${name} ${version} in $((SECONDS - start)) s"
    fi
    exec 9>&-
  fi
  echo "${dest}/${name}"
}

# adopt_replaces NAME MODULE VERSION, run inside the throwaway module: the
# rollouts-controller's module requires k8s.io/kubernetes, whose staging
# modules are v0.0.0 and resolve only through the replace block of Argo
# Rollouts' own go.mod (without it `go mod tidy` asks the proxy for
# k8s.io/kubelet@v0.0.0 and fails); the block is copied as its release uses it.
adopt_replaces() {
  case "$1" in
    rollouts-controller)
      local gomod
      gomod="$(go mod download -json "$2@$3" | sed -n 's/.*"GoMod": "\(.*\)".*/\1/p')"
      sed -n '/^replace (/,/^)/p' "${gomod}" >> go.mod
      ;;
  esac
}

# tags_for NAME: the build tags of each tool. Prometheus builds every service
# discovery (cloud SDKs included) unless told remove_all_sd; promtool's
# Kubernetes discovery is imported directly and stays.
tags_for() {
  case "$1" in
    promtool) echo -n "remove_all_sd" ;;
  esac
}

# ldflags_for NAME VERSION, run inside the throwaway module: the version
# stamps each project's own release build sets.
ldflags_for() {
  case "$1" in
    helm)
      # helm lint and helm template assume this Kubernetes version
      # (.Capabilities.KubeVersion); helm's Makefile sets it from client-go.
      local cg minor
      cg="$(go list -m -f '{{.Version}}' k8s.io/client-go)" # v0.35.1 -> 1.35
      minor="${cg#v0.}"; minor="${minor%%.*}"
      local k
      echo -n "-X helm.sh/helm/v3/internal/version.version=$2 -X helm.sh/helm/v3/internal/version.gitTreeState=clean"
      for k in helm.sh/helm/v3/pkg/lint/rules helm.sh/helm/v3/pkg/chartutil; do
        echo -n " -X ${k}.k8sVersionMajor=1 -X ${k}.k8sVersionMinor=${minor}"
      done
      ;;
    promtool)
      echo -n "-X github.com/prometheus/common/version.Version=$2"
      ;;
    rollouts-controller)
      # VERSION is the tag without its v in Argo Rollouts' Makefile.
      echo -n "-X github.com/argoproj/argo-rollouts/utils/version.version=${2#v} -X github.com/argoproj/argo-rollouts/utils/version.gitTreeState=clean"
      ;;
  esac
}

# module_files NAME MODULE VERSION SUBDIR FILE...: copies FILEs of SUBDIR of
# MODULE@VERSION (downloaded through the module proxy) into
# <cache>/tools/NAME-VERSION once, and prints that directory.
module_files() {
  local name="$1" module="$2" version="$3" subdir="$4"
  shift 4
  local files=("$@")
  local dest="${CACHE_ROOT}/tools/${name}-${version}"
  if [[ ! -f "${dest}/${files[-1]}" ]]; then
    mkdir -p "${dest}"
    exec 9>"${dest}/.lock"
    flock 9
    if [[ ! -f "${dest}/${files[-1]}" ]]; then
      local dir f
      # Outside any module, so that no go.mod is consulted or changed.
      dir="$(cd / && go mod download -json "${module}@${version}" | sed -n 's/.*"Dir": "\(.*\)".*/\1/p')"
      for f in "${files[@]}"; do
        cp "${dir}/${subdir}/${f}" "${dest}/${f}.tmp"
        chmod 644 "${dest}/${f}.tmp"
        mv "${dest}/${f}.tmp" "${dest}/${f}"
      done
    fi
    exec 9>&-
  fi
  echo "${dest}"
}

# The two CRDs the chart's monitoring objects need (about 4 MB to download).
prometheus_operator_crds() {
  module_files prometheus-operator-crds github.com/prometheus-operator/prometheus-operator "${PROMETHEUS_OPERATOR_VERSION}" \
    example/prometheus-operator-crd monitoring.coreos.com_servicemonitors.yaml monitoring.coreos.com_prometheusrules.yaml
}

# Argo Rollouts' CRDs, as its project ships them (about 10 MB to download):
# the controllers tests install them while the manager runs.
argo_rollouts_crds() {
  module_files argo-rollouts-crds github.com/argoproj/argo-rollouts "${ARGO_ROLLOUTS_VERSION}" manifests/crds \
    analysis-run-crd.yaml analysis-template-crd.yaml cluster-analysis-template-crd.yaml experiment-crd.yaml rollout-crd.yaml
}

want=("$@")
if [[ ${#want[@]} -eq 0 ]]; then want=(helm promtool); fi
for t in "${want[@]}"; do
  case "$t" in
    helm) build_tool helm "${HELM_VERSION}" helm.sh/helm/v3 helm.sh/helm/v3/cmd/helm ;;
    promtool) build_tool promtool "${PROMTOOL_VERSION}" github.com/prometheus/prometheus github.com/prometheus/prometheus/cmd/promtool ;;
    prometheus-operator-crds) prometheus_operator_crds ;;
    argo-rollouts-crds) argo_rollouts_crds ;;
    rollouts-controller) build_tool rollouts-controller "${ARGO_ROLLOUTS_VERSION}" github.com/argoproj/argo-rollouts github.com/argoproj/argo-rollouts/cmd/rollouts-controller ;;
    *) echo "tools: unknown tool ${t} (helm, promtool, prometheus-operator-crds, argo-rollouts-crds, rollouts-controller)" >&2; exit 2 ;;
  esac
done
