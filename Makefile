# gracefuldrain — see README.md. `make demo` and `make test` do all set-up themselves.

IMG ?= gracefuldrain:latest
LOCALBIN ?= $(CURDIR)/bin
CONTROLLER_TOOLS_VERSION ?= v0.20.1
# v5.8.1: the newest kustomize that builds with the Go the README asks for (1.25+);
# v5.8.2 needs Go 1.26 and v5.8.3 Go 1.27.
KUSTOMIZE_VERSION ?= v5.8.1
CONTROLLER_GEN ?= $(LOCALBIN)/controller-gen-$(CONTROLLER_TOOLS_VERSION)
KUSTOMIZE ?= $(LOCALBIN)/kustomize-$(KUSTOMIZE_VERSION)
GO_TEST_FLAGS ?=

# etcd, kube-apiserver and kubectl, built from source once and cached outside the
# checkout (see hack/k8s-binaries.sh). A KUBEBUILDER_ASSETS already set wins.
ENVTEST_ASSETS = $(if $(KUBEBUILDER_ASSETS),$(KUBEBUILDER_ASSETS),$$(hack/k8s-binaries.sh))
# helm, promtool and the prometheus-operator CRDs for test/install, built or
# fetched once into the same cache (hack/tools.sh). A HELM, PROMTOOL or
# PROMETHEUS_OPERATOR_CRDS already set wins.
HELM_PATH = $(if $(HELM),$(HELM),$$(hack/tools.sh helm))
PROMTOOL_PATH = $(if $(PROMTOOL),$(PROMTOOL),$$(hack/tools.sh promtool))
PROMETHEUS_OPERATOR_CRDS_PATH = $(if $(PROMETHEUS_OPERATOR_CRDS),$(PROMETHEUS_OPERATOR_CRDS),$$(hack/tools.sh prometheus-operator-crds))
ARGO_ROLLOUTS_CRDS_PATH = $(if $(ARGO_ROLLOUTS_CRDS),$(ARGO_ROLLOUTS_CRDS),$$(hack/tools.sh argo-rollouts-crds))

.PHONY: all
all: build

##@ Development

.PHONY: manifests
manifests: $(CONTROLLER_GEN) ## Generate the CRD, RBAC and webhook configuration from markers (and copy them, with the alerts, into the Helm chart).
	$(CONTROLLER_GEN) rbac:roleName=manager-role crd webhook paths="./..." output:crd:artifacts:config=config/crd/bases
	cp config/crd/bases/gracefuldrain.io_gracefuldrains.yaml charts/gracefuldrain/crds/
	cp config/rbac/role.yaml charts/gracefuldrain/files/manager-role.yaml
	cp config/webhook/manifests.yaml charts/gracefuldrain/files/webhook-manifests.yaml
	cp config/prometheus/rules.yaml charts/gracefuldrain/files/prometheus-rules.yaml

.PHONY: generate
generate: $(CONTROLLER_GEN) ## Generate DeepCopy methods.
	$(CONTROLLER_GEN) object:headerFile="hack/boilerplate.go.txt" paths="./..."

.PHONY: verify-generated
verify-generated: manifests generate ## Fail when committed generated files are stale.
	@git diff --exit-code -- api config charts || { echo "generated files are stale: run make manifests generate and commit"; exit 1; }

.PHONY: verify-boilerplate
verify-boilerplate: ## Fail when a Go file lacks the license header of hack/boilerplate.go.txt.
	hack/verify-boilerplate.sh

.PHONY: fmt
fmt: ## Run go fmt.
	go fmt ./...

.PHONY: vet
vet: ## Run go vet.
	go vet ./...

