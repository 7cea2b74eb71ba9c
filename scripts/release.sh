#!/usr/bin/env bash
# Builds the release binary with its debug symbols kept apart: dist/lookout (stripped, like
# what `cargo build --release` makes) and dist/lookout.debug (its symbol table and line tables,
# for `addr2line`, `gdb` and `perf report` on that exact binary, which names it in its
# .gnu_debuglink section; Rust's own panic backtraces read it too when it lies beside the
# binary). Docs: README.md, "Release builds".
#
#   scripts/release.sh                      # default features
#   scripts/release.sh --features ros2      # any `cargo build` flags
#
# The release profile compiles with line tables (`debug = "line-tables-only"`) and strips them
# and the symbols when linking (`strip = "symbols"`). Cargo counts `strip` as part of every crate's build, so
# the unstripped build below compiles everything once more (as long as `cargo build --release`).
#
# Then, where the linker is LLD (Rust's default on x86_64 Linux), the binary is linked once
# more with the functions an idle server runs placed together (scripts/startup-order.sh,
# which needs valgrind): an idle server then keeps 5.2–5.5 MiB resident instead of 9.0
# (docs/performance.md, "Idle memory of the release binary"). With fat LTO that link takes
# as long as the LTO step. `LOOKOUT_STARTUP_ORDER=0` skips it.
set -euo pipefail
cd "$(dirname "$0")/.."

for tool in objcopy readelf; do
    command -v "$tool" >/dev/null || { echo "release.sh: needs $tool (Debian: binutils)" >&2; exit 1; }
done
order=${LOOKOUT_STARTUP_ORDER:-1}
if [ "$order" != 0 ] && ! command -v valgrind >/dev/null; then
    echo "release.sh: needs valgrind to order the start-up functions (Debian: valgrind), or LOOKOUT_STARTUP_ORDER=0" >&2
    exit 1
fi
cargo build --release -p lookout --config 'profile.release.strip=false' "$@"
mkdir -p dist
if [ "$order" != 0 ]; then
    if readelf -p .comment target/release/lookout | grep -q 'Linker: LLD'; then
        scripts/startup-order.sh target/release/lookout dist/startup-order.txt
        # Only the binary's own crate is compiled again (and, with LTO, the whole program
        # optimised again): the flags below change no dependency. Symbols of the list that
        # the new link does not have (none, unless the code changed) are skipped. `cargo
        # rustc` and `cargo build` write the same file but keep apart notes of what they
        # built, so either may take the other's binary for its own: the touch makes this
        # link happen every time.
        touch crates/lookout/src/main.rs
        cargo rustc --release -p lookout --bin lookout --config 'profile.release.strip=false' "$@" \
            -- -C "link-arg=-Wl,--symbol-ordering-file=$PWD/dist/startup-order.txt" \
            -C link-arg=-Wl,--no-warn-symbol-ordering
    else
        echo "release.sh: the linker is not LLD, so the start-up functions stay where they are" >&2
    fi
fi
cp target/release/lookout dist/lookout.full
objcopy --only-keep-debug --compress-debug-sections=zlib dist/lookout.full dist/lookout.debug
objcopy --strip-all --add-gnu-debuglink=dist/lookout.debug dist/lookout.full dist/lookout
rm dist/lookout.full
ls -l dist/lookout dist/lookout.debug
