package io.goscope.platform.cli;

import java.io.PrintStream;
import java.util.Arrays;

/** Entry point of {@code bin/goscope}: {@code agent}, {@code demo}, {@code inspect}. */
public final class Main {
  private Main() {}

  public static void main(String[] args) {
    JulToSlf4j.install();
    int code = run(args, System.out, System.err);
    // The CLI is the one place allowed to set the exit status.
    System.exit(code);
  }

  static int run(String[] args, PrintStream out, PrintStream err) {
    if (args.length == 0) {
      usage(err);
      return 2;
    }
    String[] rest = Arrays.copyOfRange(args, 1, args.length);
    try {
      return switch (args[0]) {
        case "agent" -> AgentCommand.run(rest, out, err);
        case "demo" -> DemoCommand.run(rest, out, err);
        case "inspect" -> InspectCommand.run(rest, out, err);
        case "-h", "--help", "help" -> {
          usage(out);
          yield 0;
        }
        default -> {
          err.println("goscope: unknown command '" + args[0] + "'");
          usage(err);
          yield 2;
        }
      };
    } catch (RuntimeException | java.io.IOException e) {
      err.println("goscope " + args[0] + ": " + e.getMessage());
      return 1;
    }
  }

  private static void usage(PrintStream s) {
    s.println("usage: goscope <command>");
    s.println("  agent                      run the node agent (GO_APPS, GOSCOPE_RULES_DIR, OTEL_* configure it)");
    s.println("  demo                       build-free demo: trace the bundled Go server, print spans");
    s.println("  inspect <path|pid> [--json] report what Goscope would attach in a Go binary, and why");
  }
}
