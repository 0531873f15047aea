package ai.adarts;

/**
 * Called after every step of {@code runEpoch}, on the calling thread. It must
 * not call into the same Search or Trainer (except {@code cancel()}). An
 * exception it throws stops the epoch and is rethrown by {@code runEpoch}.
 */
@FunctionalInterface
public interface ProgressListener {
  /** @return true to stop the epoch after this step, false to go on */
  boolean onProgress(Progress progress);
}
