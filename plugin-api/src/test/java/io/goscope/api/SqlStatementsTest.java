package io.goscope.api;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;

import io.goscope.api.SqlStatements.Dialect;
import io.goscope.api.SqlStatements.QueryTextMode;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.api.Test;

class SqlStatementsTest {

  private static String pg(String sql) {
    return SqlStatements.sanitize(sql, Dialect.POSTGRESQL);
  }

  private static String my(String sql) {
    return SqlStatements.sanitize(sql, Dialect.MYSQL);
  }

  private static String lite(String sql) {
    return SqlStatements.sanitize(sql, Dialect.SQLITE);
  }

  @Test
  void stringsAndNumbersBecomeQuestionMarks() {
    assertEquals("SELECT id, name FROM items WHERE name = ? OR id IN (?) ORDER BY id",
        pg("SELECT id, name FROM items WHERE name = 'select-secret-7f3a' OR id IN (1, 2, 3) ORDER BY id"));
    assertEquals("INSERT INTO items (id, name) VALUES (?, ?)",
        pg("INSERT INTO items (id, name) VALUES (1000, 'commit-secret')"));
    assertEquals("UPDATE t SET a = ?, b = ? WHERE c = ?", my("UPDATE t SET a = 1.5, b = 'y' WHERE c = 'x'"));
  }

  @Test
  void quotesWithEscapes() {
    assertEquals("SELECT ?", pg("SELECT 'it''s'"));
    assertEquals("SELECT ? , x", pg("SELECT 'C:\\' , x")); // standard strings: the backslash is a character
    assertEquals("SELECT ?", my("SELECT 'it\\'s secret'"));
    assertEquals("SELECT ?, ?", my("SELECT 'a\\\\', 'b'"));
    assertEquals("SELECT ?", pg("SELECT E'it\\'s secret'"));
    assertEquals("SELECT ?", my("SELECT \"double quoted secret\""));
    assertEquals("SELECT \"Name\" FROM \"Items\"", pg("SELECT \"Name\" FROM \"Items\""));
    assertEquals("SELECT `name` FROM `items` WHERE a = ?", my("SELECT `name` FROM `items` WHERE a = 'secret'"));
    assertEquals("SELECT [name] FROM items WHERE a = ?", lite("SELECT [name] FROM items WHERE a = 'x'"));
  }

  @Test
  void unknownDialectTrustsNeitherBackslashNorDoubleQuotes() {
    String mysqlStyle = "SELECT 'it\\'s', 'secret' FROM t";
    String pgStyle = "SELECT 'C:\\' , 'secret' FROM t";
    for (String sql : List.of(mysqlStyle, pgStyle)) {
      String s = SqlStatements.sanitize(sql, Dialect.OTHER);
      assertFalse(s.contains("secret"), sql + " -> " + s);
    }
    assertEquals("SELECT ? FROM t WHERE a = ?", SqlStatements.sanitize("SELECT \"x\" FROM t WHERE a = 'b'",
        Dialect.OTHER));
  }

  @Test
  void prefixedStrings() {
    assertEquals("SELECT ?, ?, ?, ?, ?", pg("SELECT B'0101', X'ff', N'nat', U&'d\\0061t', e'esc'"));
    assertEquals("SELECT ?", my("SELECT _utf8mb4'secret'"));
  }

  @Test
  void dollarQuoting() {
    assertEquals("SELECT ?", pg("SELECT $$secret$$"));
    assertEquals("SELECT ?, x", pg("SELECT $fn$ body 'with' $$ inner $fn$, x"));
    assertEquals("SELECT * FROM t WHERE a = $1 AND b = $2", pg("SELECT * FROM t WHERE a = $1 AND b = $2"));
    assertEquals("SELECT ?", pg("SELECT $tag$never closed secret"));
  }

  @Test
  void numbers() {
    assertEquals("SELECT ?, ?, ?, ?, ?, ?, ?", my("SELECT 42, 3.14, .5, 1e10, 1.5E-3, 0x1F, 0b101"));
    assertEquals("SELECT t1.c2 FROM t3", pg("SELECT t1.c2 FROM t3"));
    assertEquals("SELECT ?1, :name, @p1", lite("SELECT ?1, :name, @p1"));
    assertEquals("SELECT a-?", pg("SELECT a-5"));
  }

  @Test
  void commentsAreRemoved() {
    assertEquals("SELECT a \nFROM t", pg("SELECT a -- user='secret'\nFROM t"));
    assertEquals("SELECT a FROM t", pg("SELECT a /* tag='secret' */FROM t"));
    assertEquals("SELECT a FROM t", pg("SELECT a /* outer /* nested 'secret' */ still */FROM t"));
    assertEquals("SELECT a ", my("SELECT a # secret"));
    assertEquals("SELECT a ", pg("SELECT a /* never closed 'secret'"));
  }

