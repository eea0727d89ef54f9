package dev.unwinder.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The repository's {@code ./unwinder} launcher and {@code scripts/find-jdk25}, copied into a scratch
 * tree: how it chooses a JDK, how it builds the command on first use, and what it says when it
 * cannot. A fake JDK's {@code java} prints its arguments; a fake {@code mvn} records its own.
 */
final class LauncherTest {
    @TempDir
    Path dir;

    private record Result(int status, String out, String err) {}

    private Path tree(boolean built) throws IOException {
        Path root = Files.createDirectories(dir.resolve("repo"));
        Files.copy(Fixtures.repository().resolve("unwinder"), root.resolve("unwinder"), StandardCopyOption.COPY_ATTRIBUTES);
        Files.createDirectories(root.resolve("scripts"));
        Files.copy(Fixtures.repository().resolve("scripts/find-jdk25"), root.resolve("scripts/find-jdk25"),
                StandardCopyOption.COPY_ATTRIBUTES);
        if (built) {
            Path target = Files.createDirectories(root.resolve("unwinder-cli/target/lib"));
            Files.writeString(target.getParent().resolve("unwinder-cli.jar"), "");
        }
        return root;
    }

    /** A directory that looks like a JDK of {@code version} whose java prints "java ARGS" and, for a marker, its home. */
    private Path fakeJdk(String name, String version) throws IOException {
        Path home = Files.createDirectories(dir.resolve(name));
        Files.writeString(home.resolve("release"), "IMPLEMENTOR=\"test\"\nJAVA_VERSION=\"" + version + "\"\n");
        Path java = Files.createDirectories(home.resolve("bin")).resolve("java");
        Files.writeString(java, "#!/bin/sh\necho \"" + name + " $*\"\n");
        Files.setPosixFilePermissions(java, PosixFilePermissions.fromString("rwxr-xr-x"));
        return home;
    }

    /**
     * A directory holding an {@code mvn} that writes its arguments and directory to {@code mvn.log}
     * and, if {@code succeed}, creates the jars the launcher runs.
     */
    private Path fakeMaven(boolean succeed) throws IOException {
        Path bin = Files.createDirectories(dir.resolve("maven-bin"));
        Path mvn = bin.resolve("mvn");
        Files.writeString(mvn, "#!/bin/sh\necho \"$(pwd) $*\" > " + dir.resolve("mvn.log") + "\necho maven says hello\n"
                + (succeed ? "mkdir -p unwinder-cli/target/lib && : > unwinder-cli/target/unwinder-cli.jar\n" : "exit 1\n"));
        Files.setPosixFilePermissions(mvn, PosixFilePermissions.fromString("rwxr-xr-x"));
        return bin;
    }

    private Result launch(Path root, Map<String, String> environment, String... args) throws Exception {
        String[] command = new String[args.length + 1];
        command[0] = root.resolve("unwinder").toString();
        System.arraycopy(args, 0, command, 1, args.length);
        ProcessBuilder builder = new ProcessBuilder(command);
        builder.environment().putAll(environment);
        Process process = builder.start();
        process.getOutputStream().close();
        String out = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        String err = new String(process.getErrorStream().readAllBytes(), StandardCharsets.UTF_8);
        if (!process.waitFor(30, TimeUnit.SECONDS)) {
            process.destroyForcibly();
            throw new AssertionError("the launcher did not finish in 30 s");
        }
        return new Result(process.exitValue(), out, err);
    }

    @Test
    void runsTheModuleWithTheFirstJdk25ItFinds() throws Exception {
        Path root = tree(true);
        Path jdk = fakeJdk("jdk-25", "25.0.1");
        Result result = launch(root, Map.of("JAVA_HOME", jdk.toString()), "arches");
        String target = root.resolve("unwinder-cli/target").toString();
        assertEquals(new Result(0, "jdk-25 -XX:+UseSerialGC -XX:TieredStopAtLevel=1 -Xshare:auto --enable-native-access=dev.unwinder.elf,dev.unwinder.process --module-path "
                + target + "/unwinder-cli.jar:" + target + "/lib --module dev.unwinder.cli/dev.unwinder.cli.Main"
                + " arches\n", ""), result);
    }

    @Test
    void passesOverAnOlderJdkInJavaHomeToTheJavaOnThePath() throws Exception {
        Path root = tree(true);
        Path old = fakeJdk("jdk-17", "17.0.15");
        Path jdk = fakeJdk("jdk-25", "25");
        Result result = launch(root, Map.of("JAVA_HOME", old.toString(), "PATH", jdk.resolve("bin") + ":/usr/bin:/bin"),
                "core", "x.core");
        assertEquals("", result.err());
        assertEquals(0, result.status());
        assertTrue(result.out().startsWith("jdk-25 -XX:+UseSerialGC"), result.out());
        assertTrue(result.out().endsWith(" core x.core\n"), result.out());
    }

    @Test
    void buildsTheCommandOnFirstUseWithMavenOutputOnStderr() throws Exception {
        Path root = tree(false);
        Files.writeString(root.resolve("pom.xml"), "<project/>");
        Path jdk = fakeJdk("jdk-25", "25");
        Path maven = fakeMaven(true);
        Result result = launch(root, Map.of("JAVA_HOME", jdk.toString(), "PATH", maven + ":/usr/bin:/bin"), "arches");
        String target = root.resolve("unwinder-cli/target").toString();
        assertEquals(new Result(0, "jdk-25 -XX:+UseSerialGC -XX:TieredStopAtLevel=1 -Xshare:auto --enable-native-access=dev.unwinder.elf,dev.unwinder.process --module-path "
                + target + "/unwinder-cli.jar:" + target + "/lib --module dev.unwinder.cli/dev.unwinder.cli.Main"
                + " arches\n", "unwinder: building the command first, once: (cd '" + root + "' && mvn -B -q"
                + " -Dstyle.color=never -pl unwinder-cli -am package -DskipTests)\nmaven says hello\n"), result);
        assertEquals(root + " -B -q -Dstyle.color=never -pl unwinder-cli -am package -DskipTests\n",
                Files.readString(dir.resolve("mvn.log")));
    }

    @Test
    void aFailedBuildEndsInOneLineAndExitStatus2() throws Exception {
        Path root = tree(false);
        Files.writeString(root.resolve("pom.xml"), "<project/>");
        Path jdk = fakeJdk("jdk-25", "25");
        Path maven = fakeMaven(false);
        Result result = launch(root, Map.of("JAVA_HOME", jdk.toString(), "PATH", maven + ":/usr/bin:/bin"), "arches");
        assertEquals(new Result(2, "", "unwinder: building the command first, once: (cd '" + root + "' && mvn -B -q"
                + " -Dstyle.color=never -pl unwinder-cli -am package -DskipTests)\nmaven says hello\nunwinder: building"
                + " the command failed"
                + " (see Maven's output above); build it with: (cd '" + root + "' && mvn -B verify)\n"), result);
    }

    @Test
    void saysHowToBuildWhenTheJarsAreMissingAndCannotBeBuiltThere() throws Exception {
        Path root = tree(false);
        Path jdk = fakeJdk("jdk-26", "26");
        Result result = launch(root, Map.of("JAVA_HOME", jdk.toString()), "arches");
        assertEquals(new Result(2, "", "unwinder: the command is not built (" + root + "/unwinder-cli/target has no"
                + " unwinder-cli.jar and lib/) and cannot be built here: " + root + " has no pom.xml; build it with:"
                + " (cd '" + root + "' && mvn -B verify)\n"), result);
    }
}
