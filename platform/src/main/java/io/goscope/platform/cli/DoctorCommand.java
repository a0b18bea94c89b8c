package io.goscope.platform.cli;

import io.goscope.platform.agent.AgentConfig;
import io.goscope.platform.doctor.CheckResult;
import io.goscope.platform.doctor.Doctor;
import java.io.PrintStream;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * {@code goscope doctor [--json]}: checks this node the way the agent would use it and prints a pass/warn/fail
 * table, each failure with its fix. Exits 1 when a check failed, 0 otherwise (warnings included).
 */
final class DoctorCommand {
  private DoctorCommand() {}

  static int run(String[] args, PrintStream out, PrintStream err) {
    boolean json = false;
    for (String a : args) {
      if (a.equals("--json")) {
        json = true;
      } else {
        err.println("goscope doctor: unexpected argument " + a);
        err.println("usage: goscope doctor [--json]");
        return 2;
      }
    }
    List<CheckResult> results = new Doctor(AgentConfig.fromEnvironment()).run();
    boolean failed = Doctor.anyFailed(results);
    if (json) {
      Map<String, Object> report = new LinkedHashMap<>();
      report.put("ok", !failed);
      report.put("checks", Doctor.asMaps(results));
      out.println(JsonWriter.write(report));
    } else {
      out.print(Doctor.table(results));
    }
    out.flush();
    return failed ? 1 : 0;
  }
}
