package io.goscope.api;

import static java.util.Objects.requireNonNull;

import java.util.Locale;
import java.util.Set;

/**
 * What the database semantic conventions ask of SQL text, for the probe sets of SQL clients (database/sql, pgx, ...):
 * the sanitized {@code db.query.text}, {@code db.operation.name} and {@code db.collection.name}. Pure and
 * thread-safe; the text may be a truncated prefix of the statement (BPF copies a bounded prefix), so an unterminated
 * literal or comment runs to the end of the text and is replaced all the same.
 *
 * <p>Sanitizing replaces every literal with {@code ?}: quoted strings (with {@code ''} doubling, and backslash escapes
 * where the dialect has them), PostgreSQL dollar-quoted strings ({@code $$...$$}, {@code $tag$...$tag$}) and
 * {@code E''}, {@code B''}, {@code X''}, {@code N''}, {@code U&''} strings, numbers (integers, decimals, exponents,
 * {@code 0x} hex), and MySQL's double-quoted strings. Comments are removed (they may carry values, e.g. tags a
 * library appends). A parenthesised list of nothing but literals after {@code IN} collapses to {@code (?)}, so the
 * text does not change with the list's length. Identifiers (also quoted ones), keywords and bind parameters
 * ({@code $1}, {@code ?}, {@code :name}, {@code @p1}) stay. It errs towards removing: what it cannot classify as an
 * identifier, keyword or operator never survives as a literal.
 *
 * <p>The same kind of helper lives in OpenTelemetry Java's instrumentation API ({@code SqlStatementSanitizer}), shared
 * by every SQL client instrumentation; here it is shared by every SQL probe set through the plugin API.
 */
@Unstable
public final class SqlStatements {

  /** SQL dialects differ in what a quote or a backslash means. */
  public enum Dialect {
    /** PostgreSQL: standard strings (backslash is literal) except {@code E''}; dollar quoting; "identifiers". */
    POSTGRESQL,
    /** MySQL and MariaDB: backslash escapes in strings; {@code "..."} is a string; `identifiers`; {@code #} comments. */
    MYSQL,
    /** SQLite: standard strings; "identifiers", `identifiers` and [identifiers]. */
    SQLITE,
    /**
     * Anything else (also a driver that could not be told): ANSI SQL, except that nothing is trusted to be only an
     * identifier or a standard string where dialects disagree: {@code "..."} is replaced like a string, and a quoted
     * string holding a backslash (an escape in MySQL, a character elsewhere) is replaced up to the end of the text.
     */
    OTHER;

    /** The dialect of a {@code db.system.name} value. */
    public static Dialect ofSystem(String dbSystemName) {
      return switch (dbSystemName == null ? "" : dbSystemName) {
        case "postgresql", "cockroachdb" -> POSTGRESQL;
        case "mysql", "mariadb" -> MYSQL;
        case "sqlite" -> SQLITE;
        default -> OTHER;
      };
    }
  }

  /** How {@code db.query.text} is reported, from the rule option {@value #QUERY_TEXT_OPTION}. */
  public enum QueryTextMode {
    /** Literals replaced by {@code ?} (the default). */
    SANITIZED,
    /** No {@code db.query.text} at all. */
    OFF,
    /** The text as the application sent it; only when a rule asks for it explicitly. */
    RAW;

    /**
     * The mode a rule option value asks for: {@code off} and {@code raw} (any case); anything else, including a
     * missing or misspelt value, is {@link #SANITIZED}, so a typo never sends literals.
     */
    public static QueryTextMode of(@Nullable String option) {
      if (option == null) {
        return SANITIZED;
      }
      return switch (option.strip().toLowerCase(Locale.ROOT)) {
        case "off", "none", "false" -> OFF;
        case "raw" -> RAW;
        default -> SANITIZED;
      };
    }

    /** The mode of a traced process's rule ({@code options.probeOptions."db.query.text"}). */
    public static QueryTextMode of(TracedProcess process) {
      return of(process.option(QUERY_TEXT_OPTION, "sanitized"));
    }
  }

