package io.goscope.platform.sys;

import java.util.HashMap;
import java.util.Map;

/**
 * Linux errno numbers (asm-generic values, shared by x86-64 and arm64) to their symbolic names and the glibc
 * {@code strerror} text. Covers the values the bpf and perf_event syscalls and libbpf report; anything else is
 * rendered as {@code errno=<n>}.
 */
final class Errno {
  static final int EPERM = 1;
  static final int ENOENT = 2;
  static final int ESRCH = 3;
  static final int EINVAL = 22;
  static final int EOPNOTSUPP = 95;

  private static final Map<Integer, String[]> TABLE = new HashMap<>();

  static {
    put(1, "EPERM", "Operation not permitted");
    put(2, "ENOENT", "No such file or directory");
    put(3, "ESRCH", "No such process");
    put(4, "EINTR", "Interrupted system call");
    put(5, "EIO", "Input/output error");
    put(6, "ENXIO", "No such device or address");
    put(7, "E2BIG", "Argument list too long");
    put(8, "ENOEXEC", "Exec format error");
    put(9, "EBADF", "Bad file descriptor");
    put(10, "ECHILD", "No child processes");
    put(11, "EAGAIN", "Resource temporarily unavailable");
    put(12, "ENOMEM", "Cannot allocate memory");
    put(13, "EACCES", "Permission denied");
    put(14, "EFAULT", "Bad address");
    put(16, "EBUSY", "Device or resource busy");
    put(17, "EEXIST", "File exists");
    put(18, "EXDEV", "Invalid cross-device link");
    put(19, "ENODEV", "No such device");
    put(20, "ENOTDIR", "Not a directory");
    put(21, "EISDIR", "Is a directory");
    put(22, "EINVAL", "Invalid argument");
    put(23, "ENFILE", "Too many open files in system");
    put(24, "EMFILE", "Too many open files");
    put(25, "ENOTTY", "Inappropriate ioctl for device");
    put(26, "ETXTBSY", "Text file busy");
    put(27, "EFBIG", "File too large");
    put(28, "ENOSPC", "No space left on device");
    put(29, "ESPIPE", "Illegal seek");
    put(30, "EROFS", "Read-only file system");
    put(31, "EMLINK", "Too many links");
    put(34, "ERANGE", "Numerical result out of range");
    put(35, "EDEADLK", "Resource deadlock avoided");
    put(36, "ENAMETOOLONG", "File name too long");
    put(38, "ENOSYS", "Function not implemented");
    put(39, "ENOTEMPTY", "Directory not empty");
    put(40, "ELOOP", "Too many levels of symbolic links");
    put(42, "ENOMSG", "No message of desired type");
    put(61, "ENODATA", "No data available");
    put(62, "ETIME", "Timer expired");
    put(71, "EPROTO", "Protocol error");
    put(74, "EBADMSG", "Bad message");
    put(75, "EOVERFLOW", "Value too large for defined data type");
    put(84, "EILSEQ", "Invalid or incomplete multibyte or wide character");
    put(95, "EOPNOTSUPP", "Operation not supported");
    put(110, "ETIMEDOUT", "Connection timed out");
    put(125, "ECANCELED", "Operation canceled");
    put(524, "ENOTSUPP", "Operation is not supported (kernel-internal)");
  }

  private Errno() {}

  private static void put(int value, String name, String message) {
    TABLE.put(value, new String[] {name, message});
  }

  /** The symbolic name, e.g. {@code EPERM}; {@code errno=<n>} for unknown values. */
  static String name(int errno) {
    String[] e = TABLE.get(Math.abs(errno));
    return e != null ? e[0] : "errno=" + Math.abs(errno);
  }

  /** The strerror text, e.g. {@code Operation not permitted}; {@code Unknown error <n>} for unknown values. */
  static String message(int errno) {
    String[] e = TABLE.get(Math.abs(errno));
    return e != null ? e[1] : "Unknown error " + Math.abs(errno);
  }
}
