package io.goscope.platform.cli;

import io.goscope.platform.agent.Agent;
import io.goscope.platform.agent.AgentConfig;
import java.io.PrintStream;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import sun.misc.Signal;

/** {@code goscope agent}: runs until SIGTERM or SIGINT, then detaches everything and exits 0. */
final class AgentCommand {
  private AgentCommand() {}

  static int run(String[] args, PrintStream out, PrintStream err) {
    if (args.length > 0) {
      err.println("goscope agent takes no arguments; configure it with environment variables");
      return 2;
    }
    Agent agent = Agent.create(AgentConfig.fromEnvironment(), List.of());
    CountDownLatch stop = new CountDownLatch(1);
    Signal.handle(new Signal("TERM"), s -> stop.countDown());
    Signal.handle(new Signal("INT"), s -> stop.countDown());
    try {
      agent.start();
      stop.await();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    } finally {
      agent.close();
    }
    return 0;
  }
}
