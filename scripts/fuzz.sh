#!/usr/bin/env bash
# Runs Lookout's fuzz targets (fuzz/, docs/fuzzing.md) with cargo-fuzz and libFuzzer on the
# nightly toolchain, each on its seed corpus, one after the other, and fails if any crashes.
#
#   scripts/fuzz.sh                      # every target, 60 s each
#   scripts/fuzz.sh jpeg_scan 600        # one target for 10 minutes
#   scripts/fuzz.sh all 20 --scratch     # what CI runs: 20 s each, corpus thrown away after
#   scripts/fuzz.sh --list               # the targets
#   scripts/fuzz.sh --install            # only install cargo-fuzz (scripts/test.sh does)
#
# New inputs go to fuzz/corpus/TARGET (git-ignored, kept between runs so coverage grows);
# with --scratch they go to a temporary directory instead. A crash leaves its input in
# fuzz/artifacts/TARGET/ and the log in fuzz/logs/TARGET.log. Extra libFuzzer flags can be
# given in FUZZ_FLAGS (e.g. FUZZ_FLAGS=-jobs=2). Installs cargo-fuzz if it is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

CARGO_FUZZ_VERSION=0.13.2
FUZZ_DIR=fuzz

if ! cargo +nightly --version >/dev/null 2>&1; then
    echo "fuzz.sh: cargo-fuzz needs a nightly toolchain: rustup toolchain install nightly" >&2
    exit 1
fi
if [ "$(cargo fuzz --version 2>/dev/null)" != "cargo-fuzz $CARGO_FUZZ_VERSION" ]; then
    echo "fuzz.sh: installing cargo-fuzz $CARGO_FUZZ_VERSION" >&2
    cargo install --quiet --locked cargo-fuzz --version "$CARGO_FUZZ_VERSION"
fi
[ "${1:-}" = --install ] && exit 0

mapfile -t all_targets < <(cargo +nightly fuzz list --fuzz-dir "$FUZZ_DIR")
if [ "${1:-}" = --list ]; then
    printf '%s\n' "${all_targets[@]}"
    exit 0
fi

target=${1:-all}
seconds=${2:-60}
scratch=""
[ "${3:-}" = --scratch ] && scratch=$(mktemp -d)
[ -n "$scratch" ] && trap 'rm -rf "$scratch"' EXIT
if [ "$target" = all ]; then
    targets=("${all_targets[@]}")
elif printf '%s\n' "${all_targets[@]}" | grep -qx "$target"; then
    targets=("$target")
else
    echo "fuzz.sh: no target $target; there are: ${all_targets[*]}" >&2
    exit 1
fi

start=$(date +%s)
cargo +nightly fuzz build --fuzz-dir "$FUZZ_DIR"
echo "fuzz.sh: built in $(($(date +%s) - start)) s" >&2

mkdir -p "$FUZZ_DIR/logs"
failed=()
printf '%-12s %8s %12s %8s %6s %7s %s\n' target seconds executions exec/s cov ft result
for t in "${targets[@]}"; do
    corpus=${scratch:-$FUZZ_DIR/corpus}/$t
    mkdir -p "$corpus"
    log=$FUZZ_DIR/logs/$t.log
    # -timeout: one input taking 10 s is a hang to report; -rss_limit_mb: libFuzzer's
    # default, said out loud. The seeds are read, never written (libFuzzer writes new inputs
    # to the first directory only). stdin is /dev/null so no input can wait on a terminal.
    # shellcheck disable=SC2086 # FUZZ_FLAGS is a list of flags
    if cargo +nightly fuzz run --fuzz-dir "$FUZZ_DIR" "$t" "$corpus" "$FUZZ_DIR/seeds/$t" -- \
        -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
        ${FUZZ_FLAGS:-} </dev/null >"$log" 2>&1; then
        result=ok
    else
        result="CRASH (see $log, input in $FUZZ_DIR/artifacts/$t/)"
        failed+=("$t")
    fi
    # A crash on a seed stops libFuzzer before it prints any of these: "?".
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
    rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
    cov=$(grep -o 'cov: [0-9]*' "$log" | tail -1 | cut -d' ' -f2 || true)
    ft=$(grep -o 'ft: [0-9]*' "$log" | tail -1 | cut -d' ' -f2 || true)
    printf '%-12s %8s %12s %8s %6s %7s %s\n' "$t" "$seconds" "${execs:-?}" "${rate:-?}" \
        "${cov:-?}" "${ft:-?}" "$result"
done
echo "fuzz.sh: done in $(($(date +%s) - start)) s" >&2
if ((${#failed[@]})); then
    echo "fuzz.sh: crashes in ${failed[*]}; docs/fuzzing.md says how to reproduce and fix them" >&2
    for t in "${failed[@]}"; do
        echo "---- $t: the end of $FUZZ_DIR/logs/$t.log" >&2
        tail -40 "$FUZZ_DIR/logs/$t.log" >&2
    done
    exit 1
fi
