package dev.unwinder.cli;

import java.io.Serial;

/**
 * Input the command cannot use: a file that is not what it should be, or an argument that does
 * not fit the file. The command prints {@link #getMessage()} as its one line of error output and
 * exits with status 2. The message starts with the file or option it is about.
 */
final class BadInputException extends Exception {
    @Serial
    private static final long serialVersionUID = 1L;

    BadInputException(String message) {
        super(message, null, false, false);
    }

    BadInputException(String message, Throwable cause) {
        super(message, cause, false, false);
    }
}
