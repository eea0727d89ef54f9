#!/usr/bin/env bash
# Regenerates unwinder's real-stack fixtures (fixtures/README.md describes them).
#
# Builds scripts/capture/stackcap.c with GCC for x86_64, aarch64, riscv64 and s390x, static and
# with frame pointers, at -O0 and -O2 (and aarch64 once more with pointer authentication), runs
# each build (the foreign ones under qemu-user with a 256 KiB stack) so that it captures its own
# stack, registers and ground-truth frame list, and writes:
#
#   fixtures/stacks/<variant>/{stack.bin,capture.txt}   one capture per build
#   fixtures/cores/<arch>/{prog,core,truth.txt,bt.txt}  a deliberate SIGSEGV's core file, with its
#                                                       executable, for x86_64, aarch64 and s390x
#
# Captures differ on every run (ASLR, pointer-authentication keys); the tests read whatever the
# metadata says, so regenerated fixtures need no test changes. CI does not run this script.
#
# Needs (Debian 12): gcc gcc-aarch64-linux-gnu gcc-riscv64-linux-gnu gcc-s390x-linux-gnu
# qemu-user gdb-multiarch.
#
# Usage: scripts/capture-stacks.sh [--stacks-only | --cores-only] [--out DIR]
#   --out DIR writes the fixtures under DIR instead of the repository's fixtures/, for example to
#   try the tests on a fresh set: mvn -B -q -pl unwinder-it -am verify -Dunwinder.fixtures=DIR
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
source_file="$repo/scripts/capture/stackcap.c"
fixtures="$repo/fixtures"
qemu_stack=262144
do_stacks=1
do_cores=1
usage="usage: $0 [--stacks-only | --cores-only] [--out DIR]"
while [ $# -gt 0 ]; do
  case "$1" in
    --stacks-only) do_cores=0 ;;
    --cores-only) do_stacks=0 ;;
    --out)
      [ $# -ge 2 ] || { echo "$usage" >&2; exit 2; }
      mkdir -p "$2"
      fixtures=$(cd "$2" && pwd)
      shift ;;
    *) echo "$usage" >&2; exit 2 ;;
  esac
  shift
done

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

compiler() {
  case "$1" in
    x86_64) echo gcc ;;
    *) echo "$1-linux-gnu-gcc" ;;
  esac
}

# Flags every build gets, per architecture: s390x needs -mbackchain for a fixed-offset chain.
arch_flags() {
  case "$1" in
    s390x) echo "-mbackchain" ;;
    *) echo "" ;;
  esac
}

# Whether a build of this architecture runs natively: x86_64 on an x86_64 host.
native() {
  [ "$1" = x86_64 ] && [ "$(uname -m)" = x86_64 ]
}

# Whether the kernel writes ./core for a native crash. Where core_pattern pipes cores to a
# handler (systemd-coredump, apport), the x86_64 core is made under qemu-x86_64 instead.
kernel_writes_core() {
  case "$(cat /proc/sys/kernel/core_pattern)" in
    "|"*) return 1 ;;
    *) return 0 ;;
  esac
}

# Runs a build with an empty environment (a small, reproducible top of stack); foreign builds,
# or any build when the first argument is "qemu", under qemu-user with a small stack.
run_prog() {
  local how=$1 arch=$2; shift 2
  if [ "$how" = native ]; then
    env -i "$@"
  else
    env -i "qemu-$arch" -s "$qemu_stack" "$@"
  fi
}

how_to_run() {
  if native "$1"; then echo native; else echo qemu; fi
}

nm_tool() {
  case "$1" in
    x86_64) echo nm ;;
    *) echo "$1-linux-gnu-nm" ;;
  esac
}

# The program's functions and the C library's start-up functions, with their extents, so that a
# test can name the function of every pc: "symbol NAME 0xSTART 0xSIZE".
symbols() { # arch prog
  "$(nm_tool "$1")" -S -n "$2" | awk '
    $4 ~ /^(endpoint|f[1-4]|main|__libc_start_call_main|__libc_start_main_impl|_start)$/ && NF == 4 {
      start = $1; size = $2; sub(/^0+/, "", start); sub(/^0+/, "", size)
      printf "symbol %s 0x%s 0x%s\n", $4, (start == "" ? "0" : start), (size == "" ? "0" : size)
    }'
}

