package dev.unwinder.elf;

import java.util.ArrayList;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;

/**
 * What demangling a C++ (Itanium ABI) name would cost GNU libiberty's demangler, bounded from above
 * in Java before the native demangler is called: so that no name makes it run for hours or allocate
 * gigabytes, and so that the caller knows how much native stack it needs.
 *
 * <p>libiberty limits its recursion, but not its output: a name refers back to earlier parts of
 * itself ({@code S<seq-id>_}, {@code T<n>_}), and a reference to a part that holds two references
 * doubles the text. A 261-byte name makes {@code c++filt} print 1.1 GB in 12 s, a 311-byte one runs
 * for minutes. Its recursion, though limited, is deep: a 1 KB name that it accepts needs up to
 * about 600 KiB of native stack. This class parses the name with libiberty's grammar, keeps the
 * same substitution table, and computes the printed size of the component graph as a tree (with
 * generous per-component constants), and its depth. A name it cannot parse, or whose bound is over
 * the limits, is not demangled.
 *
 * <p>Only the size matters here, never the text: the parse mirrors libiberty's (which parts are
 * substitution candidates, in which order, and its backtracking for conversion operators and old
 * unresolved names), and rejects the constructs of recent C++ that older libiberty versions parse
 * differently (modules, explicit object parameters, constraints, template heads, friends).
 */
final class ItaniumBudget {
    /** The most text a name may demangle to. Real names demangle to at most a few KiB. */
    static final long MAX_OUTPUT = 1L << 22;
    /** The deepest a name may nest when printed: libiberty's own limit on its printer's recursion. */
    static final int MAX_DEPTH = 1024;
    /** libiberty refuses names longer than this (2 components per byte, at most 2048). */
    static final int MAX_LENGTH = 1024;

    /**
     * What demangling a name costs at most.
     *
     * @param output the bytes it prints
     * @param depth how deeply the demangler recurses: one level per component on the way down the
     *     printed tree, and one per element of a list (parameters, template arguments), which
     *     libiberty keeps as linked lists
     */
    record Cost(long output, long depth) {
        /** The cost of a name that nests deeper than the parser was allowed to follow. */
        static final Cost TOO_DEEP = new Cost(-1, -1);

        /**
         * Whether demangling is bounded: {@link #MAX_OUTPUT} bytes and {@link #MAX_DEPTH} levels.
         *
         * @return true if within the limits
         */
        boolean fits() {
            return output >= 0 && output <= MAX_OUTPUT && depth <= MAX_DEPTH;
        }
    }

    /** Printed bytes per component besides its own identifier: the longest fixed text is 70. */
    private static final int OWN = 80;
    private static final long CAP = 1L << 60;

    private static final int OTHER = 0;
    private static final int NAME = 1;
    private static final int TEMPLATE = 2;
    private static final int QUAL = 3;
    private static final int LOCAL = 4;
    private static final int TYPED = 5;
    private static final int FNQUAL = 6;
    private static final int CONVERSION = 7;
    private static final int CTOR = 8;
    private static final int DTOR = 9;
    private static final int TPARAM = 10;
    private static final int ARGS = 11;
    private static final int PACK = 12;
    private static final int DEFAULT_ARG = 13;
    private static final int LAMBDA = 14;
    private static final int UNNAMED = 15;
    private static final int NULLPTR_TYPE = 16;
    private static final int OPERATOR = 17;
    /** A list of parameters, expressions or names, which libiberty chains. */
    private static final int LIST = 18;

    /** The operators of {@code <operator-name>} with their operand counts. */
    private static final String OPERATORS = "aN2aS2aa2ad1an2at1aw1az1cc2cl2cm2co1dV2dX3da1dc2de1di2dl1ds2dt2dv2dx2"
            + "eO2eo2eq2fL3fR3fl2fr2ge2gs1gt2ix2lS2le2li1ls2lt2mI2mL2mi2ml2mm1na3ne2ng1nt1nw3nx1oR2oo2or2pL2pl2pm2"
            + "pp1ps1pt2qu3rM2rS2rc2rm2rs2sP1sZ1sc2ss2st1sz1tr0tw1";

    /** One component of the parsed name; its children were all made before it. */
    private static final class Node {
        final int type;
        final int raw;
        final Node[] kids;
        String code;
        long size;
        long tparms;
        int depth;

        Node(int type, int raw, Node... kids) {
            this.type = type;
            this.raw = raw;
            this.kids = kids;
        }

        Node kid(int i) {
            return i < kids.length ? kids[i] : null;
        }
    }

    private final byte[] s;
    private final int end;
    private final List<Node> nodes = new ArrayList<>();
    private final List<Node> subs = new ArrayList<>();
    private int pos;
    private Node lastName;
    private boolean isExpression;
    private boolean isConversion;
    private int unresolvedNameState = 1;
    private int level;
    private final int maxLevel;

    private ItaniumBudget(byte[] s, int start, int end, int maxLevel) {
        this.s = s;
        this.pos = start;
        this.end = end;
        this.maxLevel = maxLevel;
    }

