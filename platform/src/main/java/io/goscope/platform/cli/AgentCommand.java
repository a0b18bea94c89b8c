package io.goscope.platform.cli;

import io.goscope.platform.agent.Agent;
import io.goscope.platform.agent.AgentConfig;
import io.goscope.platform.doctor.CheckResult;
import io.goscope.platform.doctor.Doctor;
import java.io.PrintStream;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import sun.misc.Signal;

/**
 * {@code goscope agent}: runs the doctor's checks (refusing to start, with the table on standard error, when a
 * required one fails), starts the admin endpoint and the agent, and runs until SIGTERM or SIGINT; then stops
 * attaching, detaches everything, flushes the export queues within {@code GOSCOPE_SHUTDOWN_TIMEOUT} and exits 0.
 */
final class AgentCommand {
  private static final Logger log = LoggerFactory.getLogger(AgentCommand.class);

  private AgentCommand() {}

  static int run(String[] args, PrintStream out, PrintStream err) {
    if (args.length > 0) {
      err.println("goscope agent takes no arguments (but -v); configure it with environment variables");
      return 2;
    }
    AgentConfig config = AgentConfig.fromEnvironment();
    List<CheckResult> checks = new Doctor(config).run();
    if (Doctor.requiredFailed(checks)) {
      err.println("goscope agent: not starting, a required check failed:");
      err.print(Doctor.table(checks));
      err.flush();
      return 1;
    }
    for (CheckResult c : checks) {
      if (c.status() != CheckResult.Status.PASS) {
        log.warn("doctor check={} status={} detail=\"{}\" fix=\"{}\"", c.name(), c.status(), c.detail(), c.fix());
      }
    }
    Agent agent = Agent.create(config, List.of());
    CountDownLatch stop = new CountDownLatch(1);
    Signal.handle(new Signal("TERM"), s -> stop.countDown());
    Signal.handle(new Signal("INT"), s -> stop.countDown());
    try {
      agent.startAdmin();
      agent.start();
      stop.await();
      log.info("stop requested; detaching and flushing within {}", config.shutdownTimeout());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    } finally {
      agent.close();
    }
    return 0;
  }
}
