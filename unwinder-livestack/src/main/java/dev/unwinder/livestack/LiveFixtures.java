package dev.unwinder.livestack;

import static org.junit.jupiter.api.Assertions.fail;

import java.io.File;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.FutureTask;
import org.junit.jupiter.api.Assumptions;

/** The live library for tests, and threads with room for deep descents: test support, with JUnit's assumptions. */
public final class LiveFixtures {
    private LiveFixtures() {}

    /**
     * Returns the library this module's build compiled. Without it, the test fails when gcc is on
     * the PATH (the build script must then have built it) or when {@code CI=true}, and is skipped
     * otherwise, with the reason.
     *
     * @return the loaded library
     */
    public static LiveStack liveStack() {
        if (!LiveStack.isLibraryAvailable()) {
            String why = LiveStack.LIBRARY_NAME + " was not built";
            if (gccOnPath()) {
                fail(why + ", yet gcc is on the PATH: src/main/c/build-livestack.sh did not run or failed");
            }
            if ("true".equalsIgnoreCase(System.getenv("CI"))) {
                fail(why + ": gcc is missing, and CI=true requires the live-stack tests to run (.ci/run installs gcc)");
            }
            Assumptions.abort(why + ": gcc is missing; install gcc and rebuild to run the live-stack tests");
        }
        return LiveStack.load();
    }

    private static boolean gccOnPath() {
        String path = System.getenv("PATH");
        if (path == null) {
            return false;
        }
        for (String directory : path.split(File.pathSeparator)) {
            if (!directory.isEmpty() && Files.isExecutable(Path.of(directory, "gcc"))) {
                return true;
            }
        }
        return false;
    }

    /**
     * Runs {@code task} on a new thread with a stack of {@code stackSize} bytes and returns its result.
     *
     * @param stackSize the new thread's stack size in bytes
     * @param task what to run on it
     * @param <T> the result's type
     * @return the task's result
     * @throws Exception what the task threw
     */
    public static <T> T onThreadWithStack(long stackSize, Callable<T> task) throws Exception {
        FutureTask<T> future = new FutureTask<>(task);
        Thread thread = new Thread(null, future, "live-stack-" + stackSize, stackSize);
        thread.start();
        thread.join();
        try {
            return future.get();
        } catch (ExecutionException e) {
            if (e.getCause() instanceof Exception exception) {
                throw exception;
            }
            if (e.getCause() instanceof Error error) {
                throw error;
            }
            throw e;
        }
    }
}
