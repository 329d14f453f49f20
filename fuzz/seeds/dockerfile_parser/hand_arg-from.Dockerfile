ARG REGISTRY=docker.io
ARG BASE=library/ubuntu
ARG TAG
ARG DIGEST=sha256:0000000000000000000000000000000000000000000000000000000000000000
FROM ${REGISTRY}/${BASE}:${TAG:-22.04} AS build
ARG TAG
ARG VERSION=1.2.3
ENV V=${VERSION} W=${V:+set} X=${UNSET:-${TAG:-nested}} Y=${VERSION#1.} Z=${VERSION%.3} R=${VERSION/./-}
RUN echo ${VERSION:?must be set} $V ${BROKEN
FROM $REGISTRY/$BASE@$DIGEST
FROM --platform=$BUILDPLATFORM golang:1.22 AS gobuild
ARG TARGETOS TARGETARCH
RUN GOOS=$TARGETOS GOARCH=$TARGETARCH go build -o /out/app ./...
FROM build AS final
COPY --from=gobuild --chown=app:app --chmod=0755 /out/app /usr/local/bin/app
COPY --from=0 /x /y
COPY --from=nonexistent /a /b
FROM scratch
COPY --link --from=final / /
