#!/usr/bin/env bash
# Runs every fuzz target for SECONDS each (default 30), seeded with the media fixtures.
# Not part of CI. Installs cargo-fuzz if missing. Results of the recorded runs: RESULTS.md.
#
# Toolchain: cargo-fuzz passes unstable flags to rustc (-Zsanitizer=address, and -Z options for the
# coverage instrumentation), which only a nightly rustc accepts. Where `cargo +nightly` works it is
# used. Otherwise (a machine with only the stable toolchain, which cannot download another) the
# stable toolchain is used with RUSTC_BOOTSTRAP=1, which makes stable rustc/cargo accept -Z flags as
# nightly would. That is an escape hatch meant for building the compiler itself: fine for a local
# fuzzing build, never for shipped artifacts, and only this script's processes get it.
#
# Environment:
#   FUZZ_TOOLCHAIN=nightly|stable  force one (default: nightly if installed, else stable + RUSTC_BOOTSTRAP)
#   FUZZ_SANITIZER=address|none    cargo fuzz -s (default address; none if the toolchain ships no ASan runtime)
#   FUZZ_NICE=19                   run builds and fuzzers under `nice -n` this (default 19: a shared machine)
#   FUZZ_TARGETS="fuzz_mp4 ..."    which targets (default: all four)
# One target at a time, one fuzzing process (-jobs=1 -workers=1: libFuzzer writes its log to
# fuzz-0.log here and the final stats are at its end).
# Crashes land in fuzz/artifacts/<target>/; reproduce with (same toolchain prefix as below)
#   RUSTC_BOOTSTRAP=1 cargo fuzz run <target> fuzz/artifacts/<target>/<file>   # stable
#   cargo +nightly fuzz run <target> fuzz/artifacts/<target>/<file>            # nightly
set -euo pipefail

SECONDS_PER_TARGET=${1:-30}
cd "$(dirname "$0")"
MEDIA=../../../tests/fixtures/media
NICE=(nice -n "${FUZZ_NICE:-19}")

toolchain=${FUZZ_TOOLCHAIN:-}
if [ -z "$toolchain" ]; then
  if cargo +nightly --version >/dev/null 2>&1; then toolchain=nightly; else toolchain=stable; fi
fi
if [ "$toolchain" = nightly ]; then
  CARGO=(cargo +nightly)
  RUSTC=(rustc +nightly)
else
  CARGO=(cargo)
  RUSTC=(rustc)
  export RUSTC_BOOTSTRAP=1
fi

if ! "${CARGO[@]}" fuzz --version >/dev/null 2>&1; then
  "${NICE[@]}" cargo install cargo-fuzz --locked
fi

sanitizer=${FUZZ_SANITIZER:-}
if [ -z "$sanitizer" ]; then
  sysroot=$("${RUSTC[@]}" --print sysroot)
  host=$("${RUSTC[@]}" -vV | sed -n 's/^host: //p')
  if compgen -G "$sysroot/lib/rustlib/$host/lib/librustc-*_rt.asan.a" >/dev/null; then
    sanitizer=address
  else
    echo "!! no ASan runtime in $sysroot: fuzzing without a sanitizer (-s none)" >&2
    sanitizer=none
  fi
fi
echo "== toolchain $toolchain ($("${CARGO[@]}" --version)), sanitizer $sanitizer"

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
  echo "== $target for ${SECONDS_PER_TARGET}s"
  "${NICE[@]}" "${CARGO[@]}" fuzz build -s "$sanitizer" "$target"
  if ! "${NICE[@]}" "${CARGO[@]}" fuzz run -s "$sanitizer" "$target" "corpus/$target" -- \
    -max_total_time="$SECONDS_PER_TARGET" -max_len=65536 -timeout=10 -rss_limit_mb=2048 \
    -jobs=1 -workers=1 -print_final_stats=1; then
    echo "!! $target failed: a crash, leak or timeout (inputs in artifacts/$target)" >&2
    status=1
  fi
  # -jobs mode logs to fuzz-0.log; keep each target's log and show its final figures.
  if [ -f fuzz-0.log ]; then
    mv -f fuzz-0.log "fuzz-$target.log"
    grep -E '^#[0-9]+[[:space:]]+(INITED|DONE)|^stat::|^==[0-9]+==|panicked|^SUMMARY|^artifact_prefix|Test unit written' \
      "fuzz-$target.log" || true
  fi
done
exit $status