    /**
     * The bound on what demangling a name costs.
     *
     * @param s the name's bytes
     * @param start where the name starts in {@code s} (after any {@code '.'} or {@code '$'} that
     *     c++filt skips)
     * @param end where it ends
     * @param maxLevel how deeply the parser may recurse, which bounds the Java stack it needs (about
     *     1 KiB per level)
     * @return the cost; {@link Cost#TOO_DEEP} if the name nests deeper than {@code maxLevel}; null if
     *     it does not parse, is longer than {@link #MAX_LENGTH}, or has template arguments that name
     *     template parameters
     */
    static Cost measure(byte[] s, int start, int end, int maxLevel) {
        if (end - start > MAX_LENGTH) {
            return null;
        }
        ItaniumBudget first = new ItaniumBudget(s, start, end, maxLevel);
        Node root;
        try {
            root = first.top();
            if (root == null && first.unresolvedNameState == -1) {
                // libiberty tries the old mangling of unresolved names when the new one fails.
                first = new ItaniumBudget(s, start, end, maxLevel);
                first.unresolvedNameState = 0;
                root = first.top();
            }
        } catch (TooDeep e) {
            return Cost.TOO_DEEP;
        }
        return first.cost(root);
    }

    private Node top() {
        if (startsWith("_Z")) {
            Node n = mangledName(true);
            return n != null && pos == end ? n : null;
        }
        if (startsWith("_GLOBAL_") && end - pos > 10 && (s[pos + 8] == '.' || s[pos + 8] == '_'
                || s[pos + 8] == '$') && (s[pos + 9] == 'D' || s[pos + 9] == 'I') && s[pos + 10] == '_') {
            pos += 11; // "global constructors keyed to " and a name, or an encoding and what follows it
            Node rest;
            if (startsWith("_Z")) {
                pos += 2;
                rest = encoding(false);
            } else {
                rest = make(NAME, end - pos);
            }
            return rest == null ? null : make(OTHER, 0, rest);
        }
        return null;
    }

    /** Thrown when the name nests deeper than the parser may follow. */
    private static final class TooDeep extends RuntimeException {
        private static final long serialVersionUID = 1L;

        TooDeep() {
            super(null, null, false, false);
        }
    }

    private void enter() {
        if (++level > maxLevel) {
            throw new TooDeep();
        }
    }

    private Cost cost(Node root) {
        if (root == null) {
            return null;
        }
        int packs = 1;
        for (Node n : nodes) {
            if (n.type == ARGS) {
                packs = Math.max(packs, n.kids.length);
            }
        }
        // Sizes in creation order: a node's children, including the parts it refers back to, are
        // all older than it, so the graph is sized as the tree that libiberty prints.
        for (Node n : nodes) {
            // Separators (", ", "::") print once per child.
            long size = OWN + (long) n.raw + 4L * n.kids.length;
            long tparms = n.type == TPARAM ? 1 : 0;
            int depth = 0;
            for (Node k : n.kids) {
                if (k != null) {
                    size = add(size, k.size);
                    tparms = add(tparms, k.tparms);
                    depth = Math.max(depth, k.depth);
                }
            }
            if (n.type == PACK) { // the pattern, once per element of the pack
                size = add(OWN, mul(size, packs));
                tparms = mul(tparms, packs);
            }
            n.size = size;
            n.tparms = tparms;
            // libiberty prints a list as a chain: element i one level below element i - 1.
            n.depth = depth + 1 + (n.type == LIST || n.type == ARGS ? n.kids.length : 0);
        }
        // A template parameter prints an argument of a template that the printer has in scope: the
        // function template being named, or the template around a conversion operator.
        long argSize = 0;
        int argDepth = 0;
        for (Node t : targets()) {
            for (Node arg : t.kids[1].kids) {
                if (arg.tparms != 0) {
                    return null; // an argument that itself names template parameters
                }
                argSize = Math.max(argSize, arg.size);
                argDepth = Math.max(argDepth, arg.depth);
            }
        }
        long total = add(root.size, mul(root.tparms, argSize));
        long depth = root.depth + (root.tparms != 0 ? argDepth : 0);
        return new Cost(total, depth);
    }

