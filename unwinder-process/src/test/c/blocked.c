/* A live process for LiveProcessTest: threads blocked in the C library (a condition variable,
 * nanosleep, read), one spinning in a leaf function without a frame, and the main thread in
 * pause(). It prints "ready" once every thread is where it stays, and runs until killed. */
#include <pthread.h>
#include <stdio.h>
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
    __asm__ volatile("");
    return (void *) sum;
}

__attribute__((noinline)) static void nested(int depth) {
    if (depth > 0) {
        nested(depth - 1);
        __asm__ volatile("");
        return;
    }
    printf("ready\n");
    fflush(stdout);
    for (;;) {
        pause();
    }
}

int main(void) {
    pthread_t t[4];
    if (pipe(pipe_fds) != 0) {
        return 1;
    }
    pthread_create(&t[0], NULL, wait_forever, NULL);
    pthread_create(&t[1], NULL, sleep_forever, NULL);
    pthread_create(&t[2], NULL, read_forever, NULL);
    pthread_create(&t[3], NULL, spin_forever, (void *) 3);
    while (__atomic_load_n(&started, __ATOMIC_SEQ_CST) < 4) {
        usleep(1000);
    }
    usleep(50000);
    nested(5);
    return 0;
}
