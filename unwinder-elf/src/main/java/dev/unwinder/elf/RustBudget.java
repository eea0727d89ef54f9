package dev.unwinder.elf;

import java.util.HashMap;
import java.util.HashSet;
import java.util.Map;
import java.util.Set;

/**
 * What demangling a Rust v0 name ({@code _R...}) would cost GNU libiberty's demangler, bounded
 * from above in Java before the native demangler is called.
 *
 * <p>libiberty's v0 demangler limits its recursion but not its output: a back-reference
 * ({@code B<base-62>_}) prints again the path, type or constant at an earlier position, so a path
 * that refers twice to one that refers twice doubles the text (a 395-byte name prints 37 MB); and
 * a binder ({@code G<base-62>_}) prints as many lifetimes as its count says (an 18-byte name
 * prints for hours). This class parses the name with libiberty's grammar, follows each
 * back-reference as libiberty does (only to an earlier position, which is all that rustc writes),
 * and computes the printed size and nesting depth; a name it cannot parse, or whose bound is over
 * the limits, is not demangled. Legacy Rust names ({@code _ZN...17h<hash>E}) print at most their
 * own length and need no bound.
 */
final class RustBudget {
    private static final long CAP = 1L << 60;
    /** Printed bytes per element besides its identifiers: the longest fixed text is 33. */
    private static final int OWN = 48;

    private static final int PATH = 0;
    private static final int TYPE = 1;
    private static final int CONST = 2;
    private static final int OPEN_PATH = 3;

    private final byte[] s;
    private final int start;
    private final int end;
    /** Sizes and depths of what was parsed at a position, by kind and position, for back-references. */
    private final Map<Long, long[]> memo = new HashMap<>();
    /** What a back-reference leads to now, to refuse one that leads back into itself. */
    private final Set<Long> following = new HashSet<>();
    private final int maxLevel;
    private int pos;
    private int level;

    private RustBudget(byte[] s, int start, int end, int maxLevel) {
        this.s = s;
        this.start = start;
        this.end = end;
        this.pos = start;
        this.maxLevel = maxLevel;
    }

    /**
     * The bound on what demangling a Rust v0 name costs.
     *
     * @param s the name's bytes
     * @param from where the name, {@code _R...}, starts in {@code s}
     * @param to where it ends
     * @param maxLevel how deeply the parser may recurse, which bounds the Java stack it needs
     * @return the cost; {@link ItaniumBudget.Cost#TOO_DEEP} if the name nests deeper than
     *     {@code maxLevel}; null if it does not parse or refers forward
     */
    static ItaniumBudget.Cost measure(byte[] s, int from, int to, int maxLevel) {
        if (to - from < 3 || s[from] != '_' || s[from + 1] != 'R') {
            return null;
        }
        int end = from + 2;
        while (end < to && s[end] != '.') { // a '.' suffix is ignored
            end++;
        }
        RustBudget parser = new RustBudget(s, from + 2, end, maxLevel);
        try {
            long[] path = parser.parse(PATH, false);
            long size = path[0];
            long depth = path[1];
            if (parser.pos < end) { // the instantiating crate, not printed
                long[] crate = parser.parse(PATH, true);
                size = add(size, crate[0]);
                depth = Math.max(depth, crate[1]);
            }
            return parser.pos == end ? new ItaniumBudget.Cost(size, depth) : null;
        } catch (TooDeep e) {
            return ItaniumBudget.Cost.TOO_DEEP;
        } catch (Invalid e) {
            return null;
        }
    }

