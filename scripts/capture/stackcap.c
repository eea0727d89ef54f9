/*
 * stackcap: a small program that records its own call stack, for unwinder's offline fixtures.
 *
 * main -> f1 -> f2 -> f3 -> f4 -> endpoint. Every function records, as it runs, its own frame
 * address (__builtin_frame_address(0)), its stack pointer and its return address (__builtin_return_address(0), with
 * any pointer-authentication signature removed by the CPU's own XPACLRI on aarch64). That list is
 * the ground truth a frame-pointer walk of the same stack must reproduce.
 *
 *   stackcap capture DIR   endpoint reads pc, sp, fp and the link register, copies the stack from
 *                          sp to the end of the [stack] mapping, and writes DIR/stack.bin and
 *                          DIR/capture.txt (format: fixtures/README.md).
 *   stackcap crash DIR     endpoint writes DIR/truth.txt (the same frame lines, without a pc for
 *                          frame 0), then stores through a null pointer: SIGSEGV, core dump.
 *
 * Build: static, -fno-omit-frame-pointer, plus -mbackchain on s390x (scripts/capture-stacks.sh).
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define NOIPA __attribute__((noinline, noipa))

enum { MAX_FRAMES = 8 };

struct truth {
    const char *function;
    uintptr_t fp;
    uintptr_t sp;
    uintptr_t ra;
};

/* Innermost first once endpoint has run: truth[0] is endpoint, truth[5] is main. */
static struct truth frames[MAX_FRAMES];
static int depth; /* frames[depth - 1] is the most recent caller */

static int crash_mode;
static const char *out_dir;
static uintptr_t stack_top;
static unsigned char *copy_buf;
static size_t copy_cap;

/* Removes a pointer-authentication signature the way the CPU does; a no-op elsewhere. */
static inline __attribute__((always_inline)) uintptr_t strip_ra(uintptr_t ra) {
#if defined(__aarch64__)
    register uintptr_t lr __asm__("x30") = ra;
    __asm__ volatile("hint #7" : "+r"(lr)); /* XPACLRI: a NOP on CPUs without PAC */
    return lr;
#else
    return ra;
#endif
}

/* The stack pointer of the running function: the same at its calls, none of which pass stack arguments. */
static inline __attribute__((always_inline)) uintptr_t current_sp(void) {
    uintptr_t sp;
#if defined(__x86_64__)
    __asm__ volatile("mov %%rsp, %0" : "=r"(sp));
#elif defined(__aarch64__)
    __asm__ volatile("mov %0, sp" : "=r"(sp));
#elif defined(__riscv)
    __asm__ volatile("mv %0, sp" : "=r"(sp));
#elif defined(__s390x__)
    __asm__ volatile("lgr %0, %%r15" : "=r"(sp));
#else
#error "unsupported architecture"
#endif
    return sp;
}

/* Recorded in the function itself, so fp, sp and return address are what that function saw. */
#define RECORD(name)                                                              \
    do {                                                                          \
        frames[depth].function = (name);                                          \
        frames[depth].fp = (uintptr_t)__builtin_frame_address(0);                 \
        frames[depth].sp = current_sp();                                          \
        frames[depth].ra = strip_ra((uintptr_t)__builtin_return_address(0));      \
        depth++;                                                                  \
    } while (0)

static void die(const char *what) {
    fprintf(stderr, "stackcap: %s: %s\n", what, strerror(errno));
    exit(2);
}

/* The end of the [stack] mapping: the highest stack address plus one. */
static uintptr_t find_stack_top(void) {
    FILE *maps = fopen("/proc/self/maps", "r");
    if (maps == NULL) {
        die("/proc/self/maps");
    }
    char line[512];
    uintptr_t top = 0;
    while (fgets(line, sizeof line, maps) != NULL) {
        if (strstr(line, "[stack]") != NULL) {
            unsigned long long low, high;
            if (sscanf(line, "%llx-%llx", &low, &high) == 2) {
                top = (uintptr_t)high;
            }
        }
    }
    fclose(maps);
    if (top == 0) {
        fprintf(stderr, "stackcap: no [stack] line in /proc/self/maps\n");
        exit(2);
    }
    return top;
}

static FILE *open_out(const char *name) {
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", out_dir, name);
    FILE *file = fopen(path, "w");
    if (file == NULL) {
        die(path);
    }
    return file;
}

/*
 * Frame i, innermost first, is frames[depth - 1 - i]: endpoint recorded last. Its fp and sp are
 * what that function recorded; its pc is the return address its callee recorded (frame 0's pc is
 * the captured pc).
 */
