/*
 * A segmentation fault inside the C library: strlen of a pointer to an unmapped page, called
 * below three functions of the program's own. Built and dumped by RealCores.java.
 *
 * strlen is called through a volatile pointer: GCC expands a direct strlen call inline on s390x,
 * and the fault would then be in measure, not in the C library.
 */
#include <stdio.h>
#include <string.h>

/* Not constant-folded: the compiler cannot see that the pointer is bad. */
const char *volatile text = (const char *) 16;
size_t (*volatile length)(const char *) = strlen;

__attribute__((noinline)) size_t measure(const char *s) {
    size_t n = length(s);
    __asm__ volatile("" ::: "memory");
    return n;
}

__attribute__((noinline)) size_t measure_twice(const char *s) {
    size_t n = measure(s);
    __asm__ volatile("" ::: "memory");
    return n + measure(s);
}

__attribute__((noinline)) size_t report(const char *s) {
    size_t n = measure_twice(s);
    __asm__ volatile("" ::: "memory");
    return n;
}

int main(void) {
    printf("%zu\n", report(text));
    return 0;
}