    /**
     * Whether a name has the shape of a legacy Rust name, {@code _ZN}, identifiers, {@code E}, and
     * nothing after it but a {@code '.'} suffix: libiberty's Rust demangler prints at most about
     * twice its length, and its C++ demangler a nested name of plain identifiers (one level of
     * recursion each), or nothing.
     *
     * @param s the name's bytes
     * @param from where the name starts in {@code s}
     * @param to where it ends
     * @return the number of identifiers, or -1 for another shape
     */
    static int legacyShape(byte[] s, int from, int to) {
        int p = from + 3;
        if (to - from < 5 || s[from] != '_' || s[from + 1] != 'Z' || s[from + 2] != 'N' || s[p] == 'E') {
            return -1;
        }
        int count = 0;
        while (p < to && s[p] != 'E') {
            if (s[p] < '1' || s[p] > '9') {
                return -1;
            }
            count++;
            long len = 0;
            while (p < to && s[p] >= '0' && s[p] <= '9') {
                len = Math.min(len * 10 + s[p++] - '0', Integer.MAX_VALUE);
            }
            if (len > to - p) {
                return -1;
            }
            p += (int) len;
        }
        return p < to && (p + 1 == to || s[p + 1] == '.') ? count : -1;
    }

    /**
     * Whether a legacy-shaped name ends in a Rust hash, {@code 17h<16 hex digits>E}, as the names that
     * libiberty's Rust demangler takes do.
     *
     * @param s the name's bytes
     * @param from where the name starts in {@code s}
     * @param to where it ends
     * @return true if the last identifier is a hash
     */
    static boolean legacyHash(byte[] s, int from, int to) {
        int e = from + 3;
        int last = -1;
        while (e < to && s[e] != 'E') {
            int len = 0;
            while (e < to && s[e] >= '0' && s[e] <= '9') {
                len = Math.min(len * 10 + s[e++] - '0', Integer.MAX_VALUE / 2);
            }
            last = len == 17 ? e : -1;
            e += len;
        }
        if (last < 0 || last + 17 > to || s[last] != 'h') {
            return false;
        }
        for (int i = last + 1; i < last + 17; i++) {
            if (!(s[i] >= '0' && s[i] <= '9') && !(s[i] >= 'a' && s[i] <= 'f')) {
                return false;
            }
        }
        return true;
    }

    /** Thrown for a name that does not parse. */
    private static final class Invalid extends Exception {
        private static final long serialVersionUID = 1L;

        Invalid() {
            super(null, null, false, false);
        }
    }

    /** Thrown for a name that nests deeper than the parser may follow. */
    private static final class TooDeep extends RuntimeException {
        private static final long serialVersionUID = 1L;

        TooDeep() {
            super(null, null, false, false);
        }
    }

    private static long add(long a, long b) {
        return Math.min(a + b, CAP);
    }

    private static long mul(long a, long b) {
        if (a == 0 || b == 0) {
            return 0;
        }
        return a > CAP / b ? CAP : Math.min(a * b, CAP);
    }

    private int peek() {
        return pos < end ? s[pos] & 0xff : 0;
    }

    private boolean eat(int c) {
        if (pos < end && (s[pos] & 0xff) == c) {
            pos++;
            return true;
        }
        return false;
    }

    private int next() throws Invalid {
        if (pos >= end) {
            throw new Invalid();
        }
        return s[pos++] & 0xff;
    }

    private long integer62() throws Invalid {
        if (eat('_')) {
            return 0;
        }
        long x = 0;
        while (!eat('_')) {
            int c = next();
            int d;
            if (c >= '0' && c <= '9') {
                d = c - '0';
            } else if (c >= 'a' && c <= 'z') {
                d = 10 + c - 'a';
            } else if (c >= 'A' && c <= 'Z') {
                d = 36 + c - 'A';
            } else {
                throw new Invalid();
            }
            x = add(mul(x, 62), d);
        }
        return add(x, 1);
    }

    private long optInteger62(int tag) throws Invalid {
        return eat(tag) ? add(integer62(), 1) : 0;
    }

    /** An identifier; returns what printing it costs: its bytes, decoded from punycode at most 4 per byte. */
    private long ident() throws Invalid {
        boolean punycode = eat('u');
        int c = next();
        if (c < '0' || c > '9') {
            throw new Invalid();
        }
        long len = c - '0';
        if (c != '0') {
            while (peek() >= '0' && peek() <= '9') {
                len = add(mul(len, 10), next() - '0');
            }
        }
        eat('_');
        if (len > end - pos) {
            throw new Invalid();
        }
        pos += (int) len;
        return punycode ? 4 * len : len;
    }

