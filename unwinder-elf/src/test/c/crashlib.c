/*
 * The shared library of crash.c: the program calls crash_in_library, which calls abort(). Built by
 * TestPrograms.java with -shared -fPIC.
 */
#include <stdlib.h>

__attribute__((noinline)) void crash_in_library(int depth) {
    if (depth >= 0) {
        abort();
    }
    __asm__ volatile("" ::: "memory");
}
