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
set -euo pipefail
cd "$(dirname "$0")/.."

for tool in objcopy; do
    command -v "$tool" >/dev/null || { echo "release.sh: needs $tool (Debian: binutils)" >&2; exit 1; }
done
cargo build --release -p lookout --config 'profile.release.strip=false' "$@"
mkdir -p dist
cp target/release/lookout dist/lookout.full
objcopy --only-keep-debug --compress-debug-sections=zlib dist/lookout.full dist/lookout.debug
objcopy --strip-all --add-gnu-debuglink=dist/lookout.debug dist/lookout.full dist/lookout
rm dist/lookout.full
ls -l dist/lookout dist/lookout.debug
