#!/usr/bin/env bash
# Install Prometheus and promtool from Debian/Ubuntu packages when they are missing.
# Idempotent: does nothing when both `prometheus` and `promtool` are already on PATH.
# Does not start the distribution's service: run prometheus as a plain process, e.g.
#   prometheus --config.file=prometheus/prometheus.yml --storage.tsdb.path="$(mktemp -d)"
set -euo pipefail

log() { printf '[install-prometheus] %s\n' "$*" >&2; }

if command -v prometheus >/dev/null 2>&1 && command -v promtool >/dev/null 2>&1; then
  log "already installed: $(prometheus --version 2>&1 | head -n1)"
  exit 0
fi

command -v apt-get >/dev/null 2>&1 || {
  log "apt-get not found: install prometheus + promtool from your package manager or prometheus.io"
  exit 1
}

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null 2>&1 || { log "need root (or sudo) to apt-get install prometheus"; exit 1; }
  SUDO="sudo"
fi

export DEBIAN_FRONTEND=noninteractive
# policy-rc.d exit 101 = "do not start services" during package configuration.
POLICY=/usr/sbin/policy-rc.d
CREATED_POLICY=0
if [ ! -e "$POLICY" ]; then
  printf '#!/bin/sh\nexit 101\n' | $SUDO tee "$POLICY" >/dev/null
  $SUDO chmod +x "$POLICY"
  CREATED_POLICY=1
fi
cleanup() { if [ "$CREATED_POLICY" = 1 ]; then $SUDO rm -f "$POLICY"; fi; }
trap cleanup EXIT

log "apt-get update"
$SUDO apt-get update -qq >&2
log "apt-get install -y --no-install-recommends prometheus"
$SUDO apt-get install -y -qq --no-install-recommends prometheus >&2

command -v prometheus >/dev/null 2>&1 && command -v promtool >/dev/null 2>&1 || {
  log "prometheus/promtool still missing after install"; exit 1; }
log "installed: $(prometheus --version 2>&1 | head -n1)"
