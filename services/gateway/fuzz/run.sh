#!/usr/bin/env bash
# Runs the gateway's request-parsing fuzz target for SECONDS (default 30), seeded with seeds/.
# Not part of CI. Toolchain, sanitizer and environment: tests/fuzz-lib.sh. Results of the
# recorded runs: RESULTS.md.
set -euo pipefail

SECONDS_PER_TARGET=${1:-30}
cd "$(dirname "$0")"
source ../../../tests/fuzz-lib.sh

status=0
for target in fuzz_request_parsing; do
  mkdir -p "corpus/$target"
  cp -f "seeds/$target"/* "corpus/$target/"
  fuzz_target "$target" "$SECONDS_PER_TARGET" || status=1
done
exit $status
