#!/usr/bin/env bash
# Run the README's test command (npm test) under every Node.js line of scripts/node-versions,
# each with its own bin folder first in PATH (so the tests' child processes use that node too),
# then the end-to-end pipeline test under the line marked "e2e". That line runs every suite; the
# others run with OTEL_INFERENCE_TEST_SCOPE=runtime, which leaves out the suites whose outcome
# does not depend on the Node.js line (vitest.config.ts LINE_INDEPENDENT). Prints which Node ran which
# suite and one closing line over all of them; exits non-zero if any suite failed.
#
#   npm run test:matrix                    # all lines, no e2e
#   scripts/node-matrix.sh --e2e           # and the e2e test (needs the collector and Prometheus)
#   scripts/node-matrix.sh 24.21.0         # only the lines given
#
# Expects `npm ci` (or `npm install`) done; installs the Node binaries with install-node.sh.
set -uo pipefail
cd "$(dirname "$0")/.."

E2E=0
ONLY=()
for arg in "$@"; do
  case "$arg" in
    --e2e) E2E=1 ;;
    *) ONLY+=("$arg") ;;
  esac
done

mapfile -t LINES < <(grep -v '^\s*#' scripts/node-versions | grep -v '^\s*$')
E2E_VERSION=$(printf '%s\n' "${LINES[@]}" | awk '$2 == "e2e" { print $1 }')

results=()
total_passed=0
total_failed=0
status=0

# Counts vitest's "Tests  N passed | M failed" lines of one log.
count() {
  sed 's/\x1b\[[0-9;]*m//g' "$1" | awk '$1 == "Tests" { for (i = 2; i <= NF; i++) { if ($(i+1) ~ /^passed/) p += $i; if ($(i+1) ~ /^failed/) f += $i } } END { printf "%d %d", p, f }'
}

suite() { # name version command...
  local name=$1 version=$2
  shift 2
  local bin log code passed failed
  bin=$(bash scripts/install-node.sh "$version" | tail -n 1) || { results+=("node $version: $name: could not install node"); status=1; return; }
  log=$(mktemp)
  printf '\n=== %s on node %s\n' "$name" "$("$bin/node" --version)"
  PATH="$bin:$PATH" "$@" 2>&1 | tee "$log"
  code=${PIPESTATUS[0]}
  read -r passed failed <<<"$(count "$log")"
  rm -f "$log"
  total_passed=$((total_passed + passed))
  total_failed=$((total_failed + failed))
  if [ "$code" -ne 0 ] || [ "$passed" -eq 0 ]; then
    status=1
    results+=("node $version: $name: FAILED (exit $code; $passed passed, $failed failed)")
  else
    results+=("node $version: $name: $passed passed, $failed failed")
  fi
}

for line in "${LINES[@]}"; do
  version=$(awk '{ print $1 }' <<<"$line")
  if [ "${#ONLY[@]}" -gt 0 ] && [[ ! " ${ONLY[*]} " == *" $version "* ]]; then continue; fi
  if [ "$version" = "$E2E_VERSION" ]; then
    suite "npm test" "$version" npm test
  else
    # The suites that do not depend on the Node.js line run on the primary (e2e) line only:
    # vitest.config.ts LINE_INDEPENDENT.
    suite "npm test (runtime scope)" "$version" env OTEL_INFERENCE_TEST_SCOPE=runtime npm test
  fi
done
if [ "$E2E" -eq 1 ]; then
  suite "npm run test:e2e" "$E2E_VERSION" npm run test:e2e
fi

printf '\n=== suites\n'
printf '%s\n' "${results[@]}"
echo "tests: ${total_passed} passed, ${total_failed} failed, in ${#results[@]} suites"
exit "$status"
