# syntax=docker/dockerfile:1
# Build the gracefuldrain manager:
#   docker build -t <registry>/gracefuldrain:<tag> .
#   docker buildx build --platform linux/amd64,linux/arm64 -t <registry>/gracefuldrain:<tag> --push .
ARG GO_VERSION=1.25

# The builder runs on the build machine's own platform and cross-compiles
# (CGO is off), so multi-arch builds need no emulation.
FROM --platform=$BUILDPLATFORM golang:${GO_VERSION} AS builder
ARG TARGETOS
ARG TARGETARCH

WORKDIR /workspace
# Dependencies first, in their own layer: it is rebuilt only when go.mod or
# go.sum change, not on every source edit.
COPY go.mod go.sum ./
RUN go mod download

COPY main.go main.go
COPY api/ api/
COPY controllers/ controllers/
COPY internal/ internal/

# Static binary (distroless/static has no libc); -trimpath and -s -w for a
# reproducible, smaller binary.
RUN CGO_ENABLED=0 GOOS=${TARGETOS:-linux} GOARCH=${TARGETARCH} \
    go build -trimpath -ldflags="-s -w" -o manager .

# No shell, no package manager, runs as nonroot (65532), which is what the
# Deployment's runAsNonRoot and readOnlyRootFilesystem expect.
FROM gcr.io/distroless/static:nonroot
WORKDIR /
COPY --from=builder /workspace/manager .
USER 65532:65532

ENTRYPOINT ["/manager"]