    private List<Node> targets() {
        List<Node> found = new ArrayList<>();
        Map<Node, Boolean> conversions = new IdentityHashMap<>();
        for (Node n : nodes) {
            boolean conversion = n.type == CONVERSION;
            for (Node k : n.kids) {
                conversion |= k != null && conversions.getOrDefault(k, false);
            }
            conversions.put(n, conversion);
            if (n.type == TEMPLATE && conversion && n.kids[1] != null) {
                found.add(n);
            }
            if (n.type == TYPED) {
                Node typed = n.kids[0];
                while (typed != null && typed.type == FNQUAL) {
                    typed = typed.kid(0);
                }
                if (typed != null && typed.type == LOCAL) {
                    typed = typed.kid(1);
                    if (typed != null && typed.type == DEFAULT_ARG) {
                        typed = typed.kid(0);
                    }
                    while (typed != null && typed.type == FNQUAL) {
                        typed = typed.kid(0);
                    }
                }
                if (typed != null && typed.type == TEMPLATE && typed.kids[1] != null) {
                    found.add(typed);
                }
            }
        }
        return found;
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

    private Node make(int type, int raw, Node... kids) {
        for (Node k : kids) {
            if (k == null) {
                return null; // as libiberty's d_make_comp, for a part that failed to parse
            }
        }
        Node n = new Node(type, raw, kids);
        nodes.add(n);
        return n;
    }

    private int peek() {
        return pos < end ? s[pos] & 0xff : 0;
    }

    private int peekNext() {
        return pos + 1 < end ? s[pos + 1] & 0xff : 0;
    }

    private int next() {
        return pos < end ? s[pos++] & 0xff : 0;
    }

    private boolean check(int c) {
        if (peek() == c && c != 0) {
            pos++;
            return true;
        }
        return false;
    }

    private boolean startsWith(String prefix) {
        if (end - pos < prefix.length()) {
            return false;
        }
        for (int i = 0; i < prefix.length(); i++) {
            if (s[pos + i] != prefix.charAt(i)) {
                return false;
            }
        }
        return true;
    }

    private static boolean digit(int c) {
        return c >= '0' && c <= '9';
    }

    private static boolean lower(int c) {
        return c >= 'a' && c <= 'z';
    }

    private static boolean upper(int c) {
        return c >= 'A' && c <= 'Z';
    }

    private boolean addSub(Node n) {
        if (n == null || subs.size() >= end) {
            return false;
        }
        subs.add(n);
        return true;
    }

    // <mangled-name> ::= _Z <encoding> [<clone-suffix>]*
    private Node mangledName(boolean topLevel) {
        if (!check('_') && topLevel) {
            return null;
        }
        if (!check('Z')) {
            return null;
        }
        Node p = encoding(topLevel);
        if (topLevel) {
            while (p != null && peek() == '.' && (lower(peekNext()) || peekNext() == '_' || digit(peekNext()))) {
                p = cloneSuffix(p);
            }
        }
        return p;
    }

    private Node cloneSuffix(Node encoding) {
        int start = pos;
        if (peek() == '.' && (lower(peekNext()) || digit(peekNext()) || peekNext() == '_')) {
            pos += 2;
            while (lower(peek()) || digit(peek()) || peek() == '_') {
                pos++;
            }
        }
        while (peek() == '.' && digit(peekNext())) {
            pos += 2;
            while (digit(peek())) {
                pos++;
            }
        }
        return make(OTHER, pos - start, encoding);
    }

    private static boolean hasReturnType(Node dc) {
        if (dc == null) {
            return false;
        }
        return switch (dc.type) {
            case LOCAL -> hasReturnType(dc.kid(1));
            case TEMPLATE -> !isCtorDtorOrConversion(dc.kid(0));
            case FNQUAL -> hasReturnType(dc.kid(0));
            default -> false;
        };
    }

    private static boolean isCtorDtorOrConversion(Node dc) {
        while (dc != null && (dc.type == QUAL || dc.type == LOCAL)) {
            dc = dc.kid(1);
        }
        return dc != null && (dc.type == CTOR || dc.type == DTOR || dc.type == CONVERSION);
    }

    // <encoding> ::= <name> <bare-function-type> | <name> | <special-name>
    private Node encoding(boolean topLevel) {
        enter();
        try {
            int c = peek();
            if (c == 'G' || c == 'T') {
                return specialName();
            }
            Node dc = name(false);
            if (dc == null) {
                return null;
            }
            c = peek();
            if (c != 0 && c != 'E') {
                Node ftype = bareFunctionType(hasReturnType(dc));
                if (ftype == null || peek() == 'Q') {
                    return null;
                }
                dc = make(TYPED, 0, dc, ftype);
            }
            return dc;
        } finally {
            level--;
        }
    }

    private Node abiTags(Node dc) {
        Node hold = lastName;
        while (dc != null && peek() == 'B') {
            pos++;
            dc = make(OTHER, 0, dc, sourceName());
        }
        lastName = hold;
        return dc;
    }

    // <name> ::= <nested-name> | <unscoped-name> | <unscoped-template-name> <template-args> | <local-name>
    private Node name(boolean substable) {
        enter();
        try {
            Node dc = null;
            boolean subst = false;
            switch (peek()) {
                case 'N' -> dc = nestedName();
                case 'Z' -> dc = localName();
                case 'U' -> dc = unqualifiedName(null);
                default -> {
                    if (peek() == 'S') {
                        if (peekNext() == 't') {
                            pos += 2;
                            dc = make(NAME, 3);
                        }
                        if (peek() == 'S') {
                            Node sub = substitution(false);
                            if (sub == null || dc != null) {
                                return null;
                            }
                            subst = true;
                            dc = sub;
                        }
                    }
                    if (!subst) {
                        dc = unqualifiedName(dc);
                    }
                    if (peek() == 'I') {
                        if (!subst && !addSub(dc)) {
                            return null;
                        }
                        dc = make(TEMPLATE, 0, dc, templateArgs());
                        subst = false;
                    }
                }
            }
            if (substable && !subst && !addSub(dc)) {
                return null;
            }
            return dc;
        } finally {
            level--;
        }
    }

    // <nested-name> ::= N [<CV-qualifiers>] [<ref-qualifier>] <prefix> <unqualified-name> E
    private Node nestedName() {
        if (!check('N') || peek() == 'H') {
            return null;
        }
        List<Node> quals = cvQualifiers();
        if (quals == null) {
            return null;
        }
        boolean ref = peek() == 'R' || peek() == 'O';
        if (ref) {
            pos++;
        }
        Node ret = prefix(true);
        if (ret == null) {
            return null;
        }
        ret = wrap(ret, quals);
        if (ref) {
            ret = make(FNQUAL, 2, ret);
        }
        return check('E') ? ret : null;
    }

    private Node wrap(Node inner, List<Node> quals) {
        for (int i = quals.size() - 1; i >= 0 && inner != null; i--) {
            Node extra = quals.get(i);
            inner = extra == null ? make(FNQUAL, 0, inner) : make(FNQUAL, 0, inner, extra);
        }
        return inner;
    }

    // <prefix> ::= <prefix> <unqualified-name> | <template-prefix> <template-args> | <template-param>
    //          ::= <decltype> | <substitution>
    private Node prefix(boolean substable) {
        enter();
        try {
            Node ret = null;
            while (true) {
                int c = peek();
                if (c == 'D' && (peekNext() == 'T' || peekNext() == 't')) {
                    if (ret != null) {
                        return null;
                    }
                    ret = type();
                } else if (c == 'I') {
                    if (ret == null) {
                        return null;
                    }
                    Node args = templateArgs();
                    if (args == null) {
                        return null;
                    }
                    ret = make(TEMPLATE, 0, ret, args);
                } else if (c == 'T') {
                    if (ret != null) {
                        return null;
                    }
                    ret = templateParam();
                } else if (c == 'M') {
                    pos++; // the scope of a lambda's initializer, already a candidate
                    continue;
                } else if (c == 'S') {
                    Node sub = substitution(true);
                    if (sub == null || ret != null) {
                        return null;
                    }
                    ret = sub;
                    continue;
                } else {
                    ret = unqualifiedName(ret);
                }
                if (ret == null || peek() == 'E') {
                    return ret;
                }
                if (substable && !addSub(ret)) {
                    return null;
                }
            }
        } finally {
            level--;
        }
    }

    // <unqualified-name> ::= <operator-name> | <ctor-dtor-name> | <source-name> | L <source-name>
    //          <discriminator> | DC <source-name>+ E | <closure-type-name> | <unnamed-type-name>,
    //          then [<abi-tags>]
    private Node unqualifiedName(Node scope) {
        int c = peek();
        if (c == 'W' || c == 'F') {
            return null; // module names and member-like friends: newer than some libiberty versions
        }
        Node ret;
        if (digit(c)) {
            ret = sourceName();
        } else if (lower(c)) {
            boolean wasExpression = isExpression;
            if (c == 'o' && peekNext() == 'n') {
                pos += 2;
                isExpression = false;
            }
            ret = operatorName();
            isExpression = wasExpression;
            if (ret != null && ret.type == OPERATOR && "li".equals(ret.code)) {
                ret = make(OTHER, 0, ret, sourceName());
            }
        } else if (c == 'D' && peekNext() == 'C') {
            pos += 2;
            List<Node> names = new ArrayList<>();
            do {
                Node n = sourceName();
                if (n == null) {
                    return null;
                }
                names.add(n);
            } while (peek() != 'E');
            pos++;
            ret = make(LIST, 0, names.toArray(Node[]::new));
        } else if (c == 'C' || c == 'D') {
            ret = ctorDtorName();
        } else if (c == 'L') {
            pos++;
            ret = sourceName();
            if (ret == null || !discriminator()) {
                return null;
            }
        } else if (c == 'U') {
            ret = switch (peekNext()) {
                case 'l' -> lambda();
                case 't' -> unnamedType();
                default -> null;
            };
        } else {
            return null;
        }
        if (ret != null && peek() == 'B') {
            ret = abiTags(ret);
        }
        if (ret != null && scope != null) {
            ret = make(QUAL, 0, scope, ret);
        }
        return ret;
    }

    private Node sourceName() {
        int len = number();
        if (len <= 0 || end - pos < len) {
            return null;
        }
        pos += len;
        Node n = make(NAME, Math.max(len, 21)); // "(anonymous namespace)" replaces _GLOBAL__N_1
        lastName = n;
        return n;
    }

    private int number() {
        boolean negative = check('n');
        int ret = 0;
        while (digit(peek())) {
            int d = peek() - '0';
            if (ret > (Integer.MAX_VALUE - d) / 10) {
                return -1;
            }
            ret = ret * 10 + d;
            pos++;
        }
        return negative ? -ret : ret;
    }

    private Node operatorName() {
        int c1 = next();
        int c2 = next();
        if (c1 == 'v' && digit(c2)) {
            Node n = make(OTHER, 0, sourceName());
            if (n != null) {
                n.code = "v" + (char) c2;
            }
            return n;
        }
        if (c1 == 'c' && c2 == 'v') {
            boolean wasConversion = isConversion;
            isConversion = !isExpression;
            Node type = type();
            Node res = make(isConversion ? CONVERSION : OTHER, 0, type);
            if (res != null) {
                res.code = "cv";
            }
            isConversion = wasConversion;
            return res;
        }
        for (int i = 0; i < OPERATORS.length(); i += 3) {
            if (OPERATORS.charAt(i) == c1 && OPERATORS.charAt(i + 1) == c2) {
                Node n = make(OPERATOR, 0);
                n.code = OPERATORS.substring(i, i + 2);
                return n;
            }
        }
        return null;
    }

    private static int arity(Node op) {
        if (op.type == OPERATOR) {
            return OPERATORS.charAt(OPERATORS.indexOf(op.code) + 2) - '0';
        }
        if (op.type == OTHER && "cv".equals(op.code)) {
            return 1; // a cast
        }
        if (op.type == OTHER && op.code != null && op.code.charAt(0) == 'v') {
            return op.code.charAt(1) - '0'; // a vendor operator
        }
        return -1; // a conversion operator is no operator in an expression
    }

    // <special-name> ::= TV <type> | TT <type> | TI <type> | TS <type> | TA <template-arg> | GV <name>
    //          | T <call-offset> <encoding> | Tc <call-offset> <call-offset> <encoding> | TC ... | TF | TJ
    //          | TH | TW | GR | GA | GTt | GTn
    private Node specialName() {
        if (check('T')) {
            return switch (next()) {
                case 'V', 'T', 'I', 'S', 'F', 'J' -> make(OTHER, 0, type());
                case 'h' -> callOffset('h') ? make(OTHER, 0, encoding(false)) : null;
                case 'v' -> callOffset('v') ? make(OTHER, 0, encoding(false)) : null;
                case 'c' -> callOffset(0) && callOffset(0) ? make(OTHER, 0, encoding(false)) : null;
                case 'C' -> {
                    Node derived = type();
                    if (derived == null || number() < 0 || !check('_')) {
                        yield null;
                    }
                    yield make(OTHER, 0, type(), derived);
                }
                case 'H', 'W' -> make(OTHER, 0, name(false));
                case 'A' -> make(OTHER, 0, templateArg());
                default -> null;
            };
        }
        if (check('G')) {
            return switch (next()) {
                case 'V' -> make(OTHER, 0, name(false));
                case 'R' -> {
                    Node name = name(false);
                    int start = pos;
                    number();
                    yield make(OTHER, pos - start, name);
                }
                case 'A' -> make(OTHER, 0, encoding(false));
                case 'T' -> {
                    next();
                    yield make(OTHER, 0, encoding(false));
                }
                default -> null; // Gr (Java resources) and GI (module initializers)
            };
        }
        return null;
    }

    private boolean callOffset(int c) {
        if (c == 0) {
            c = next();
        }
        if (c == 'h') {
            number();
        } else if (c == 'v') {
            number();
            if (!check('_')) {
                return false;
            }
            number();
        } else {
            return false;
        }
        return check('_');
    }

    private Node ctorDtorName() {
        Node last = lastName;
        if (last == null) {
            return null;
        }
        if (peek() == 'C') {
            boolean inheriting = peekNext() == 'I';
            if (inheriting) {
                pos++;
            }
            int kind = peekNext();
            if (kind < '1' || kind > '5') {
                return null;
            }
            pos += 2;
            if (inheriting) {
                type(); // the base, which is not printed; libiberty ignores its failure, too
            }
            return make(CTOR, 0, last);
        }
        if (peek() == 'D') {
            int kind = peekNext();
            if (kind != '0' && kind != '1' && kind != '2' && kind != '4' && kind != '5') {
                return null;
            }
            pos += 2;
            return make(DTOR, 0, last);
        }
        return null;
    }

    private boolean nextIsTypeQual() {
        int c = peek();
        if (c == 'r' || c == 'V' || c == 'K') {
            return true;
        }
        if (c == 'D') {
            int d = peekNext();
            return d == 'x' || d == 'o' || d == 'O' || d == 'w';
        }
        return false;
    }

    // <type>
    private Node type() {
        enter();
        try {
            return type1();
        } finally {
            level--;
        }
    }

    private Node type1() {
        if (nextIsTypeQual()) {
            List<Node> quals = cvQualifiers();
            if (quals == null) {
                return null;
            }
            Node inner = peek() == 'F' ? functionType() : type();
            Node ret = inner == null ? null : wrap(inner, quals);
            return addSub(ret) ? ret : null;
        }
        Node ret;
        boolean canSubst = true;
        int c = peek();
        switch (c) {
            case 'a', 'b', 'c', 'd', 'e', 'f', 'g', 'h', 'i', 'j', 'l', 'm', 'n', 'o', 's', 't', 'v', 'w', 'x',
                    'y', 'z' -> {
                pos++;
                ret = make(OTHER, 0);
                canSubst = false;
            }
            case 'u' -> {
                pos++;
                ret = make(OTHER, 0, sourceName());
            }
            case 'F' -> ret = functionType();
            case 'A' -> ret = arrayType();
            case 'M' -> {
                pos++;
                Node cl = type();
                Node mem = cl == null ? null : type();
                ret = make(OTHER, 0, cl, mem);
            }
            case 'T' -> {
                ret = templateParam();
                if (ret != null && peek() == 'I') {
                    if (!isConversion) {
                        if (!addSub(ret)) {
                            return null;
                        }
                        ret = make(TEMPLATE, 0, ret, templateArgs());
                    } else {
                        int checkpointPos = pos;
                        int checkpointSubs = subs.size();
                        Node args = templateArgs();
                        if (peek() == 'I') {
                            if (!addSub(ret)) {
                                return null;
                            }
                            ret = make(TEMPLATE, 0, ret, args);
                        } else {
                            pos = checkpointPos;
                            subs.subList(checkpointSubs, subs.size()).clear();
                        }
                    }
                }
            }
            case 'O', 'P', 'R', 'C', 'G' -> {
                pos++;
                ret = make(OTHER, 0, type());
            }
            case 'U' -> {
                pos++;
                Node name = sourceName();
                if (name != null && peek() == 'I') {
                    name = make(TEMPLATE, 0, name, templateArgs());
                }
                ret = name == null ? null : make(OTHER, 0, type(), name);
            }
            case 'D' -> {
                canSubst = false;
                pos++;
                switch (next()) {
                    case 'T', 't' -> {
                        ret = make(OTHER, 0, expression());
                        if (ret != null && next() != 'E') {
                            ret = null;
                        }
                        canSubst = true;
                    }
                    case 'p' -> {
                        ret = make(PACK, 0, type());
                        canSubst = true;
                    }
                    case 'a', 'c', 'f', 'd', 'e', 'h', 'u', 's', 'i' -> ret = make(OTHER, 0);
                    case 'n' -> ret = make(NULLPTR_TYPE, 0);
                    case 'F' -> {
                        int arg = number();
                        if (peek() == 'b') {
                            if (arg != 16) {
                                return null;
                            }
                            pos++;
                        } else if (peek() == 'x' || peek() == '_') {
                            pos++;
                        } else {
                            return null;
                        }
                        ret = make(OTHER, 0);
                    }
                    case 'v' -> {
                        ret = vectorType();
                        canSubst = true;
                    }
                    default -> {
                        return null;
                    }
                }
            }
            default -> {
                return name(true);
            }
        }
        if (canSubst && !addSub(ret)) {
            return null;
        }
        return ret;
    }

    /** Qualifiers, each as the node that holds what it prints besides its type (or null); null on error. */
    private List<Node> cvQualifiers() {
        List<Node> quals = new ArrayList<>();
        while (nextIsTypeQual()) {
            int c = next();
            Node extra = null;
            if (c == 'D') {
                int d = next();
                if (d == 'O') {
                    extra = expression();
                    if (extra == null || !check('E')) {
                        return null;
                    }
                } else if (d == 'w') {
                    extra = parmlist();
                    if (extra == null || !check('E')) {
                        return null;
                    }
                }
            }
            quals.add(extra);
        }
        return quals;
    }

    // <function-type> ::= F [Y] <bare-function-type> [<ref-qualifier>] E
    private Node functionType() {
        if (!check('F')) {
            return null;
        }
        check('Y');
        Node ret = bareFunctionType(true);
        if (ret != null && (peek() == 'R' || peek() == 'O')) {
            pos++;
            ret = make(FNQUAL, 0, ret);
        }
        return ret != null && check('E') ? ret : null;
    }

    private Node parmlist() {
        List<Node> types = new ArrayList<>();
        while (true) {
            int c = peek();
            if (c == 0 || c == 'E' || c == '.' || c == 'Q') {
                break;
            }
            if ((c == 'R' || c == 'O') && peekNext() == 'E') {
                break;
            }
            Node t = type();
            if (t == null) {
                return null;
            }
            types.add(t);
        }
        return types.isEmpty() ? null : make(LIST, 0, types.toArray(Node[]::new));
    }

    private Node bareFunctionType(boolean hasReturnType) {
        if (check('J')) {
            hasReturnType = true;
        }
        Node returnType = null;
        if (hasReturnType) {
            returnType = type();
            if (returnType == null) {
                return null;
            }
        }
        Node params = parmlist();
        if (params == null) {
            return null;
        }
        return returnType == null ? make(OTHER, 0, params) : make(OTHER, 0, returnType, params);
    }

    // <array-type> ::= A <number> _ <type> | A [<expression>] _ <type>
    private Node arrayType() {
        if (!check('A')) {
            return null;
        }
        Node dim = null;
        if (digit(peek())) {
            int start = pos;
            while (digit(peek())) {
                pos++;
            }
            dim = make(NAME, pos - start);
        } else if (peek() != '_') {
            dim = expression();
            if (dim == null) {
                return null;
            }
        }
        if (!check('_')) {
            return null;
        }
        Node element = type();
        return dim == null ? make(OTHER, 0, element) : make(OTHER, 0, dim, element);
    }

    // <vector-type> ::= Dv <number> _ <type> | Dv _ <expression> _ <type>
    private Node vectorType() {
        Node dim;
        if (check('_')) {
            dim = expression();
        } else {
            int start = pos;
            number();
            dim = make(NAME, pos - start);
        }
        if (dim == null || !check('_')) {
            return null;
        }
        return make(OTHER, 0, dim, type());
    }

    private int compactNumber() {
        int num;
        if (peek() == '_') {
            num = 0;
        } else if (peek() == 'n') {
            return -1;
        } else {
            num = number() + 1;
        }
        return num < 0 || !check('_') ? -1 : num;
    }

    // <template-param> ::= T_ | T <number> _
    private Node templateParam() {
        if (!check('T')) {
            return null;
        }
        int start = pos;
        return compactNumber() < 0 ? null : make(TPARAM, pos - start);
    }

    // <template-args> ::= I <template-arg>+ E
    private Node templateArgs() {
        if (peek() != 'I' && peek() != 'J') {
            return null;
        }
        pos++;
        return templateArgs1();
    }

    private Node templateArgs1() {
        enter();
        try {
            Node hold = lastName;
            if (check('E')) {
                return make(ARGS, 0);
            }
            List<Node> args = new ArrayList<>();
            while (true) {
                Node a = templateArg();
                if (a == null) {
                    return null;
                }
                args.add(a);
                int c = peek();
                if (c == 'E') {
                    break;
                }
                if (c == 'Q' || c == 0) {
                    return null; // constraints, or the end of the name
                }
            }
            pos++;
            lastName = hold;
            return make(ARGS, 0, args.toArray(Node[]::new));
        } finally {
            level--;
        }
    }

    private Node templateArg() {
        switch (peek()) {
            case 'X' -> {
                pos++;
                Node ret = expression();
                return check('E') ? ret : null;
            }
            case 'L' -> {
                return exprPrimary();
            }
            case 'I', 'J' -> {
                return templateArgs();
            }
            default -> {
                return type();
            }
        }
    }

    private Node exprlist(int terminator) {
        if (check(terminator)) {
            return make(LIST, 0);
        }
        List<Node> list = new ArrayList<>();
        while (true) {
            Node arg = expression();
            if (arg == null) {
                return null;
            }
            list.add(arg);
            if (check(terminator)) {
                return make(LIST, 0, list.toArray(Node[]::new));
            }
            if (peek() == 0) {
                return null;
            }
        }
    }

    private Node unresolvedName() {
        pos += 2; // sr
        int c = peek();
        Node type;
        if (unresolvedNameState != 0 && (digit(c) || lower(c) || c == 'C' || c == 'U' || c == 'L')) {
            unresolvedNameState = -1;
            type = prefix(false);
            check('E');
        } else {
            type = type();
        }
        Node name = unqualifiedName(type); // without a scope if that failed, as libiberty
        if (name != null && peek() == 'I') {
            name = make(TEMPLATE, 0, name, templateArgs());
        }
        return name;
    }

    private Node expression() {
        boolean wasExpression = isExpression;
        isExpression = true;
        enter();
        try {
            return expression1();
        } finally {
            level--;
            isExpression = wasExpression;
        }
    }

    private Node subExpression() {
        enter();
        try {
            return expression1();
        } finally {
            level--;
        }
    }

    private Node expression1() {
        int c = peek();
        int d = peekNext();
        if (c == 'L') {
            return exprPrimary();
        }
        if (c == 'T') {
            return templateParam();
        }
        if (c == 's' && d == 'r') {
            return unresolvedName();
        }
        if (c == 's' && d == 'p') {
            pos += 2;
            return make(PACK, 0, subExpression());
        }
        if (c == 'f' && d == 'p') {
            pos += 2;
            if (check('T')) {
                return make(OTHER, 0);
            }
            int start = pos;
            int index = compactNumber();
            return index == -1 || index == Integer.MAX_VALUE ? null : make(OTHER, pos - start);
        }
        if (digit(c) || (c == 'o' && d == 'n')) {
            if (c == 'o') {
                pos += 2;
            }
            Node name = unqualifiedName(null);
            if (name != null && peek() == 'I') {
                return make(TEMPLATE, 0, name, templateArgs());
            }
            return name;
        }
        if ((c == 'i' || c == 't') && d == 'l') {
            pos += 2;
            Node type = c == 't' ? type() : null;
            if (end - pos < 2) {
                return null;
            }
            Node list = exprlist('E');
            return type == null ? make(OTHER, 0, list) : make(OTHER, 0, type, list);
        }
        if (c == 'u') {
            pos++;
            Node name = sourceName();
            return name == null ? null : make(OTHER, 0, name, templateArgs1());
        }
        Node op = operatorName();
        if (op == null) {
            return null;
        }
        String code = op.type == OPERATOR ? op.code : null;
        if ("st".equals(code)) {
            return make(OTHER, 0, op, type());
        }
        switch (arity(op)) {
            case 0 -> {
                return make(OTHER, 0, op);
            }
            case 1 -> {
                boolean suffix = false;
                if (code != null && (code.equals("pp") || code.equals("mm"))) {
                    suffix = !check('_');
                }
                Node operand;
                if (op.type != OPERATOR && "cv".equals(op.code) && check('_')) {
                    operand = exprlist('E');
                } else if ("sP".equals(code)) {
                    operand = templateArgs1();
                } else {
                    operand = subExpression();
                }
                if (suffix && operand != null) {
                    operand = make(OTHER, 0, operand, operand);
                }
                return make(OTHER, 0, op, operand);
            }
            case 2 -> {
                if (code == null) {
                    return null;
                }
                Node left;
                if (code.charAt(1) == 'c' && "sdcr".indexOf(code.charAt(0)) >= 0) {
                    left = type();
                } else if (code.charAt(0) == 'f') {
                    left = operatorName();
                } else if (code.equals("di")) {
                    left = unqualifiedName(null);
                } else {
                    left = subExpression();
                }
                Node right;
                if (code.equals("cl")) {
                    right = exprlist('E');
                } else if (code.equals("dt") || code.equals("pt")) {
                    int p = peek();
                    int q = peekNext();
                    if ((p == 'g' && q == 's') || (p == 's' && q == 'r')) {
                        right = subExpression();
                    } else {
                        right = unqualifiedName(null);
                        if (right != null && peek() == 'I') {
                            right = make(TEMPLATE, 0, right, templateArgs());
                        }
                    }
                } else {
                    right = subExpression();
                }
                return make(OTHER, 0, op, make(OTHER, 0, left, right));
            }
            case 3 -> {
                if (code == null) {
                    return null;
                }
                Node first;
                Node second;
                Node third;
                if (code.equals("qu") || code.equals("dX")) {
                    first = subExpression();
                    second = subExpression();
                    third = subExpression();
                    if (third == null) {
                        return null;
                    }
                } else if (code.charAt(0) == 'f') {
                    first = operatorName();
                    second = subExpression();
                    third = subExpression();
                    if (third == null) {
                        return null;
                    }
                } else if (code.charAt(0) == 'n') {
                    if (code.charAt(1) != 'w' && code.charAt(1) != 'a') {
                        return null;
                    }
                    first = exprlist('_');
                    second = type();
                    if (check('E')) {
                        third = null;
                    } else if (peek() == 'p' && peekNext() == 'i') {
                        pos += 2;
                        third = exprlist('E'); // a failed initializer is left out, as libiberty does
                    } else if (peek() == 'i' && peekNext() == 'l') {
                        third = subExpression();
                    } else {
                        return null;
                    }
                } else {
                    return null;
                }
                if (first == null || second == null) {
                    return null;
                }
                Node args = third == null ? make(OTHER, 0, first, second) : make(OTHER, 0, first, second, third);
                return make(OTHER, 0, op, args);
            }
            default -> {
                return null;
            }
        }
    }

    // <expr-primary> ::= L <type> <value> E | L <mangled-name> E
    private Node exprPrimary() {
        if (!check('L')) {
            return null;
        }
        Node ret;
        if (peek() == '_' || peek() == 'Z') {
            enter();
            try {
                ret = mangledName(false);
            } finally {
                level--;
            }
        } else {
            Node type = type();
            if (type == null) {
                return null;
            }
            if (type.type == NULLPTR_TYPE && check('E')) {
                return type;
            }
            check('n');
            int start = pos;
            while (peek() != 'E') {
                if (peek() == 0) {
                    return null;
                }
                pos++;
            }
            if (pos == start) {
                return null; // libiberty makes no name of no characters
            }
            ret = make(OTHER, 0, type, make(NAME, pos - start));
        }
        return check('E') ? ret : null;
    }

    // <local-name> ::= Z <encoding> E <name> [<discriminator>] | Z <encoding> E s [<discriminator>]
    //          | Z <encoding> E d [<number>] _ <name>
    private Node localName() {
        if (!check('Z')) {
            return null;
        }
        Node function = encoding(false);
        if (function == null || !check('E')) {
            return null;
        }
        Node name;
        if (check('s')) {
            if (!discriminator()) {
                return null;
            }
            name = make(NAME, 14);
        } else {
            int num = -1;
            if (check('d')) {
                num = compactNumber();
                if (num < 0) {
                    return null;
                }
            }
            name = name(false);
            if (name != null && name.type != LAMBDA && name.type != UNNAMED && !discriminator()) {
                return null;
            }
            if (num >= 0) {
                name = make(DEFAULT_ARG, 0, name);
            }
        }
        return make(LOCAL, 0, function, name);
    }

    private boolean discriminator() {
        if (!check('_')) {
            return true;
        }
        boolean two = check('_');
        int discrim = number();
        if (discrim < 0) {
            return false;
        }
        if (two && discrim >= 10) {
            return check('_');
        }
        return true;
    }

    // <closure-type-name> ::= Ul <lambda-sig> E [<number>] _
    private Node lambda() {
        pos += 2;
        if (peek() == 'T' && "yntp".indexOf(peekNext()) >= 0) {
            return null; // an explicit template head: newer than some libiberty versions
        }
        Node params = parmlist();
        if (params == null || !check('E')) {
            return null;
        }
        int start = pos;
        if (compactNumber() < 0) {
            return null;
        }
        return make(LAMBDA, pos - start, params);
    }

    // <unnamed-type-name> ::= Ut [<number>] _
    private Node unnamedType() {
        pos += 2;
        int start = pos;
        if (compactNumber() < 0) {
            return null;
        }
        Node ret = make(UNNAMED, pos - start);
        return addSub(ret) ? ret : null;
    }

    // <substitution> ::= S <seq-id> _ | S_ | St | Sa | Sb | Ss | Si | So | Sd
    private Node substitution(boolean prefix) {
        if (!check('S')) {
            return null;
        }
        int c = next();
        if (c == '_' || digit(c) || upper(c)) {
            long id = 0;
            if (c != '_') {
                do {
                    if (digit(c)) {
                        id = id * 36 + c - '0';
                    } else if (upper(c)) {
                        id = id * 36 + c - 'A' + 10;
                    } else {
                        return null;
                    }
                    if (id > Integer.MAX_VALUE) {
                        return null;
                    }
                    c = next();
                } while (c != '_');
                id++;
            }
            return id < subs.size() ? subs.get((int) id) : null;
        }
        if ("tabsiod".indexOf(c) < 0 || c == 0) {
            return null;
        }
        if (c != 't') {
            lastName = make(NAME, 14);
        }
        Node dc = make(NAME, 0);
        if (peek() == 'B') {
            dc = abiTags(dc);
            if (!addSub(dc)) {
                return null;
            }
        }
        return dc;
    }
}