  /** The rule option ({@code options.probeOptions}) that sets the {@link QueryTextMode}. */
  public static final String QUERY_TEXT_OPTION = "db.query.text";

  private static final Set<String> OPERATIONS_WITH_FROM = Set.of("SELECT", "DELETE");

  private SqlStatements() {}

  /** {@code text} with every literal replaced by {@code ?} and comments removed; see the class documentation. */
  public static String sanitize(String text, Dialect dialect) {
    requireNonNull(text, "text");
    requireNonNull(dialect, "dialect");
    StringBuilder out = new StringBuilder(text.length());
    int n = text.length();
    int i = 0;
    while (i < n) {
      char c = text.charAt(i);
      char next = i + 1 < n ? text.charAt(i + 1) : 0;
      if (c == '-' && next == '-' || c == '#' && dialect == Dialect.MYSQL) {
        int end = text.indexOf('\n', i);
        i = end < 0 ? n : end; // the newline stays
        continue;
      }
      if (c == '/' && next == '*') {
        i = skipBlockComment(text, i, dialect == Dialect.POSTGRESQL);
        space(out);
        continue;
      }
      if (c == '\'') {
        i = dialect == Dialect.OTHER ? skipQuotedUnsure(text, i) : skipQuoted(text, i, '\'', dialect == Dialect.MYSQL);
        out.append('?');
        continue;
      }
      if (c == '"') {
        if (dialect == Dialect.MYSQL || dialect == Dialect.OTHER) {
          i = skipQuoted(text, i, '"', true);
          out.append('?');
        } else {
          int end = skipQuoted(text, i, '"', false);
          out.append(text, i, end);
          i = end;
        }
        continue;
      }
      if (c == '`' && dialect != Dialect.POSTGRESQL) {
        int end = skipQuoted(text, i, '`', false);
        out.append(text, i, end);
        i = end;
        continue;
      }
      if (c == '[' && dialect == Dialect.SQLITE) {
        int end = text.indexOf(']', i);
        end = end < 0 ? n : end + 1;
        out.append(text, i, end);
        i = end;
        continue;
      }
      if (c == '$') {
        int end = dollarQuoteEnd(text, i);
        if (end > 0) {
          out.append('?');
          i = end;
          continue;
        }
        // $1 parameters (and anything else) stay: copy the $ and its identifier characters
        int j = i + 1;
        while (j < n && isIdentPart(text.charAt(j))) {
          j++;
        }
        out.append(text, i, j);
        i = j;
        continue;
      }
      if (isIdentStart(c)) {
        int j = i + 1;
        while (j < n && (isIdentPart(text.charAt(j)) || text.charAt(j) == '$')) {
          j++;
        }
        // String prefixes: E'..', B'..', X'..', N'..', U&'..' (and lowercase), glued to the quote.
        if (j < n && text.charAt(j) == '\'' && isStringPrefix(text, i, j)) {
          boolean escapes = dialect == Dialect.MYSQL
              || dialect == Dialect.POSTGRESQL && (text.charAt(i) == 'e' || text.charAt(i) == 'E');
          i = skipQuoted(text, j, '\'', escapes);
          out.append('?');
          continue;
        }
        if (j + 1 < n && text.charAt(j) == '&' && text.charAt(j + 1) == '\'' && j - i == 1
            && (c == 'U' || c == 'u')) {
          i = skipQuoted(text, j + 1, '\'', false);
          out.append('?');
          continue;
        }
        out.append(text, i, j);
        i = j;
        continue;
      }
      if (isDigit(c) || c == '.' && isDigit(next)) {
        // Bind parameters like ?1, :1 and @p1 keep their digits: the character before tells.
        char before = i > 0 ? text.charAt(i - 1) : 0;
        if (before == '?' || before == ':' || before == '@') {
          int j = i;
          while (j < n && isIdentPart(text.charAt(j))) {
            j++;
          }
          out.append(text, i, j);
          i = j;
          continue;
        }
        i = skipNumber(text, i);
        out.append('?');
        continue;
      }
      out.append(c);
      i++;
    }
    return collapseInLists(out.toString());
  }

