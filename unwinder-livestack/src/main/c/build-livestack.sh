#!/bin/sh
# Builds liblivestack.so, the native half of the live-walk example, from livestack.c.
#
#   build-livestack.sh OUTPUT_DIRECTORY
#
# The Maven build runs this in the generate-resources phase with target/native as the output
# directory; run it by hand to rebuild the library the same way. Frame pointers are kept in every
# function, leaves included, because the example walks these frames by their fp chain.
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
# shellcheck disable=SC2086 # flags is a list of words
"$cc" $flags -o "$out_dir/liblivestack.so" "$source_dir/livestack.c"
