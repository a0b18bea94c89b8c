package io.goscope.api;

/**
 * Base of Goscope's typed, unchecked errors. Messages name the operation, the object and the cause, for example
 * {@code attach uprobe net/http.serverHandler.ServeHTTP pid=4242 offset=0x2049a0: EPERM}.
 */
public class GoscopeException extends RuntimeException {
  private static final long serialVersionUID = 1L;

  public GoscopeException(String message) {
    super(message);
  }

  public GoscopeException(String message, Throwable cause) {
    super(message, cause);
  }
}
