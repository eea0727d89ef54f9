/*
 * A failed assert: __assert_fail, then abort, inside the C library, below two functions of the
 * program's own. Built and dumped by RealCores.java.
 */
#undef NDEBUG
#include <assert.h>

volatile int balance = -1;

__attribute__((noinline)) void check_balance(int value) {
    assert(value >= 0);
    __asm__ volatile("" ::: "memory");
}

__attribute__((noinline)) void settle_accounts(void) {
    check_balance(balance);
    __asm__ volatile("" ::: "memory");
}

int main(void) {
    settle_accounts();
    return 0;
}
