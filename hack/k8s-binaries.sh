#!/usr/bin/env bash
# Provides etcd, kube-apiserver, kubectl (and, with "all", kube-controller-manager)
# for envtest, the demo and e2e, on machines where setup-envtest cannot download
# prebuilt binaries. They are built from source through the Go module proxy once
# and cached outside the checkout, so clean clones (CI) reuse them.
#
# Usage: hack/k8s-binaries.sh [all]    prints the directory holding the binaries.
set -euo pipefail

K8S_VERSION="${K8S_VERSION:-1.35.4}"
ETCD_VERSION="${ETCD_VERSION:-3.6.16}"
CACHE_ROOT="${GRACEFULDRAIN_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/gracefuldrain}"
DEST="${CACHE_ROOT}/k8s/${K8S_VERSION}"
WANT=(etcd kube-apiserver kubectl)
if [[ "${1:-}" == "all" ]]; then WANT+=(kube-controller-manager); fi

log() { echo "k8s-binaries: $*" >&2; }

missing=()
for b in "${WANT[@]}"; do [[ -x "${DEST}/${b}" ]] || missing+=("$b"); done
if [[ ${#missing[@]} -eq 0 ]]; then echo "${DEST}"; exit 0; fi

mkdir -p "${DEST}"
# One builder at a time per cache; a second caller waits and then finds the binaries.
exec 9>"${DEST}/.lock"
flock 9

export GOFLAGS=-mod=mod CGO_ENABLED=0 GOTOOLCHAIN=local
work="$(mktemp -d)"
trap 'rm -rf "${work}"' EXIT

build_etcd() {
  log "building etcd v${ETCD_VERSION} (about 1 minute on 2 cores)"
  mkdir -p "${work}/etcd" && cd "${work}/etcd"
  go mod init gracefuldrain.local/etcd-build >/dev/null 2>&1
  printf '//go:build tools\npackage tools\nimport _ "go.etcd.io/etcd/server/v3"\n' > tools.go
  go mod edit -require "go.etcd.io/etcd/server/v3@v${ETCD_VERSION}"
  go mod tidy >/dev/null 2>&1 || go mod tidy
  go build -trimpath -o "${DEST}/etcd.tmp" go.etcd.io/etcd/server/v3
  mv "${DEST}/etcd.tmp" "${DEST}/etcd"
}

prepare_k8s_module() {
  [[ -f "${work}/k8s/go.sum" ]] && return 0
  mkdir -p "${work}/k8s" && cd "${work}/k8s"
  go mod init gracefuldrain.local/k8s-build >/dev/null 2>&1
  go mod edit -require "k8s.io/kubernetes@v${K8S_VERSION}"
  local gomod
  gomod="$(go mod download -json "k8s.io/kubernetes@v${K8S_VERSION}" | sed -n 's/.*"GoMod": "\(.*\)".*/\1/p')"
  # k8s.io/kubernetes replaces its staging modules with local paths; point them at
  # the published modules of the same release instead.
  local minor="0.${K8S_VERSION#1.}"
  grep -E '^\s*k8s.io/[^ ]+ => ./staging/src/' "${gomod}" | awk '{print $1}' | while read -r m; do
    go mod edit -replace "${m}=${m}@v${minor}"
  done
  {
    echo '//go:build tools'
    echo 'package tools'
    echo 'import ('
    echo '  _ "k8s.io/kubernetes/cmd/kube-apiserver"'
    echo '  _ "k8s.io/kubernetes/cmd/kube-controller-manager"'
    echo '  _ "k8s.io/kubectl/pkg/cmd"'
    echo ')'
  } > tools.go
  go mod tidy >/dev/null 2>&1 || go mod tidy
}

build_k8s() {
  local name="$1" pkg="$2"
  prepare_k8s_module
  cd "${work}/k8s"
  log "building ${name} v${K8S_VERSION} (kube-apiserver takes about 6 minutes cold on 2 cores)"
  local minor="${K8S_VERSION#*.}"; minor="${minor%%.*}"
  local vpkg=k8s.io/component-base/version
  go build -trimpath -ldflags "-s -w -X ${vpkg}.gitVersion=v${K8S_VERSION} -X ${vpkg}.gitMajor=1 -X ${vpkg}.gitMinor=${minor} -X ${vpkg}.gitTreeState=clean" \
    -o "${DEST}/${name}.tmp" "${pkg}"
  mv "${DEST}/${name}.tmp" "${DEST}/${name}"
}

for b in "${missing[@]}"; do
  [[ -x "${DEST}/${b}" ]] && continue
  case "$b" in
    etcd) build_etcd ;;
    kube-apiserver) build_k8s kube-apiserver k8s.io/kubernetes/cmd/kube-apiserver ;;
    kube-controller-manager) build_k8s kube-controller-manager k8s.io/kubernetes/cmd/kube-controller-manager ;;
    kubectl) build_k8s kubectl k8s.io/kubernetes/cmd/kubectl ;;
  esac
done
echo "${DEST}"