build() { # arch out flags...
  local arch=$1 out=$2; shift 2
  # shellcheck disable=SC2046
  "$(compiler "$arch")" -static -fno-omit-frame-pointer $(arch_flags "$arch") "$@" \
    -fdebug-prefix-map="$repo"=. -Wall -Wextra -Werror -o "$out" "$source_file"
}

capture() { # variant arch opt extra-flags...
  local variant=$1 arch=$2 opt=$3; shift 3
  local prog="$work/$variant" raw="$work/$variant.out" dest="$fixtures/stacks/$variant"
  local flags
  flags=$(echo -static -fno-omit-frame-pointer $(arch_flags "$arch") "$opt" "$@")
  build "$arch" "$prog" "$opt" "$@"
  mkdir -p "$raw"
  run_prog "$(how_to_run "$arch")" "$arch" "$prog" capture "$raw" >/dev/null
  mkdir -p "$dest"
  cp "$raw/stack.bin" "$dest/stack.bin"
  {
    echo "# unwinder stack capture, format 1 (fixtures/README.md); written by scripts/capture-stacks.sh"
    echo "format 1"
    echo "arch $arch"
    echo "variant $variant"
    echo "compiler $("$(compiler "$arch")" -dumpfullversion) $(compiler "$arch")"
    echo "cflags $flags"
    cat "$raw/capture.txt"
    symbols "$arch" "$prog"
  } >"$dest/capture.txt"
  echo "captured $variant: $(stat -c %s "$dest/stack.bin") bytes of stack"
}

# A core file of a SIGSEGV five frames below main, with the executable that made it.
core() { # arch
  local arch=$1 dir="$work/core-$arch" dest="$fixtures/cores/$1"
  mkdir -p "$dir"
  local how
  how=$(how_to_run "$arch")
  if [ "$how" = native ] && ! kernel_writes_core; then
    how=qemu
  fi
  build "$arch" "$dir/prog" -O0 -g
  (
    cd "$dir"
    ulimit -c unlimited
    if [ "$how" = native ]; then
      # The kernel writes ./core (core_pattern "core"); a small stack limit keeps it small.
      ulimit -s 256
    else
      # qemu writes the guest's core itself; keep the host's core of qemu (./core) empty.
      echo 0 >/proc/self/coredump_filter
    fi
    run_prog "$how" "$arch" ./prog crash . >/dev/null 2>&1 || true
  )
  local guest
  guest=$(find "$dir" -maxdepth 1 -name 'qemu_prog_*.core' | head -n 1)
  if [ -n "$guest" ]; then
    mv -f "$guest" "$dir/core"
  fi
  if [ ! -s "$dir/core" ]; then
    echo "no core file for $arch (run: $how, core_pattern: $(cat /proc/sys/kernel/core_pattern))" >&2
    exit 1
  fi
  gdb-multiarch -batch -ex bt -ex 'info registers' "$dir/prog" "$dir/core" 2>/dev/null \
    | grep -v '^\[New LWP' >"$dir/bt.txt"
  if ! grep -q ' endpoint ' "$dir/bt.txt" || ! grep -q ' main ' "$dir/bt.txt"; then
    echo "gdb's backtrace of the $arch core does not show endpoint ... main:" >&2
    cat "$dir/bt.txt" >&2
    exit 1
  fi
  rm -rf "$dest"
  mkdir -p "$dest"
  cp "$dir/prog" "$dir/core" "$dir/truth.txt" "$dir/bt.txt" "$dest/"
  chmod 644 "$dest/core" "$dest/truth.txt" "$dest/bt.txt"
  echo "core $arch: $(stat -c %s "$dest/core") bytes of core, $(stat -c %s "$dest/prog") bytes of executable"
}

if [ "$do_stacks" = 1 ]; then
  rm -rf "$fixtures/stacks"
  for arch in x86_64 aarch64 riscv64 s390x; do
    for opt in -O0 -O2; do
      capture "$arch$opt" "$arch" "$opt"
    done
  done
  # Return addresses signed with pointer authentication (qemu-aarch64's default CPU has PAC).
  for opt in -O0 -O2; do
    capture "aarch64-pac$opt" aarch64 "$opt" -mbranch-protection=standard
  done
fi

if [ "$do_cores" = 1 ]; then
  for arch in x86_64 aarch64 s390x; do
    core "$arch"
  done
fi