  /**
   * {@code db.operation.name}: the statement's first keyword in upper case ({@code SELECT}, {@code INSERT}, ...), or
   * null when the text does not start with a word. A {@code WITH} query is named by the statement after its common
   * table expressions when that can be found.
   */
  @Nullable
  public static String operationName(String text) {
    Tokens t = new Tokens(text);
    String word = t.nextWord();
    if (word == null) {
      return null;
    }
    String op = word.toUpperCase(Locale.ROOT);
    if (op.equals("WITH")) {
      String main = t.mainStatementAfterWith();
      return main != null ? main : op;
    }
    return op;
  }

  /**
   * {@code db.collection.name}: the first table the statement names, as written (schema prefix and quotes kept), for
   * SELECT/DELETE ({@code FROM}), INSERT/REPLACE ({@code INTO}), UPDATE, and CREATE/DROP/ALTER/TRUNCATE TABLE; null
   * otherwise, or when the first source is a subquery.
   */
  @Nullable
  public static String collectionName(String text) {
    String op = operationName(text);
    if (op == null) {
      return null;
    }
    Tokens t = new Tokens(text);
    t.nextWord(); // past leading parentheses and comments, which skipToKeyword would count as nesting
    switch (op) {
      case "SELECT", "DELETE" -> {
        if (!t.skipToKeyword("FROM")) {
          return null;
        }
        return t.nextIdentifier();
      }
      case "INSERT", "REPLACE" -> {
        if (!t.skipToKeyword("INTO")) {
          return null;
        }
        return t.nextIdentifier();
      }
      case "UPDATE" -> {
        String id = t.nextIdentifier();
        if (id != null && id.equalsIgnoreCase("ONLY")) {
          id = t.nextIdentifier();
        }
        return id;
      }
      case "CREATE", "DROP", "ALTER", "TRUNCATE" -> {
        if (!t.skipToKeyword("TABLE")) {
          return null;
        }
        String id = t.nextIdentifier();
        while (id != null && (id.equalsIgnoreCase("IF") || id.equalsIgnoreCase("NOT")
            || id.equalsIgnoreCase("EXISTS") || id.equalsIgnoreCase("ONLY"))) {
          id = t.nextIdentifier();
        }
        return id;
      }
      default -> {
        return null;
      }
    }
  }

  /**
   * The span name the conventions ask for: {@code {db.operation.name} {db.collection.name}}, or the operation alone,
   * or {@code fallback} (the namespace or the system name) when there is no operation.
   */
  public static String spanName(@Nullable String operation, @Nullable String collection, String fallback) {
    if (operation == null) {
      return fallback;
    }
    return collection == null ? operation : operation + " " + collection;
  }

  // ---- scanning -------------------------------------------------------------------------------------------------

  private static void space(StringBuilder out) {
    if (out.length() > 0 && !Character.isWhitespace(out.charAt(out.length() - 1))) {
      out.append(' ');
    }
  }

  /** The index after the block comment starting at {@code from}; PostgreSQL nests them. */
  private static int skipBlockComment(String s, int from, boolean nested) {
    int depth = 0;
    int i = from;
    while (i < s.length()) {
      if (s.startsWith("/*", i)) {
        depth = nested ? depth + 1 : 1;
        i += 2;
      } else if (s.startsWith("*/", i)) {
        depth--;
        i += 2;
        if (depth == 0) {
          return i;
        }
      } else {
        i++;
      }
    }
    return s.length();
  }

  /** The index after the quoted run starting at {@code from} (a doubled quote continues it); the end if open. */
  private static int skipQuoted(String s, int from, char quote, boolean backslashEscapes) {
    int i = from + 1;
    while (i < s.length()) {
      char c = s.charAt(i);
      if (backslashEscapes && c == '\\') {
        i += 2;
        continue;
      }
      if (c == quote) {
        if (i + 1 < s.length() && s.charAt(i + 1) == quote) {
          i += 2;
          continue;
        }
        return i + 1;
      }
      i++;
    }
    return s.length();
  }