    /**
     * Parses one path, type or constant, and returns {size, depth}: what printing it costs and how
     * deeply it nests, counting what its back-references print again.
     */
    private long[] parse(int kind, boolean skipping) throws Invalid {
        if (++level > maxLevel) {
            throw new TooDeep();
        }
        try {
            return switch (kind) {
                case PATH -> path(skipping);
                case TYPE -> type(skipping);
                case CONST -> constant(skipping);
                default -> openPath(skipping);
            };
        } finally {
            level--;
        }
    }

    private long[] backref(int kind, boolean skipping) throws Invalid {
        int tag = pos - 1 - start;
        long target = integer62();
        if (skipping) {
            return new long[] {OWN, 1}; // libiberty does not follow it
        }
        if (target >= tag) {
            throw new Invalid(); // not to an earlier position: rustc never writes it
        }
        Long key = kind * (1L << 32) + target;
        long[] known = memo.get(key);
        if (known == null) {
            if (!following.add(key)) {
                throw new Invalid(); // a back-reference into what it is part of: never ends
            }
            int hold = pos;
            pos = start + (int) target;
            known = parse(kind, false);
            pos = hold;
            following.remove(key);
            memo.put(key, known);
        }
        return new long[] {add(known[0], OWN), known[1] + 1};
    }

    private long[] path(boolean skipping) throws Invalid {
        int tag = next();
        long size = OWN;
        long depth = 1;
        switch (tag) {
            case 'C' -> {
                optInteger62('s');
                size = add(size, ident());
            }
            case 'N' -> {
                int ns = next();
                if (!(ns >= 'a' && ns <= 'z') && !(ns >= 'A' && ns <= 'Z')) {
                    throw new Invalid();
                }
                long[] inner = parse(PATH, skipping);
                optInteger62('s');
                size = add(add(size, inner[0]), ident());
                depth += inner[1];
            }
            case 'M', 'X', 'Y' -> {
                long[] skipped = {0, 0};
                if (tag != 'Y') {
                    optInteger62('s');
                    skipped = parse(PATH, true);
                }
                long[] type = parse(TYPE, skipping);
                size = add(add(size, skipped[0]), type[0]);
                depth += Math.max(skipped[1], type[1]);
                if (tag != 'M') {
                    long[] trait = parse(PATH, skipping);
                    size = add(size, trait[0]);
                    depth = Math.max(depth, trait[1] + 1);
                }
            }
            case 'I' -> {
                long[] inner = parse(PATH, skipping);
                size = add(size, inner[0]);
                depth += inner[1];
                while (!eat('E')) {
                    long[] arg = genericArg(skipping);
                    size = add(add(size, arg[0]), OWN);
                    depth = Math.max(depth, arg[1] + 1);
                }
            }
            case 'B' -> {
                return backref(PATH, skipping);
            }
            default -> throw new Invalid();
        }
        return new long[] {size, depth};
    }

    private long[] genericArg(boolean skipping) throws Invalid {
        if (eat('L')) {
            integer62();
            return new long[] {OWN, 1};
        }
        if (eat('K')) {
            return parse(CONST, skipping);
        }
        return parse(TYPE, skipping);
    }

    private static boolean basicType(int tag) {
        return "bceuaslxnihtmyojfdzpv".indexOf(tag) >= 0;
    }

