package io.goscope.platform.cli;

import io.goscope.platform.logging.LogSettings;
import java.io.PrintStream;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.slf4j.event.Level;

/**
 * Entry point of {@code bin/goscope}: {@code agent}, {@code demo}, {@code inspect}, {@code doctor}. Reports go to
 * standard output and nothing else does; logs go to standard error: at INFO for the agent, at WARN for the other
 * commands, one level more verbose per {@code -v} ({@code GOSCOPE_LOG_LEVEL} sets it outright).
 */
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
    List<String> rest = new ArrayList<>(Arrays.asList(args).subList(1, args.length));
    int verbosity = 0;
    for (var it = rest.iterator(); it.hasNext(); ) {
      String a = it.next();
      if (a.equals("-v") || a.equals("--verbose")) {
        verbosity++;
        it.remove();
      } else if (a.equals("-vv")) {
        verbosity += 2;
        it.remove();
      }
    }
    configureLogging(args[0], verbosity);
    String[] restArgs = rest.toArray(String[]::new);
    try {
      return switch (args[0]) {
        case "agent" -> AgentCommand.run(restArgs, out, err);
        case "demo" -> DemoCommand.run(restArgs, out, err);
        case "inspect" -> InspectCommand.run(restArgs, out, err);
        case "doctor" -> DoctorCommand.run(restArgs, out, err);
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

  /** The agent logs at INFO, the report commands at WARN; each -v one level more. GOSCOPE_LOG_LEVEL wins. */
  static void configureLogging(String command, int verbosity) {
    if (LogSettings.levelConfigured() && verbosity == 0) {
      return;
    }
    Level[] levels = {Level.WARN, Level.INFO, Level.DEBUG, Level.TRACE};
    int base = command.equals("agent") ? 1 : 0;
    LogSettings.setLevel(levels[Math.min(levels.length - 1, base + verbosity)]);
  }

  private static void usage(PrintStream s) {
    s.println("usage: goscope <command> [-v]");
    s.println("  agent                       run the node agent (GO_APPS, GOSCOPE_RULES_DIR, OTEL_* configure it)");
    s.println("  demo                        trace two bundled Go services (front calls back), print trace trees");
    s.println("  inspect <path|pid> [--json] report what Goscope would attach in a Go binary, and why");
    s.println("  doctor [--json]             check this node: kernel, BPF, capabilities, mounts, OTLP endpoint");
    s.println("  -v                          more log output on standard error (repeatable)");
  }
}
