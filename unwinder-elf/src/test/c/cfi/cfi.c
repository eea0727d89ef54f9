/*
 * Functions whose call-frame information differs: a leaf, a frame on a variable-length array (the
 * CFA moves to the frame pointer), many callee-saved registers, several epilogues (remember and
 * restore state), a variadic function and recursion. CfiReadelfTest builds it with and without
 * asynchronous unwind tables, for x86_64, aarch64 (with return-address signing, B key) and s390x,
 * and compares the rows it computes with readelf's.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

volatile long sink;

__attribute__((noinline)) long leaf(long a, long b) {
    return a * 3 + b;
}

__attribute__((noinline)) long with_array(int n) {
    char buffer[n + 1];
    memset(buffer, n, (size_t) n + 1);
    sink = buffer[n / 2];
    return leaf(buffer[0], n);
}

__attribute__((noinline)) long many_saved(long a, long b, long c, long d, long e, long f) {
    long x = leaf(a, b), y = leaf(c, d), z = leaf(e, f), w = leaf(x, y), v = leaf(z, w);
    long s = leaf(v, x) + leaf(w, y) + leaf(z, a);
    return x + y + z + w + v + s + a + b + c + d + e + f;
}

__attribute__((noinline)) long early_returns(long n) {
    if (n < 0) {
        return -1;
    }
    if (n == 0) {
        return leaf(n, 1) + with_array(4);
    }
    if (n > 1000) {
        return many_saved(n, n, n, n, n, n);
    }
    return early_returns(n - 1) + leaf(n, n);
}

__attribute__((noinline)) long sum(int count, ...) {
    va_list args;
    va_start(args, count);
    long total = 0;
    for (int i = 0; i < count; i++) {
        total += va_arg(args, long);
    }
    va_end(args);
    return total + leaf(total, count);
}

int main(int argc, char **argv) {
    long n = argc > 1 ? strtol(argv[1], NULL, 10) : 3;
    long result = early_returns(n) + sum(3, n, n + 1, n + 2) + many_saved(n, 1, 2, 3, 4, 5);
    printf("%ld\n", result);
    return 0;
}
