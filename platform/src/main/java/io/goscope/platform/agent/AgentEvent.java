package io.goscope.platform.agent;

/**
 * Something the agent did to a process, for listeners (tests, the demo, later the health endpoint).
 *
 * @param kind what happened
 * @param pid host pid
 * @param executable executable file name
 * @param micros for ATTACHED: microseconds from the decision to instrument until every uprobe was attached
 * @param execToAttachedMicros for ATTACHED: from the kernel's exec event to traced (-1: unknown)
 */
public record AgentEvent(Kind kind, int pid, String executable, long micros, long execToAttachedMicros) {
  public AgentEvent(Kind kind, int pid, String executable, long micros) {
    this(kind, pid, executable, micros, -1);
  }

  /** Event kinds. */
  public enum Kind {
    ATTACHED,
    DETACHED
  }
}
