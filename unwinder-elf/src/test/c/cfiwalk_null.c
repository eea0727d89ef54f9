/* A call through a null function pointer: the crash leaves pc at 0, in no code, and the caller's
 * return address where the call put it (on the stack on x86_64, in the link register elsewhere).
 * CfiWalkCoreTest walks it with the rule at a function's first instruction and compares with gdb. */
#include <stddef.h>

typedef int (*callback)(int);

static callback volatile target = NULL;

__attribute__((noinline)) int call_through(int n) {
    int result = target(n);
    __asm__ volatile("");
    return result + 1;
}

__attribute__((noinline)) int outer(int n) {
    int result = call_through(n + 1);
    __asm__ volatile("");
    return result * 2;
}

int main(void) {
    return outer(3);
}