  /**
   * For an unknown dialect: the index after the quoted string at {@code from}, or the end of the text when the string
   * holds a backslash, whose meaning (escape or character) decides where the string ends.
   */
  private static int skipQuotedUnsure(String s, int from) {
    int end = skipQuoted(s, from, '\'', false);
    return s.substring(from, end).indexOf('\\') >= 0 ? s.length() : end;
  }

  /** If a dollar quote ({@code $$} or {@code $tag$}) starts at {@code from}: the index after its end; else -1. */
  private static int dollarQuoteEnd(String s, int from) {
    int j = from + 1;
    if (j < s.length() && isDigit(s.charAt(j))) {
      return -1; // $1: a parameter
    }
    while (j < s.length() && isIdentPart(s.charAt(j))) {
      j++;
    }
    if (j >= s.length() || s.charAt(j) != '$') {
      return -1;
    }
    String tag = s.substring(from, j + 1);
    int end = s.indexOf(tag, j + 1);
    return end < 0 ? s.length() : end + tag.length();
  }

  private static boolean isStringPrefix(String s, int start, int end) {
    String p = s.substring(start, end).toUpperCase(Locale.ROOT);
    return p.equals("E") || p.equals("B") || p.equals("X") || p.equals("N") || p.equals("_UTF8")
        || p.equals("_UTF8MB4") || p.equals("_BINARY") || p.equals("_LATIN1");
  }

  /** The index after the number starting at {@code from}: digits, a fraction, an exponent, or 0x/0b digits. */
  private static int skipNumber(String s, int from) {
    int n = s.length();
    int i = from;
    if (s.charAt(i) == '0' && i + 1 < n && (s.charAt(i + 1) == 'x' || s.charAt(i + 1) == 'X'
        || s.charAt(i + 1) == 'b' || s.charAt(i + 1) == 'B')) {
      i += 2;
    }
    while (i < n && (isIdentPart(s.charAt(i)) || s.charAt(i) == '.')) {
      char c = s.charAt(i);
      if ((c == 'e' || c == 'E') && i + 1 < n && (s.charAt(i + 1) == '+' || s.charAt(i + 1) == '-')) {
        i += 2;
        continue;
      }
      i++;
    }
    return i;
  }

  /** {@code IN (?, ?, ?)} (only literals, any spacing) becomes {@code IN (?)}. */
  private static String collapseInLists(String s) {
    StringBuilder out = new StringBuilder(s.length());
    int i = 0;
    int n = s.length();
    while (i < n) {
      if (isKeywordAt(s, i, "IN")) {
        int j = i + 2;
        while (j < n && Character.isWhitespace(s.charAt(j))) {
          j++;
        }
        if (j < n && s.charAt(j) == '(') {
          int k = j + 1;
          int literals = 0;
          boolean onlyLiterals = true;
          while (k < n && s.charAt(k) != ')') {
            char c = s.charAt(k);
            if (c == '?') {
              literals++;
            } else if (c != ',' && !Character.isWhitespace(c) && c != '-' && c != '+') {
              onlyLiterals = false;
              break;
            }
            k++;
          }
          if (onlyLiterals && literals > 0) {
            out.append(s, i, j).append("(?");
            if (k < n) {
              out.append(')');
              k++;
            }
            i = k;
            continue;
          }
        }
      }
      out.append(s.charAt(i));
      i++;
    }
    return out.toString();
  }

  private static boolean isKeywordAt(String s, int i, String keyword) {
    int end = i + keyword.length();
    if (end > s.length() || !s.regionMatches(true, i, keyword, 0, keyword.length())) {
      return false;
    }
    boolean startOk = i == 0 || !isIdentPart(s.charAt(i - 1)) && s.charAt(i - 1) != '"' && s.charAt(i - 1) != '`';
    boolean endOk = end == s.length() || !isIdentPart(s.charAt(end));
    return startOk && endOk;
  }

  private static boolean isDigit(char c) {
    return c >= '0' && c <= '9';
  }

  private static boolean isIdentStart(char c) {
    return Character.isLetter(c) || c == '_';
  }