    private long[] type(boolean skipping) throws Invalid {
        int tag = next();
        if (basicType(tag)) {
            return new long[] {OWN, 1};
        }
        long size = OWN;
        long depth = 1;
        switch (tag) {
            case 'R', 'Q' -> {
                if (eat('L')) {
                    integer62();
                }
                long[] inner = parse(TYPE, skipping);
                size = add(size, inner[0]);
                depth += inner[1];
            }
            case 'P', 'O', 'S' -> {
                long[] inner = parse(TYPE, skipping);
                size = add(size, inner[0]);
                depth += inner[1];
            }
            case 'A' -> {
                long[] inner = parse(TYPE, skipping);
                long[] len = parse(CONST, skipping);
                size = add(add(size, inner[0]), len[0]);
                depth += Math.max(inner[1], len[1]);
            }
            case 'T' -> {
                while (!eat('E')) {
                    long[] inner = parse(TYPE, skipping);
                    size = add(add(size, inner[0]), OWN);
                    depth = Math.max(depth, inner[1] + 1);
                }
            }
            case 'F' -> {
                size = add(size, binder());
                eat('U');
                if (eat('K') && !eat('C')) {
                    if (peek() == 'u') {
                        throw new Invalid(); // a punycode ABI name
                    }
                    size = add(size, 2 * ident());
                }
                while (!eat('E')) {
                    long[] inner = parse(TYPE, skipping);
                    size = add(add(size, inner[0]), OWN);
                    depth = Math.max(depth, inner[1] + 1);
                }
                if (!eat('u')) {
                    long[] ret = parse(TYPE, skipping);
                    size = add(size, ret[0]);
                    depth = Math.max(depth, ret[1] + 1);
                }
            }
            case 'D' -> {
                size = add(size, binder());
                while (!eat('E')) {
                    long[] trait = dynTrait(skipping);
                    size = add(add(size, trait[0]), OWN);
                    depth = Math.max(depth, trait[1] + 1);
                }
                if (!eat('L')) {
                    throw new Invalid();
                }
                integer62();
            }
            case 'B' -> {
                return backref(TYPE, skipping);
            }
            default -> {
                pos--;
                return parse(PATH, skipping);
            }
        }
        return new long[] {size, depth};
    }

    /** A binder {@code G<count>}: "for<'a, 'b, ...> ", a lifetime name of at most 22 bytes each. */
    private long binder() throws Invalid {
        long count = optInteger62('G');
        return mul(count, 26);
    }

    private long[] dynTrait(boolean skipping) throws Invalid {
        long[] path = parse(OPEN_PATH, skipping);
        long size = path[0];
        long depth = path[1];
        while (eat('p')) {
            size = add(add(size, ident()), OWN);
            long[] type = parse(TYPE, skipping);
            size = add(size, type[0]);
            depth = Math.max(depth, type[1] + 1);
        }
        return new long[] {size, depth};
    }

    private long[] openPath(boolean skipping) throws Invalid {
        if (eat('B')) {
            return backref(OPEN_PATH, skipping);
        }
        if (eat('I')) {
            long[] inner = parse(PATH, skipping);
            long size = add(OWN, inner[0]);
            long depth = inner[1] + 1;
            while (!eat('E')) {
                long[] arg = genericArg(skipping);
                size = add(add(size, arg[0]), OWN);
                depth = Math.max(depth, arg[1] + 1);
            }
            return new long[] {size, depth};
        }
        long[] inner = parse(PATH, skipping);
        return new long[] {add(OWN, inner[0]), inner[1] + 1};
    }

    private long[] constant(boolean skipping) throws Invalid {
        if (eat('B')) {
            return backref(CONST, skipping);
        }
        int tag = next();
        if (tag == 'p') {
            return new long[] {OWN, 1};
        }
        if ("htmyojaslxnibc".indexOf(tag) < 0) {
            throw new Invalid();
        }
        if ("aslxni".indexOf(tag) >= 0) {
            eat('n');
        }
        int digits = 0;
        while (!eat('_')) {
            int c = next();
            if (!(c >= '0' && c <= '9') && !(c >= 'a' && c <= 'f')) {
                throw new Invalid();
            }
            digits++;
        }
        return new long[] {add(OWN, 2L * digits), 1}; // decimal, or "0x" and the digits
    }
}
