/** A JVM whose threads spin in JIT-compiled Java code and sleep in native code, for StackCommandTest. */
public final class JitTarget {
    static volatile long sink;

    static long spin(int depth) {
        if (depth > 0) {
            return spin(depth - 1) + 1;
        }
        long sum = 0;
        while (true) {
            for (int i = 0; i < 1000; i++) {
                sum += i ^ sum;
            }
            sink = sum;
        }
    }

    static void sleepy(int depth) throws InterruptedException {
        if (depth > 0) {
            sleepy(depth - 1);
            return;
        }
        while (true) {
            Thread.sleep(1000);
        }
    }

    public static void main(String[] args) throws Exception {
        Thread spinner = new Thread(() -> spin(8), "spinner");
        spinner.setDaemon(true);
        spinner.start();
        Thread sleeper = new Thread(() -> {
            try {
                sleepy(8);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }, "sleeper");
        sleeper.setDaemon(true);
        sleeper.start();
        Thread.sleep(3000); // time for the JIT to compile spin
        System.out.println("ready");
        System.out.flush();
        Thread.sleep(600_000);
    }
}
