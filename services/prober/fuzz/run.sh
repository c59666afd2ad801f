#!/usr/bin/env bash
# Runs every fuzz target for SECONDS each (default 30), seeded with the media fixtures.
# Not part of CI. Needs a nightly toolchain; installs cargo-fuzz if missing.
# Crashes land in fuzz/artifacts/<target>/; reproduce with
#   cargo +nightly fuzz run <target> fuzz/artifacts/<target>/<file>
set -euo pipefail

SECONDS_PER_TARGET=${1:-30}
cd "$(dirname "$0")"
MEDIA=../../../tests/fixtures/media

if ! cargo +nightly fuzz --version >/dev/null 2>&1; then
  cargo install cargo-fuzz --locked
fi

seed() { # target, then the fixture globs that seed it
  local target=$1
  shift
  mkdir -p "corpus/$target"
  for pattern in "$@"; do
    for file in $MEDIA/$pattern $MEDIA/malformed/$pattern; do
      [ -f "$file" ] && cp -f "$file" "corpus/$target/"
    done
  done
  return 0
}
seed fuzz_image '*.png' '*.jpg' '*.gif' '*.webp' '*.bmp' '*.tiff' '*.avif' '*.heic'
seed fuzz_mp4 '*.mp4' '*.mov' '*.m4a'
seed fuzz_matroska '*.mkv' '*.webm'
seed fuzz_audio '*.mp3' '*.aac' '*.flac' '*.ogg' '*.opus' '*.wav' '*.m4a'

status=0
for target in fuzz_image fuzz_mp4 fuzz_matroska fuzz_audio; do
  echo "== $target for ${SECONDS_PER_TARGET}s"
  cargo +nightly fuzz build "$target"
  if ! cargo +nightly fuzz run "$target" "corpus/$target" -- \
    -max_total_time="$SECONDS_PER_TARGET" -max_len=65536 -timeout=10 -rss_limit_mb=2048; then
    echo "!! $target failed: a crash, leak or timeout (inputs in artifacts/$target)" >&2
    status=1
  fi
done
exit $status
