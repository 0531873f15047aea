package ai.adarts;

/**
 * A call into the adarts library failed. {@link #getMessage()} is the library's
 * message (adarts_last_error()), {@link #getStatus()} its status code.
 */
public class AdartsException extends RuntimeException {
  private static final long serialVersionUID = 1L;
  private final Status status;
  private final int code;

  public AdartsException(Status status, String message) {
    super(message);
    this.status = status;
    this.code = status.code();
  }

  /** Called from the native status typemap. */
  AdartsException(int code, String message) {
    super(message);
    this.status = Status.fromCode(code);
    this.code = code;
  }

  public Status getStatus() {
    return status;
  }

  /** The raw adarts_status value. */
  public int getCode() {
    return code;
  }

  @Override
  public String toString() {
    return getClass().getName() + " [" + status + "]: " + getMessage();
  }
}
