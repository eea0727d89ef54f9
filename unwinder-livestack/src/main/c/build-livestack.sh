#!/bin/sh
# Builds liblivestack.so, the native half of the live-walk example, from livestack.c, and of the live
# walk with call-frame information, from cfichain.c.
#
#   build-livestack.sh OUTPUT_DIRECTORY
#
# The Maven build runs this in the generate-resources phase with target/native as the output
# directory; run it by hand to rebuild the library the same way. Frame pointers are kept in every
# function of livestack.c, leaves included, because the example walks these frames by their fp
# chain; cfichain.c is built without them.
#
# Without gcc it prints a warning and builds nothing, so that a build on a machine without a C
# compiler still succeeds; the tests that need the library then skip, or fail when CI=true.
set -eu

if [ $# -ne 1 ]; then
  echo "usage: $0 OUTPUT_DIRECTORY" >&2
  exit 2
fi
source_dir=$(cd "$(dirname "$0")" && pwd)
out_dir=$1
cc=${CC:-gcc}

if ! command -v "$cc" >/dev/null 2>&1; then
  echo "[WARNING] $cc not found: liblivestack.so is not built and the live-stack tests cannot run" >&2
  exit 0
fi

flags="-std=gnu11 -O2 -fPIC -shared -pthread -fvisibility=hidden -fno-omit-frame-pointer -Wall -Wextra -Werror"
case "$("$cc" -dumpmachine)" in
  x86_64-*|aarch64-*) flags="$flags -mno-omit-leaf-frame-pointer" ;;
  # s390x has a fixed-offset chain only with the backchain (see the README, "Live, in this process").
  s390x-*) flags="$flags -mbackchain" ;;
esac

mkdir -p "$out_dir"
# livestack.c keeps frame pointers (above); cfichain.c omits them, like the C library it calls, so
# only its call-frame information (.eh_frame, which GCC emits by default on these targets) says where
# its frames' callers are.
chain_flags="-std=gnu11 -O2 -fPIC -pthread -fvisibility=hidden -fomit-frame-pointer -fasynchronous-unwind-tables -Wall -Wextra -Werror"
# shellcheck disable=SC2086 # flags is a list of words
"$cc" $flags -c -o "$out_dir/livestack.o" "$source_dir/livestack.c"
# shellcheck disable=SC2086
"$cc" $chain_flags -c -o "$out_dir/cfichain.o" "$source_dir/cfichain.c"
# shellcheck disable=SC2086
"$cc" $flags -o "$out_dir/liblivestack.so" "$out_dir/livestack.o" "$out_dir/cfichain.o"
