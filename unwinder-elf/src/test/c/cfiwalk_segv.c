/* A segfault inside the C library's hand-written strlen, called from a comparator that qsort (in
 * the C library, without frame pointers) calls: the frames CfiWalkCoreTest walks and compares with gdb's. */
#include <stdlib.h>
#include <string.h>

static const char *volatile nowhere;

__attribute__((noinline)) static int compare(const void *a, const void *b) {
    size_t n = strlen(nowhere);
    return (int) n + (*(const int *) a - *(const int *) b);
}

__attribute__((noinline)) void sort_things(int *things, size_t count) {
    qsort(things, count, sizeof *things, compare);
    __asm__ volatile("");
}

int main(void) {
    int things[] = {3, 1, 2, 5, 4};
    sort_things(things, 5);
    return things[0];
}
