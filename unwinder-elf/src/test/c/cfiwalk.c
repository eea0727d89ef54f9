/* Threads blocked in the C library, one spinning in a leaf function without a frame,
 * one blocked in a signal handler (with -DCFIWALK_SIGNAL: the kernel core only, as qemu's
 * signal trampolines are in no module), and a main
 * thread that aborts inside the C library: the frames CfiWalk*Test walks and compares with gdb's. */
#include <pthread.h>
#include <signal.h>
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
    abort();
}

int main(void) {
    pthread_t t[5];
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
#endif
    usleep(100000);
    crash_here(3);
    return 0;
}
