#!/usr/bin/env bash
# Runs every fuzz target for SECONDS each (default 30), seeded with the media fixtures.
# Not part of CI. Toolchain, sanitizer and environment: tests/fuzz-lib.sh; also
#   FUZZ_TARGETS="fuzz_mp4 ..."    which targets (default: all four)
# Results of the recorded runs: RESULTS.md.
set -euo pipefail

SECONDS_PER_TARGET=${1:-30}
cd "$(dirname "$0")"
MEDIA=../../../tests/fixtures/media
source ../../../tests/fuzz-lib.sh

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
for target in ${FUZZ_TARGETS:-fuzz_image fuzz_mp4 fuzz_matroska fuzz_audio}; do
  fuzz_target "$target" "$SECONDS_PER_TARGET" || status=1
done
exit $status
