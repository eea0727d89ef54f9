#!/bin/sh
# Builds libbench-native.so from bench_backtrace.c (the live comparison with glibc's backtrace()),
# bench_chain.c (the live comparison of CfiWalk with unw_backtrace() and backtrace()) and
# bench_floor.c (the C floor of the synthetic walks) into the directory given: -O2 with frame
# pointers and strict warnings, like unwinder-livestack's library, but without its
# per-architecture extras (leaf frame pointers, s390x backchain), since no walk starts inside it.
# Without gcc it warns and builds nothing; the floor and live benchmarks then fail in their setup.
set -eu

if [ $# -ne 1 ]; then
  echo "usage: $0 OUTPUT_DIRECTORY" >&2
  exit 2
fi
source_dir=$(cd "$(dirname "$0")" && pwd)
out_dir=$1
cc=${CC:-gcc}

if ! command -v "$cc" >/dev/null 2>&1; then
  echo "[WARNING] $cc not found: libbench-native.so is not built and the floor and live benchmarks cannot run" >&2
  exit 0
fi

# libunwind (Debian's libunwind-dev) for bench_chain.c's unw_backtrace(); without it that action
# lists nothing and CfiBenchmark fails in its setup.
unwind_flags=""
unwind_libs=""
if printf '#include <libunwind.h>\n' | "$cc" -E - >/dev/null 2>&1; then
  unwind_flags="-DBENCH_LIBUNWIND"
  unwind_libs="-lunwind"
else
  echo "[WARNING] libunwind.h not found (install libunwind-dev): CfiBenchmark cannot compare with unw_backtrace" >&2
fi

mkdir -p "$out_dir"
# shellcheck disable=SC2086 # the flags are lists of words, or empty
"$cc" -std=gnu11 -O2 -fPIC -shared -fvisibility=hidden -fno-omit-frame-pointer -Wall -Wextra -Werror $unwind_flags \
  -o "$out_dir/libbench-native.so" "$source_dir/bench_backtrace.c" "$source_dir/bench_floor.c" \
  "$source_dir/bench_chain.c" $unwind_libs
