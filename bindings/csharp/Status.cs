namespace Adarts {
  /// <summary>The adarts_status codes of the C ABI (values from the header the binding was generated from).</summary>
  public enum Status {
    Ok = AdartsNative.ADARTS_OK,
    InvalidArgument = AdartsNative.ADARTS_INVALID_ARGUMENT,
    ParseError = AdartsNative.ADARTS_PARSE_ERROR,
    IoError = AdartsNative.ADARTS_IO_ERROR,
    Unsupported = AdartsNative.ADARTS_UNSUPPORTED,
    Cancelled = AdartsNative.ADARTS_CANCELLED,
    OutOfMemory = AdartsNative.ADARTS_OUT_OF_MEMORY,
    Internal = AdartsNative.ADARTS_INTERNAL,
    NumericalError = AdartsNative.ADARTS_NUMERICAL_ERROR,
    CommunicationError = AdartsNative.ADARTS_COMMUNICATION_ERROR
  }
}
