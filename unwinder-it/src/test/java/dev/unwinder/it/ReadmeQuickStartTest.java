package dev.unwinder.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import javax.tools.Diagnostic;
import javax.tools.DiagnosticCollector;
import javax.tools.JavaCompiler;
import javax.tools.JavaFileObject;
import javax.tools.StandardJavaFileManager;
import javax.tools.ToolProvider;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The README's quick start compiles: its {@code java} blocks, in order, as the body of one method
 * whose parameters are the values the README leaves to the reader (the captured stack, its base,
 * the registers), against this build's API.
 */
final class ReadmeQuickStartTest {
    @TempDir
    Path dir;

    private static Path readme() {
        for (Path d = Path.of(System.getProperty("basedir", "")).toAbsolutePath(); d != null; d = d.getParent()) {
            if (Files.isRegularFile(d.resolve("README.md")) && Files.isDirectory(d.resolve("unwinder-api"))) {
                return d.resolve("README.md");
            }
        }
        throw new IllegalStateException("no README.md above " + Path.of("").toAbsolutePath());
    }

    /** The test's class path: Surefire's own property, since its java.class.path may be a manifest-only jar. */
    private static String classPath() {
        return System.getProperty("surefire.test.class.path", System.getProperty("java.class.path"));
    }

    /** The README's ```java blocks, in order. */
    static List<String> javaBlocks(List<String> lines) {
        List<String> blocks = new ArrayList<>();
        StringBuilder block = null;
        for (String line : lines) {
            if (block == null && line.equals("```java")) {
                block = new StringBuilder();
            } else if (block != null && line.equals("```")) {
                blocks.add(block.toString());
                block = null;
            } else if (block != null) {
                block.append(line).append('\n');
            }
        }
        return blocks;
    }

    @Test
    void theQuickStartCompiles() throws IOException {
        List<String> blocks = javaBlocks(Files.readAllLines(readme()));
        assertEquals(3, blocks.size(), "java blocks in the README: " + blocks);
        String source = """
                import dev.unwinder.api.*;
                import dev.unwinder.core.*;
                import java.util.Iterator;

                final class QuickStart {
                    static void run(byte[] stackBytes, long stackBase, long pc, long fp, long entryFp, long wanted,
                            long[] registersByDwarfNumber) {
                """ + String.join("\n", blocks) + """
                    }
                }
                """;
        Path file = dir.resolve("QuickStart.java");
        Files.writeString(file, source);
        JavaCompiler compiler = ToolProvider.getSystemJavaCompiler();
        DiagnosticCollector<JavaFileObject> diagnostics = new DiagnosticCollector<>();
        boolean compiled;
        try (StandardJavaFileManager files = compiler.getStandardFileManager(diagnostics, Locale.ROOT, null)) {
            compiled = compiler.getTask(new StringWriter(), files, diagnostics,
                    List.of("-classpath", classPath(), "-d", dir.toString(), "-proc:none"),
                    null, files.getJavaFileObjects(file)).call();
        }
        StringBuilder errors = new StringBuilder();
        for (Diagnostic<? extends JavaFileObject> d : diagnostics.getDiagnostics()) {
            errors.append(d.getKind()).append(" line ").append(d.getLineNumber()).append(": ")
                    .append(d.getMessage(Locale.ROOT)).append('\n');
        }
        assertTrue(compiled, errors + "\n" + source);
    }
}
