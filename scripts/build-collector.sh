#!/usr/bin/env bash
# Build the slim `otelcol-inference` collector from otel-collector/builder-config.yaml
# with the OpenTelemetry Collector Builder (ocb), caching the binary outside the checkout.
#
#   scripts/build-collector.sh            # build (or reuse) and print the binary path
#   OTEL_INFERENCE_CACHE=/some/dir scripts/build-collector.sh
#
# Cache layout (default cache root: ${OTEL_INFERENCE_CACHE:-$HOME/.cache/otel-inference}):
#   collector-<sha256 of builder-config.yaml>/otelcol-inference   the binary
#   gopath/                                                      GOPATH (module cache, ocb)
# A warm cache skips the build. The last line of stdout is the binary path; all build
# logs go to stderr. Needs `go` (>= 1.26) on PATH and access to the Go module proxy.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
MANIFEST="$ROOT/otel-collector/builder-config.yaml"
CACHE_ROOT="${OTEL_INFERENCE_CACHE:-$HOME/.cache/otel-inference}"

log() { printf '[build-collector] %s\n' "$*" >&2; }

[ -f "$MANIFEST" ] || { log "missing $MANIFEST"; exit 1; }

OCB_VERSION="$(sed -n 's/^# ocb-version: *\(v[0-9][0-9.]*\) *$/\1/p' "$MANIFEST" | head -n1)"
[ -n "$OCB_VERSION" ] || { log "no '# ocb-version: vX.Y.Z' line in $MANIFEST"; exit 1; }

HASH="$(sha256sum "$MANIFEST" | cut -d' ' -f1)"
OUT_DIR="$CACHE_ROOT/collector-$HASH"
BIN="$OUT_DIR/otelcol-inference"

if [ -x "$BIN" ] && "$BIN" --version >/dev/null 2>&1; then
  log "cache hit: $BIN"
  printf '%s\n' "$BIN"
  exit 0
fi

command -v go >/dev/null 2>&1 || { log "go is not on PATH (install Go >= 1.26)"; exit 1; }

mkdir -p "$CACHE_ROOT"
# One build at a time per cache (concurrent test runs / CI steps wait for each other).
if command -v flock >/dev/null 2>&1; then
  exec 9>"$CACHE_ROOT/.build-collector.lock"
  log "waiting for build lock $CACHE_ROOT/.build-collector.lock"
  flock 9
  if [ -x "$BIN" ] && "$BIN" --version >/dev/null 2>&1; then
    log "built by a concurrent run: $BIN"
    printf '%s\n' "$BIN"
    exit 0
  fi
fi

export GOPATH="$CACHE_ROOT/gopath"
export GOBIN="$GOPATH/bin"
export GOTOOLCHAIN="${GOTOOLCHAIN:-local}"
export GOFLAGS="${GOFLAGS:-} -modcacherw"
export CGO_ENABLED=0

OCB="$GOBIN/builder-$OCB_VERSION"
if [ ! -x "$OCB" ]; then
  log "installing ocb $OCB_VERSION (go $(go env GOVERSION))"
  go install "go.opentelemetry.io/collector/cmd/builder@$OCB_VERSION" >&2
  mv "$GOBIN/builder" "$OCB"
fi

WORK="$(mktemp -d "$CACHE_ROOT/build.XXXXXX")"
cleanup() { rm -rf "$WORK"; }
trap cleanup EXIT

# Same manifest, with the output directory pointed into the scratch dir.
sed "s|^\([[:space:]]*output_path:\).*|\1 $WORK/dist|" "$MANIFEST" >"$WORK/builder-config.yaml"

start=$(date +%s)
log "building otelcol-inference with ocb $OCB_VERSION (this takes several minutes on a cold cache)"
"$OCB" --config "$WORK/builder-config.yaml" >&2
log "build took $(( $(date +%s) - start ))s"

"$WORK/dist/otelcol-inference" --version >&2

TMP_OUT="$OUT_DIR.tmp.$$"
rm -rf "$TMP_OUT"
mkdir -p "$TMP_OUT"
cp "$WORK/dist/otelcol-inference" "$TMP_OUT/otelcol-inference"
cp "$MANIFEST" "$TMP_OUT/builder-config.yaml"
rm -rf "$OUT_DIR"
mv "$TMP_OUT" "$OUT_DIR"

log "built $BIN"
printf '%s\n' "$BIN"
