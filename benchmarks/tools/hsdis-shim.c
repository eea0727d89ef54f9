/*
 * Adapts Debian's hsdis (package libhsdis0-fcml) to the JDK 25 disassembler interface, so that
 * -XX:+PrintAssembly and JMH's -prof perfasm print x86_64 instructions.
 *
 * Debian's library exports the old entry point, decode_instructions(start, end, ...), which
 * decodes the bytes at [start, end) as code at those same addresses. JDK 25 looks up
 * decode_instructions_virtual(start_va, end_va, buffer, length, ...), which separates the
 * addresses code is printed at from the buffer that holds it. HotSpot passes a buffer that is the
 * code itself, so this shim calls the old entry point on the buffer and maps the address where
 * decoding stopped back into the virtual range.
 *
 * Build: gcc -shared -fPIC -O2 -o hsdis-amd64.so hsdis-shim.c -ldl
 */
#include <dlfcn.h>
#include <stddef.h>
#include <stdint.h>

typedef void *(*event_callback)(void *stream, const char *event, void *arg);
typedef int (*printf_callback)(void *stream, const char *format, ...);
typedef void *(*old_decode)(void *start, void *end, event_callback events, void *events_stream,
                            printf_callback print, void *print_stream, const char *options);

#ifndef FCML_HSDIS
#define FCML_HSDIS "/usr/lib/x86_64-linux-gnu/libhsdis.so.0"
#endif

void *decode_instructions_virtual(uintptr_t start_va, uintptr_t end_va, unsigned char *buffer,
                                  uintptr_t length, event_callback events, void *events_stream,
                                  printf_callback print, void *print_stream, const char *options,
                                  int newline) {
    static old_decode decode;
    (void) end_va;
    (void) newline;
    if (decode == NULL) {
        void *library = dlopen(FCML_HSDIS, RTLD_NOW);
        if (library == NULL) {
            return NULL;
        }
        decode = (old_decode) dlsym(library, "decode_instructions");
        if (decode == NULL) {
            return NULL;
        }
    }
    unsigned char *stopped = decode(buffer, buffer + length, events, events_stream, print, print_stream, options);
    return (void *) (start_va + (uintptr_t) (stopped - buffer));
}
