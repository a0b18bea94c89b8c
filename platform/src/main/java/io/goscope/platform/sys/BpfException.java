package io.goscope.platform.sys;

import static java.util.Objects.requireNonNull;

import io.goscope.api.GoscopeException;
import io.goscope.api.Nullable;

/**
 * A failed BPF operation (open, load, attach, map access), naming the operation, the object it acted on and the
 * kernel's or libbpf's cause, for example
 * {@code attach uprobe net/http.serverHandler.ServeHTTP pid=4242 offset=0x2049a0: EPERM (Operation not permitted)}.
 *
 * <p>{@link #errno()} is 0 when the failure did not come from the kernel (an unknown constant, say).
 */
public sealed class BpfException extends GoscopeException permits UnsupportedFeatureException {
  private static final long serialVersionUID = 1L;

  private final String op;
  private final String object;
  private final @Nullable Integer pid;
  private final int errno;

  /**
   * @param op the operation, e.g. {@code attach uprobe}
   * @param object what it acted on, e.g. a symbol, map or object name
   * @param pid the process, when the operation targets one
   * @param context extra {@code key=value} context shown after the pid (e.g. {@code offset=0x2049a0}), or empty
   * @param errno the positive errno, or 0 when the cause is not an errno
   * @param detail further explanation (a verifier log tail, a reason), or empty
   */
  BpfException(
      String op, String object, @Nullable Integer pid, String context, int errno, String detail) {
    super(format(op, object, pid, context, errno, detail));
    this.op = requireNonNull(op, "op");
    this.object = requireNonNull(object, "object");
    this.pid = pid;
    this.errno = Math.abs(errno);
  }

  BpfException(String op, String object, int errno) {
    this(op, object, null, "", errno, "");
  }

  /** The failed operation, e.g. {@code attach uprobe}. */
  public String op() {
    return op;
  }

  /** The object the operation acted on: a symbol, program, map, constant or BPF object name. */
  public String object() {
    return object;
  }

  /** The target process, if the operation had one. */
  public @Nullable Integer pid() {
    return pid;
  }

  /** The positive errno, or 0 when the failure did not come from the kernel or libbpf. */
  public int errno() {
    return errno;
  }

  /** The errno's symbolic name, e.g. {@code EPERM}; empty when {@link #errno()} is 0. */
  public String errnoName() {
    return errno == 0 ? "" : Errno.name(errno);
  }

  static String format(
      String op, String object, @Nullable Integer pid, String context, int errno, String detail) {
    StringBuilder sb = new StringBuilder(op).append(' ').append(object);
    if (pid != null) {
      sb.append(" pid=").append(pid);
    }
    if (context != null && !context.isEmpty()) {
      sb.append(' ').append(context);
    }
    sb.append(": ");
    if (errno != 0) {
      sb.append(Errno.name(errno)).append(" (").append(Errno.message(errno)).append(')');
      if (detail != null && !detail.isEmpty()) {
        sb.append("; ");
      }
    }
    if (detail != null) {
      sb.append(detail);
    }
    return sb.toString();
  }
}
