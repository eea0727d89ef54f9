/*
 * Demangles the name on standard input with cplus_demangle of the libbfd named, with c++filt's
 * flags, on a thread whose stack has the size given: DemanglerStackTest checks that the stack
 * SystemDemangler reckons a name needs is enough. Prints "demangled <length>" or "not demangled";
 * a stack that is too small ends it with SIGSEGV.
 *
 *   demangle_stack LIBBFD STACK_BYTES < name
 */
#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef char *(*demangler)(const char *, int);

static demangler demangle;
static char name[1 << 16];
static char *result;

static void *run(void *unused) {
    (void) unused;
    result = demangle(name, 1 | 2 | 8 | (1 << 8));
    return NULL;
}

int main(int argc, char **argv) {
    if (argc != 3) {
        fprintf(stderr, "usage: %s LIBBFD STACK_BYTES < name\n", argv[0]);
        return 2;
    }
    void *library = dlopen(argv[1], RTLD_NOW);
    if (library == NULL || (demangle = (demangler) dlsym(library, "cplus_demangle")) == NULL) {
        fprintf(stderr, "%s: no cplus_demangle: %s\n", argv[1], dlerror());
        return 2;
    }
    size_t length = fread(name, 1, sizeof name - 1, stdin);
    name[length] = 0;
    pthread_attr_t attributes;
    pthread_t thread;
    pthread_attr_init(&attributes);
    int error = pthread_attr_setstacksize(&attributes, strtoul(argv[2], NULL, 10));
    if (error == 0) {
        error = pthread_create(&thread, &attributes, run, NULL);
    }
    if (error != 0) {
        fprintf(stderr, "no thread with a stack of %s bytes: %s\n", argv[2], strerror(error));
        return 2;
    }
    pthread_join(thread, NULL);
    if (result == NULL) {
        printf("not demangled\n");
    } else {
        printf("demangled %zu\n", strlen(result));
        free(result);
    }
    return 0;
}
