/*
 * Symbols of every shape a symbol table holds, for SymbolTableTest (checked against nm of the same
 * file) and SymbolFilesTest (a static function that only the debug file or the MiniDebugInfo
 * names). Built by TestPrograms.java with gcc, -O1 -g -rdynamic: the exported functions are also in
 * .dynsym, so the stripped program still has symbols of its own.
 */
#include <stdio.h>

/* One function with four names at one address: two global, one weak, one local. */
int add(int a, int b) { return a + b; }
int add_alias(int a, int b) __attribute__((alias("add")));
int add_weak(int a, int b) __attribute__((weak, alias("add")));
static int add_local(int a, int b) __attribute__((alias("add"), used));

/*
 * outer: 64 bytes. nested_local: a sized local function at bytes 16 to 31 of it. mark: a function
 * symbol of size 0 at byte 48, which names nothing. sized_100: 100 bytes right after outer.
 */
__asm__(
    ".text\n"
    ".p2align 4\n"
    ".globl outer\n"
    ".type outer, @function\n"
    "outer:\n"
    "    .fill 16, 1, 0x90\n"
    ".type nested_local, @function\n"
    "nested_local:\n"
    "    .fill 16, 1, 0x90\n"
    ".size nested_local, 16\n"
    "    .fill 16, 1, 0x90\n"
    ".type mark, @function\n"
    "mark:\n"
    "    .fill 15, 1, 0x90\n"
    "    ret\n"
    ".size outer, .-outer\n"
    ".globl sized_100\n"
    ".type sized_100, @function\n"
    "sized_100:\n"
    "    .fill 99, 1, 0x90\n"
    "    ret\n"
    ".size sized_100, 100\n");

void outer(void);
void sized_100(void);

/* A local function: only .symtab (of the file, its debug file or its MiniDebugInfo) names it. */
static __attribute__((noinline)) int static_helper(int x) {
    __asm__ volatile("" : "+r"(x));
    return x * 3 + 1;
}

__attribute__((noinline)) int exported(int x) {
    return static_helper(x) + add_local(x, 1);
}

int main(int argc, char **argv) {
    (void) argv;
    if (argc > 5) {
        outer();
        sized_100();
    }
    printf("%d\n", exported(argc) + add(argc, 2));
    return 0;
}