.PHONY: test
test: manifests generate vet $(KUSTOMIZE) ## Unit tests, envtest integration tests on a real etcd + kube-apiserver, chart and alert tests.
	@set -e; \
	assets="$(ENVTEST_ASSETS)"; helm="$(HELM_PATH)"; promtool="$(PROMTOOL_PATH)"; crds="$(PROMETHEUS_OPERATOR_CRDS_PATH)"; argo="$(ARGO_ROLLOUTS_CRDS_PATH)"; \
	echo "KUBEBUILDER_ASSETS=$$assets HELM=$$helm PROMTOOL=$$promtool PROMETHEUS_OPERATOR_CRDS=$$crds ARGO_ROLLOUTS_CRDS=$$argo KUSTOMIZE=$(KUSTOMIZE) go test ./... $(GO_TEST_FLAGS)"; \
	KUBEBUILDER_ASSETS="$$assets" HELM="$$helm" PROMTOOL="$$promtool" PROMETHEUS_OPERATOR_CRDS="$$crds" ARGO_ROLLOUTS_CRDS="$$argo" KUSTOMIZE="$(KUSTOMIZE)" \
		go test ./... $(GO_TEST_FLAGS)

.PHONY: e2e
e2e: build ## Rollouts under load through a simulated ALB, operator off and on (test/e2e). E2E_SHORT=1 for the CI version.
	hack/e2e.sh

.PHONY: bench
bench: build ## Convergence, API requests and memory at N workloads mixed across the kinds (default 1000; KINDS picks the mix) against the floors (test/bench).
	hack/bench.sh

.PHONY: test-faults
test-faults: build ## Fault injection, bad input and fuzz seed corpora (test/faults), with the FAULTS summary line.
	hack/test-faults.sh

.PHONY: fuzz
fuzz: ## Run every fuzz target for FUZZTIME each (default 30s).
	hack/fuzz.sh

.PHONY: k8s-binaries
k8s-binaries: ## Build (once) etcd, kube-apiserver, kubectl and kube-controller-manager into the cache.
	hack/k8s-binaries.sh all

.PHONY: tools
tools: ## Build (once) helm and promtool into the cache, and fetch the prometheus-operator CRDs.
	hack/tools.sh helm promtool prometheus-operator-crds

.PHONY: helm-lint
helm-lint: ## Lint the Helm chart (helm lint --strict).
	"$(HELM_PATH)" lint --strict charts/gracefuldrain

##@ Build

.PHONY: build
build: manifests generate ## Build the manager binary.
	go build -o bin/manager .

.PHONY: run
run: manifests generate ## Run the manager against the cluster of your kubeconfig.
	go run ./main.go

.PHONY: demo
demo: build ## Seed 000 on a local control plane: operator on, print the result, stop everything.
	KUBEBUILDER_ASSETS="$(ENVTEST_ASSETS)" hack/demo.sh

.PHONY: docker-build
docker-build: ## Build the container image (needs a Docker engine).
	docker build -t $(IMG) .

##@ Deployment

.PHONY: install
install: manifests $(KUSTOMIZE) ## Install the CRD into the cluster of your kubeconfig.
	$(KUSTOMIZE) build config/crd | kubectl apply -f -

.PHONY: deploy
deploy: manifests $(KUSTOMIZE) ## Install the operator (config/default).
	$(KUSTOMIZE) build config/default | kubectl apply -f -

##@ Tools

$(CONTROLLER_GEN):
	mkdir -p $(LOCALBIN)
	GOBIN=$(LOCALBIN) go install sigs.k8s.io/controller-tools/cmd/controller-gen@$(CONTROLLER_TOOLS_VERSION)
	mv $(LOCALBIN)/controller-gen $(CONTROLLER_GEN)

$(KUSTOMIZE):
	mkdir -p $(LOCALBIN)
	GOBIN=$(LOCALBIN) go install sigs.k8s.io/kustomize/kustomize/v5@$(KUSTOMIZE_VERSION)
	mv $(LOCALBIN)/kustomize $(KUSTOMIZE)

.PHONY: help
help: ## Show this help.
	@awk 'BEGIN {FS = ":.*##"} /^[a-zA-Z_-]+:.*?##/ { printf "  %-18s %s\n", $$1, $$2 }' $(MAKEFILE_LIST)
