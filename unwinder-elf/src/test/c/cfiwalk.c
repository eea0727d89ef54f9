/* Threads blocked in the C library, one spinning in a leaf function without a frame, and a main
 * thread that aborts inside the C library: the frames CfiWalk*Test walks and compares with gdb's.
 * With -DCFIWALK_SIGNAL, one more thread blocks in a signal handler (the C library's restorer on a
 * kernel core, which its CFI describes; qemu-user's own trampoline, which no CFI describes, on a
 * qemu core), and on x86_64 another one in a handler that returns to a restorer of this program's
 * own, without CFI, found by its code alone. With -DCFIWALK_LIVE the main thread does not crash:
 * it prints "ready" where it would have aborted and waits there, for the live-process tests. */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t never = PTHREAD_COND_INITIALIZER;
static volatile int started;
static volatile int spin = 1;
static int pipe_fds[2];

__attribute__((noinline)) static void *wait_forever(void *arg) {
    pthread_mutex_lock(&lock);
    __atomic_add_fetch(&started, 1, __ATOMIC_SEQ_CST);
    for (;;) {
        pthread_cond_wait(&never, &lock);
    }
    return arg;
}

__attribute__((noinline)) static void *sleep_forever(void *arg) {
    struct timespec t = {1000, 0};
    __atomic_add_fetch(&started, 1, __ATOMIC_SEQ_CST);
    for (;;) {
        nanosleep(&t, NULL);
    }
    return arg;
}

__attribute__((noinline)) static void *read_forever(void *arg) {
    char c;
    __atomic_add_fetch(&started, 1, __ATOMIC_SEQ_CST);
    while (read(pipe_fds[0], &c, 1) >= 0) {
    }
    return arg;
}

/* A leaf without a frame: GCC keeps no frame pointer here. */
__attribute__((noinline, optimize("omit-frame-pointer"))) long frameless_leaf(long n) {
    long sum = 0;
    while (spin) {
        sum += n;
        __asm__ volatile("" : "+r"(sum));
    }
    return sum;
}

__attribute__((noinline)) static void *spin_forever(void *arg) {
    __atomic_add_fetch(&started, 1, __ATOMIC_SEQ_CST);
    long sum = frameless_leaf((long) arg);
    return (void *) sum;
}

#ifdef CFIWALK_SIGNAL
static volatile int in_handler;

#ifdef __x86_64__
#include <sys/syscall.h>
/* rt_sigreturn as the C library's __restore_rt does it (mov $15, %rax; syscall), with no CFI. Its
 * name holds "sigaction" so that gdb, which looks for the code only in functions so named (or
 * __restore_rt), recognizes it as well. */
void restore_after_sigaction(void);
__asm__(".text\n"
        ".globl restore_after_sigaction\n"
        ".type restore_after_sigaction, @function\n"
        "restore_after_sigaction:\n"
        ".byte 0x48, 0xc7, 0xc0, 0x0f, 0x00, 0x00, 0x00, 0x0f, 0x05\n"
        ".size restore_after_sigaction, .-restore_after_sigaction\n");

/* The kernel's struct sigaction, given to the system call directly to set the restorer. */
struct kernel_sigaction {
    void (*handler)(int);
    unsigned long flags;
    void (*restorer)(void);
    unsigned long mask;
};

static volatile int in_own_handler;

__attribute__((noinline)) static void own_handler(int signal) {
    struct timespec t = {1000, 0};
    in_own_handler = signal;
    for (;;) {
        nanosleep(&t, NULL);
    }
}
#endif

/* The handler blocks inside the C library: a walk of its thread crosses the signal frame. */
__attribute__((noinline)) static void handler(int signal) {
    struct timespec t = {1000, 0};
    in_handler = signal;
    for (;;) {
        nanosleep(&t, NULL);
    }
}

__attribute__((noinline)) static void *signalled_forever(void *arg) {
    char c;
    __atomic_add_fetch(&started, 1, __ATOMIC_SEQ_CST);
    while (read(pipe_fds[0], &c, 1) >= 0) {
    }
    return arg;
}
#endif

__attribute__((noinline)) void crash_here(int depth) {
    if (depth > 0) {
        crash_here(depth - 1);
        __asm__ volatile("");
        return;
    }
#ifdef CFIWALK_LIVE
    printf("ready\n");
    fflush(stdout);
    for (;;) {
        pause();
    }
#else
    abort();
#endif
}

int main(void) {
    pthread_t t[6];
    int threads = 4;
    if (pipe(pipe_fds) != 0) {
        return 1;
    }
    pthread_create(&t[0], NULL, wait_forever, NULL);
    pthread_create(&t[1], NULL, sleep_forever, NULL);
    pthread_create(&t[2], NULL, read_forever, NULL);
    pthread_create(&t[3], NULL, spin_forever, (void *) 3);
#ifdef CFIWALK_SIGNAL
    signal(SIGUSR1, handler);
    pthread_create(&t[4], NULL, signalled_forever, NULL);
    threads++;
#ifdef __x86_64__
    struct kernel_sigaction own = {own_handler, 0x04000000 /* SA_RESTORER */, restore_after_sigaction, 0};
    if (syscall(SYS_rt_sigaction, SIGUSR2, &own, NULL, 8) != 0) {
        return 1;
    }
    pthread_create(&t[5], NULL, signalled_forever, NULL);
    threads++;
#endif
#endif
    while (__atomic_load_n(&started, __ATOMIC_SEQ_CST) < threads) {
        usleep(1000);
    }
#ifdef CFIWALK_SIGNAL
    usleep(100000);
    pthread_kill(t[4], SIGUSR1);
    while (!in_handler) {
        usleep(1000);
    }
#ifdef __x86_64__
    pthread_kill(t[5], SIGUSR2);
    while (!in_own_handler) {
        usleep(1000);
    }
#endif
#endif
    usleep(100000);
    crash_here(3);
    return 0;
}
