# Sourced by services/*/fuzz/run.sh: picks the toolchain and sanitizer for cargo-fuzz and runs
# one target. Not part of CI.
#
# Toolchain: cargo-fuzz passes unstable flags to rustc (-Zsanitizer=address, and -Z options for the
# coverage instrumentation), which only a nightly rustc accepts. Where `cargo +nightly` works it is
# used. Otherwise (a machine with only the stable toolchain, which cannot download another) the
# stable toolchain is used with RUSTC_BOOTSTRAP=1, which makes stable rustc/cargo accept -Z flags as
# nightly would. That is an escape hatch meant for building the compiler itself: fine for a local
# fuzzing build, never for shipped artifacts, and only the fuzz scripts' processes get it.
#
# Environment:
#   FUZZ_TOOLCHAIN=nightly|stable  force one (default: nightly if installed, else stable + RUSTC_BOOTSTRAP)
#   FUZZ_SANITIZER=address|none    cargo fuzz -s (default address; none if the toolchain ships no ASan runtime)
#   FUZZ_NICE=19                   run builds and fuzzers under `nice -n` this (default 19: a shared machine)
# One fuzzing process per target (-jobs=1 -workers=1): libFuzzer's log is kept as
# fuzz-<target>.log in the fuzz directory, and its final figures are printed.
# Crashes land in fuzz/artifacts/<target>/; reproduce with
#   RUSTC_BOOTSTRAP=1 cargo fuzz run <target> fuzz/artifacts/<target>/<file>   # stable
#   cargo +nightly fuzz run <target> fuzz/artifacts/<target>/<file>            # nightly

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

# fuzz_target TARGET SECONDS: builds and runs TARGET on corpus/TARGET; fails on a crash, leak or
# timeout.
fuzz_target() {
  local target=$1 seconds=$2 status=0
  echo "== $target for ${seconds}s"
  "${NICE[@]}" "${CARGO[@]}" fuzz build -s "$sanitizer" "$target"
  if ! "${NICE[@]}" "${CARGO[@]}" fuzz run -s "$sanitizer" "$target" "corpus/$target" -- \
    -max_total_time="$seconds" -max_len=65536 -timeout=10 -rss_limit_mb=2048 \
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
  return $status
}
