package io.goscope.platform.instrument;

import static org.junit.jupiter.api.Assertions.assertTrue;

import io.goscope.platform.gobinary.FieldResolver;
import io.goscope.testing.GoBuilder;
import java.nio.file.Path;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The analysis names a binary's database/sql driver types (implementations of {@code driver.Connector} and
 * {@code driver.Driver}) beside its error types, so the databasesql probe set can tell the database from the DB's
 * connector: a driver with a connector ({@code driver.DriverContext}), a driver without one (database/sql wraps it in
 * its {@code dsnConnector}), and an error type.
 */
class BinaryAnalyzerDriverTypesTest {
  private static final String PROGRAM = """
      package main

      import (
      	"context"
      	"database/sql"
      	"database/sql/driver"
      	"fmt"
      )

      type fakeError struct{}

      func (*fakeError) Error() string { return "fake" }

      type fakeDriver struct{}

      func (fakeDriver) Open(string) (driver.Conn, error) { return nil, &fakeError{} }

      func (d fakeDriver) OpenConnector(string) (driver.Connector, error) { return &fakeConnector{d}, nil }

      type fakeConnector struct{ d fakeDriver }

      func (c *fakeConnector) Connect(context.Context) (driver.Conn, error) { return nil, &fakeError{} }

      func (c *fakeConnector) Driver() driver.Driver { return c.d }

      type plainDriver struct{}

      func (*plainDriver) Open(string) (driver.Conn, error) { return nil, &fakeError{} }

      func main() {
      	sql.Register("fake", fakeDriver{})
      	sql.Register("plain", &plainDriver{})
      	a, _ := sql.Open("fake", "")
      	b, _ := sql.Open("plain", "")
      	fmt.Println(a.Ping(), b.Ping())
      }
      """;

  @TempDir Path dir;

  @Test
  void driverConnectorAndDriverTypesAreNamed() throws Exception {
    Assumptions.assumeTrue(GoBuilder.goAvailable() || "true".equals(System.getenv("CI")), "no go toolchain");
    for (List<String> flags : List.of(List.<String>of(), List.of("-ldflags=-s -w"))) {
      Path bin = GoBuilder.build(PROGRAM, dir.resolve("drivers" + flags.size()), flags,
          Map.of("CGO_ENABLED", "0"));
      BinaryAnalyzer analyzer = new BinaryAnalyzer(new ProbePlanner(new FieldResolver(List.of(), null)), List.of(),
          4);
      Collection<String> names = analyzer.analyze(bin, new BinaryAnalyzer.FileKey(1, flags.size(), 1))
          .errorTypes().values();
      for (String expected : List.of("*main.fakeConnector", "main.fakeDriver", "*main.plainDriver",
          "sql.dsnConnector", "*main.fakeError")) {
        assertTrue(names.contains(expected), expected + " named in " + bin + " " + flags + ": " + names);
      }
    }
  }
}
