package ai.adarts;

/**
 * Receives each ended epoch's metrics, the JSON line that goes to the run's
 * metrics.jsonl, on the thread of the {@code step} or {@code runEpoch} call
 * that ended the epoch. It must not call into the same Search or Trainer. An
 * exception it throws is rethrown by that call once it returns (the epoch is
 * complete; later lines of that call are not delivered).
 */
@FunctionalInterface
public interface MetricsListener {
  void onMetrics(String metricsJson);
}