  @Test
  void inListsCollapse() {
    assertEquals("SELECT * FROM t WHERE a IN (?)", pg("SELECT * FROM t WHERE a IN ('x', 'y', 'z')"));
    assertEquals("SELECT * FROM t WHERE a in (?)", pg("SELECT * FROM t WHERE a in (-1,2 , 3)"));
    assertEquals("SELECT * FROM t WHERE a IN ($1, $2)", pg("SELECT * FROM t WHERE a IN ($1, $2)"));
    assertEquals("SELECT * FROM t WHERE a IN (SELECT b FROM u WHERE c = ?)",
        pg("SELECT * FROM t WHERE a IN (SELECT b FROM u WHERE c = 5)"));
    assertEquals("SELECT * FROM t WHERE a IN (?", pg("SELECT * FROM t WHERE a IN (1, 2, 3")); // truncated
    assertEquals("SELECT * FROM t WHERE login IN (?)", pg("SELECT * FROM t WHERE login IN (?)"));
  }

  @Test
  void truncatedLiteralsNeverLeak() {
    for (String cut : List.of("SELECT 'secr", "SELECT \"secr", "SELECT E'secr\\'", "SELECT $$secr")) {
      String s = my(cut) + pg(cut) + lite(cut);
      assertFalse(s.contains("secr") && !cut.startsWith("SELECT \""), cut + " -> " + s);
    }
    assertEquals("SELECT ?", my("SELECT \"secr"));
  }

  @ParameterizedTest
  @CsvSource(delimiter = '|', value = {
      "SELECT a FROM items WHERE b = 1            | SELECT  | items",
      "select a from public.items                 | SELECT  | public.items",
      "SELECT a FROM \"Items\" i JOIN b ON 1      | SELECT  | \"Items\"",
      "SELECT a FROM (SELECT 1) s                 | SELECT  |",
      "SELECT 1                                   | SELECT  |",
      "INSERT INTO items (id) VALUES (1)          | INSERT  | items",
      "UPDATE ONLY items SET a = 1                | UPDATE  | items",
      "update `items` set a = 1                   | UPDATE  | `items`",
      "DELETE FROM items WHERE id = 1             | DELETE  | items",
      "CREATE TABLE IF NOT EXISTS items (id int)  | CREATE  | items",
      "DROP TABLE IF EXISTS items                 | DROP    | items",
      "/* c */ (SELECT a FROM t)                  | SELECT  | t",
      "WITH x AS (SELECT 1), y AS (SELECT 2) SELECT * FROM x | SELECT | x",
      "BEGIN                                      | BEGIN   |",
      "SELEC name FROM items                      | SELEC   |",
  })
  void operationAndCollection(String sql, String operation, String collection) {
    assertEquals(operation, SqlStatements.operationName(sql));
    assertEquals(collection, SqlStatements.collectionName(sql));
  }

  @Test
  void noOperationForNonWords() {
    assertNull(SqlStatements.operationName("  "));
    assertNull(SqlStatements.operationName("'x'"));
    assertEquals("SELECT items", SqlStatements.spanName("SELECT", "items", "postgresql"));
    assertEquals("postgresql", SqlStatements.spanName(null, null, "postgresql"));
  }

  @Test
  void queryTextModes() {
    assertEquals(QueryTextMode.SANITIZED, QueryTextMode.of((String) null));
    assertEquals(QueryTextMode.SANITIZED, QueryTextMode.of("sanitised-typo"));
    assertEquals(QueryTextMode.OFF, QueryTextMode.of("off"));
    assertEquals(QueryTextMode.RAW, QueryTextMode.of("RAW"));
    assertEquals(QueryTextMode.SANITIZED, QueryTextMode.of(TracedProcess.UNKNOWN));
    TracedProcess raw = new TracedProcess() {
      @Override
      public int pid() {
        return 1;
      }

      @Override
      public String option(String key, String defaultValue) {
        return key.equals("db.query.text") ? "raw" : defaultValue;
      }

      @Override
      public Optional<String> goTypeName(long typeAddress) {
        return Optional.empty();
      }
    };
    assertEquals(QueryTextMode.RAW, QueryTextMode.of(raw));
    assertEquals(Dialect.POSTGRESQL, Dialect.ofSystem("postgresql"));
    assertEquals(Dialect.OTHER, Dialect.ofSystem("other_sql"));
  }
}
