using System;

namespace Adarts {
  /// <summary>A call into the adarts library failed: Message is the library's message
  /// (adarts_last_error()), Status its status code.</summary>
  [Serializable]
  public class AdartsException : Exception {
    public Status Status { get; private set; }

    public AdartsException(Status status, string message) : base(message) { Status = status; }

    public override string ToString() { return GetType().FullName + " [" + Status + "]: " + Message; }
  }
}
