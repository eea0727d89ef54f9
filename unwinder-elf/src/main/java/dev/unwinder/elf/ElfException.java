package dev.unwinder.elf;

import java.io.IOException;
import java.io.Serial;

/**
 * A file that cannot be used as the ELF file, core or table it should be: missing, unreadable,
 * truncated, or with a header or table that lies. The message is one line and starts with the
 * file's name; it says which field is wrong and what was expected.
 */
public final class ElfException extends IOException {
    @Serial
    private static final long serialVersionUID = 1L;

    /**
     * Creates an exception.
     *
     * @param message the one-line message, starting with the file's name
     */
    public ElfException(String message) {
        super(message);
    }

    /**
     * Creates an exception with a cause.
     *
     * @param message the one-line message, starting with the file's name
     * @param cause what went wrong underneath, such as an {@link IOException}
     */
    public ElfException(String message, Throwable cause) {
        super(message, cause);
    }
}
