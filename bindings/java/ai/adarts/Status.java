package ai.adarts;

/** The adarts_status codes of the C ABI (values from the header the binding was generated from). */
public enum Status {
  OK(AdartsNativeConstants.ADARTS_OK),
  INVALID_ARGUMENT(AdartsNativeConstants.ADARTS_INVALID_ARGUMENT),
  PARSE_ERROR(AdartsNativeConstants.ADARTS_PARSE_ERROR),
  IO_ERROR(AdartsNativeConstants.ADARTS_IO_ERROR),
  UNSUPPORTED(AdartsNativeConstants.ADARTS_UNSUPPORTED),
  CANCELLED(AdartsNativeConstants.ADARTS_CANCELLED),
  OUT_OF_MEMORY(AdartsNativeConstants.ADARTS_OUT_OF_MEMORY),
  INTERNAL(AdartsNativeConstants.ADARTS_INTERNAL),
  NUMERICAL_ERROR(AdartsNativeConstants.ADARTS_NUMERICAL_ERROR),
  COMMUNICATION_ERROR(AdartsNativeConstants.ADARTS_COMMUNICATION_ERROR);

  private final int code;

  Status(int code) {
    this.code = code;
  }

  /** The C value. */
  public int code() {
    return code;
  }

  /** The status of a C value; INTERNAL for a value this binding does not know. */
  public static Status fromCode(int code) {
    for (Status s : values()) {
      if (s.code == code) return s;
    }
    return INTERNAL;
  }
}