static void write_frames(FILE *out, uintptr_t pc0, int have_pc0) {
    for (int i = 0; i < depth; i++) {
        const struct truth *frame = &frames[depth - 1 - i];
        if (i == 0) {
            if (have_pc0) {
                fprintf(out, "frame 0 %s pc=0x%" PRIxPTR, frame->function, pc0);
            } else {
                fprintf(out, "frame 0 %s pc=-", frame->function);
            }
        } else {
            fprintf(out, "frame %d %s pc=0x%" PRIxPTR, i, frame->function, frames[depth - i].ra);
        }
        fprintf(out, " fp=0x%" PRIxPTR " sp=0x%" PRIxPTR "\n", frame->fp, frame->sp);
    }
    /* main's own return address: the pc of the frame above main, in the C library's start-up code. */
    fprintf(out, "main-ra 0x%" PRIxPTR "\n", frames[0].ra);
}

static void write_capture(uintptr_t pc, uintptr_t sp, uintptr_t fp, uintptr_t lr, int have_lr, size_t size) {
    FILE *bin = open_out("stack.bin");
    if (fwrite(copy_buf, 1, size, bin) != size || fclose(bin) != 0) {
        die("stack.bin");
    }
    FILE *meta = open_out("capture.txt");
    fprintf(meta, "base 0x%" PRIxPTR "\n", sp);
    fprintf(meta, "size %zu\n", size);
    fprintf(meta, "pc 0x%" PRIxPTR "\n", pc);
    fprintf(meta, "sp 0x%" PRIxPTR "\n", sp);
    fprintf(meta, "fp 0x%" PRIxPTR "\n", fp);
    if (have_lr) {
        fprintf(meta, "lr 0x%" PRIxPTR "\n", lr);
    }
    fprintf(meta, "main-fp 0x%" PRIxPTR "\n", frames[0].fp);
    write_frames(meta, pc, 1);
    if (fclose(meta) != 0) {
        die("capture.txt");
    }
}

/*
 * The innermost function. In capture mode, nothing is called between reading the registers and
 * finishing the copy, so the copied words from sp up are the stack as the registers describe it.
 */
NOIPA int endpoint(int x) {
    RECORD("endpoint");
    if (crash_mode) {
        FILE *out = open_out("truth.txt");
        write_frames(out, 0, 0);
        if (fclose(out) != 0) {
            die("truth.txt");
        }
        *(volatile int *)(uintptr_t)x = 42; /* x is 0: SIGSEGV here, in a frame of our own */
        return -1;
    }

    uintptr_t pc, sp, fp, lr = 0;
    int have_lr = 1;
#if defined(__x86_64__)
    __asm__ volatile("lea 0(%%rip), %0\n\tmov %%rsp, %1\n\tmov %%rbp, %2" : "=r"(pc), "=r"(sp), "=r"(fp));
    have_lr = 0;
#elif defined(__aarch64__)
    __asm__ volatile("adr %0, .\n\tmov %1, sp\n\tmov %2, x29\n\tmov %3, x30" : "=r"(pc), "=r"(sp), "=r"(fp), "=r"(lr));
#elif defined(__riscv) && __riscv_xlen == 64
    __asm__ volatile("auipc %0, 0\n\tmv %1, sp\n\tmv %2, s0\n\tmv %3, ra" : "=r"(pc), "=r"(sp), "=r"(fp), "=r"(lr));
#elif defined(__s390x__)
    /* fp is the backchain value, the word sp points at: this function's sp on entry. */
    __asm__ volatile("larl %0, .\n\tlgr %1, %%r15\n\tlg %2, 0(%%r15)\n\tlgr %3, %%r14" : "=r"(pc), "=r"(sp), "=r"(fp), "=r"(lr));
#else
#error "unsupported architecture"
#endif
    size_t size = stack_top - sp;
    if (size > copy_cap) {
        fprintf(stderr, "stackcap: stack of %zu bytes exceeds the %zu-byte buffer\n", size, copy_cap);
        exit(2);
    }
    const volatile unsigned char *from = (const volatile unsigned char *)sp;
    volatile unsigned char *to = copy_buf;
    for (size_t i = 0; i < size; i++) {
        to[i] = from[i];
    }
    write_capture(pc, sp, fp, lr, have_lr, size);
    return x + 1;
}

NOIPA int f4(int x) {
    RECORD("f4");
    return endpoint(x) + 4;
}

NOIPA int f3(int x) {
    RECORD("f3");
    return f4(x) + 3;
}

NOIPA int f2(int x) {
    RECORD("f2");
    return f3(x) + 2;
}

NOIPA int f1(int x) {
    RECORD("f1");
    return f2(x) + 1;
}

int main(int argc, char **argv) {
    RECORD("main");
    if (argc != 3 || (strcmp(argv[1], "capture") != 0 && strcmp(argv[1], "crash") != 0)) {
        fprintf(stderr, "usage: stackcap capture|crash DIR\n");
        return 2;
    }
    crash_mode = strcmp(argv[1], "crash") == 0;
    out_dir = argv[2];
    if (!crash_mode) {
        stack_top = find_stack_top();
        copy_cap = 1u << 20;
        copy_buf = malloc(copy_cap);
        if (copy_buf == NULL) {
            die("malloc");
        }
    }
    /* argc - 3 is 0, but the compiler cannot know: the crash stores through a null pointer. */
    int result = f1(argc - 3);
    printf("%d\n", result);
    return 0;
}