  private static boolean isIdentPart(char c) {
    return Character.isLetterOrDigit(c) || c == '_';
  }

  /** A small tokenizer over SQL text for the operation and collection: skips comments and literals. */
  private static final class Tokens {
    private final String s;
    private int i;

    Tokens(String s) {
      this.s = requireNonNull(s, "text");
    }

    private void skipSpaceAndComments() {
      while (i < s.length()) {
        char c = s.charAt(i);
        if (Character.isWhitespace(c) || c == '(' || c == ';') {
          i++;
        } else if (s.startsWith("--", i) || c == '#') {
          int end = s.indexOf('\n', i);
          i = end < 0 ? s.length() : end + 1;
        } else if (s.startsWith("/*", i)) {
          i = skipBlockComment(s, i, true);
        } else {
          return;
        }
      }
    }

    /** The next bare word, or null when the next token is not one. */
    @Nullable
    String nextWord() {
      skipSpaceAndComments();
      if (i >= s.length() || !isIdentStart(s.charAt(i))) {
        return null;
      }
      int start = i;
      while (i < s.length() && isIdentPart(s.charAt(i))) {
        i++;
      }
      return s.substring(start, i);
    }

    /** Moves past the next top-level occurrence of {@code keyword}; false when there is none. */
    boolean skipToKeyword(String keyword) {
      int depth = 0;
      while (i < s.length()) {
        char c = s.charAt(i);
        if (c == '\'' || c == '"' || c == '`') {
          i = skipQuoted(s, i, c, false);
        } else if (s.startsWith("--", i)) {
          int end = s.indexOf('\n', i);
          i = end < 0 ? s.length() : end + 1;
        } else if (s.startsWith("/*", i)) {
          i = skipBlockComment(s, i, true);
        } else if (c == '(') {
          depth++;
          i++;
        } else if (c == ')') {
          depth = Math.max(0, depth - 1);
          i++;
        } else if (depth == 0 && isKeywordAt(s, i, keyword)) {
          i += keyword.length();
          return true;
        } else if (isIdentPart(c)) {
          while (i < s.length() && isIdentPart(s.charAt(i))) {
            i++;
          }
        } else {
          i++;
        }
      }
      return false;
    }

    /** The next (possibly qualified, possibly quoted) identifier as written; null for a subquery or nothing. */
    @Nullable
    String nextIdentifier() {
      while (i < s.length() && Character.isWhitespace(s.charAt(i))) {
        i++;
      }
      int start = i;
      while (i < s.length()) {
        char c = s.charAt(i);
        if (c == '"' || c == '`') {
          i = skipQuoted(s, i, c, false);
        } else if (c == '[') {
          int end = s.indexOf(']', i);
          i = end < 0 ? s.length() : end + 1;
        } else if (isIdentPart(c) || c == '$') {
          i++;
        } else {
          break;
        }
        if (i < s.length() && s.charAt(i) == '.') {
          i++;
        } else if (i < s.length() && !isIdentPart(s.charAt(i)) && s.charAt(i) != '$') {
          break;
        }
      }
      return i > start ? s.substring(start, i) : null;
    }

    /** After WITH: skips the CTE definitions (name [(cols)] AS (...), ...) and returns the main statement's word. */
    @Nullable
    String mainStatementAfterWith() {
      int depth = 0;
      while (i < s.length()) {
        char c = s.charAt(i);
        if (c == '\'' || c == '"' || c == '`') {
          i = skipQuoted(s, i, c, false);
          continue;
        }
        if (c == '(') {
          depth++;
        } else if (c == ')') {
          depth--;
          if (depth == 0) {
            i++;
            int save = i;
            while (i < s.length() && Character.isWhitespace(s.charAt(i))) {
              i++;
            }
            if (i < s.length() && s.charAt(i) == ',') {
              i++;
              continue;
            }
            i = save;
            String word = nextWord();
            if (word != null && !word.equalsIgnoreCase("AS")) {
              return word.toUpperCase(Locale.ROOT);
            }
            continue;
          }
        }
        i++;
      }
      return null;
    }
  }
}
