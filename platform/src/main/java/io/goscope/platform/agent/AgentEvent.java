package io.goscope.platform.agent;

/**
 * Something the agent did to a process, for listeners (tests, the demo, later the health endpoint).
 *
 * @param kind what happened
 * @param pid host pid
 * @param executable executable file name
 * @param micros for ATTACHED: microseconds from the decision to instrument until every uprobe was attached
 */
public record AgentEvent(Kind kind, int pid, String executable, long micros) {
  /** Event kinds. */
  public enum Kind {
    ATTACHED,
    DETACHED
  }
}
