# syntax=docker/dockerfile:1
ARG GO_VERSION=1.22
ARG BASE=alpine:3.20

# The build stage.
FROM --platform=$BUILDPLATFORM golang:${GO_VERSION} AS build
WORKDIR /src
COPY --chown=1000:1000 go.mod go.sum ./
RUN --mount=type=cache,target=/root/.cache \
    # download the modules first, for the cache
    go mod download

COPY . .
RUN go build -o /out/app ./cmd/app

FROM ${BASE} AS Runtime
LABEL org.opencontainers.image.title="app" \
      version="1.0"
COPY --from=build /out/app /usr/local/bin/app
EXPOSE 8080/tcp 9090
HEALTHCHECK --interval=30s --timeout=3s --retries=3 CMD wget -qO- http://localhost:8080/health || exit 1
USER 1000:1000
ENTRYPOINT ["/usr/local/bin/app"]
CMD ["--port", "8080"]
