# The outpace image: the worker, starter, sandbox, codec-server, inbound and
# healthcheck binaries, static, on distroless, run as a non-root user.
# docker-compose.yml builds it once and runs one binary per service:
#
#   docker build -t outpace .
#   docker run --rm -e OUTX_API_KEY=... -e TEMPORAL_ADDRESS=host:7233 outpace worker
#
# Both base images are pinned: the Go release the module is built and tested
# with, and Debian 12's distroless static image (CA certificates, tzdata and a
# nonroot user; no shell, no package manager).

FROM golang:1.26.8-bookworm AS build
WORKDIR /src
# The module cache is a layer of its own: it is rebuilt only when go.mod or
# go.sum change.
COPY go.mod go.sum ./
RUN go mod download
COPY . .
# Static binaries (no cgo), without local paths (-trimpath) or symbol tables.
RUN CGO_ENABLED=0 go build -trimpath -ldflags="-s -w" -o /out/ \
    ./worker ./starter ./sandbox ./codec-server ./inbound ./deploy/healthcheck

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/ /usr/local/bin/
# nonroot is uid 65532: a campaign CSV mounted into the container must be
# readable by it (world-readable files are).
USER nonroot
WORKDIR /home/nonroot
# The worker's Prometheus metrics (OUTPACE_METRICS_ADDR=:9090 in compose).
EXPOSE 9090
CMD ["worker"]
