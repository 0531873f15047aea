package ai.adarts;

import java.lang.ref.Reference;

/**
 * An architecture search (adarts_search). Drive it with {@link #step} or
 * {@link #runEpoch}; {@link #cancel()} is safe from any thread. Not for use
 * from two threads at once otherwise.
 */
public final class Search extends NativeResource {
  private volatile MetricsListener metricsListener;

  /** A search on the data set named by the config. */
  public Search(String configJson) {
    this(configJson, null);
  }

  /** A search on {@code dataset} (copied; the config's data keys are then ignored). */
  public Search(String configJson, Dataset dataset) {
    super(create(configJson, dataset), AdartsNative::adarts_search_free);
  }

  private Search(long handle) {
    super(handle, AdartsNative::adarts_search_free);
  }

  /**
   * Continues the run in {@code outDir} from its newest checkpoint. {@code overridesJson} (may
   * be null) may change only threads, log_every, checkpoint_every, checkpoint_keep and device;
   * {@code dataset} (may be null) must be the data the run started on.
   */
  public static Search resume(String outDir, String overridesJson, Dataset dataset) {
    long[] out = {0};
    try {
      AdartsNative.adarts_search_resume(outDir, overridesJson, handleOf(dataset), out);
    } finally {
      Reference.reachabilityFence(dataset);
    }
    return new Search(out[0]);
  }

  /** Writes a checkpoint of the whole state into out_dir/checkpoints; returns its path. */
  public String saveCheckpoint() {
    return call(h -> {
      String[] out = new String[1];
      AdartsNative.adarts_search_save_checkpoint(h, out);
      return out[0];
    });
  }

  private static long create(String configJson, Dataset dataset) {
    long[] out = {0};
    try {
      AdartsNative.adarts_search_create(configJson, handleOf(dataset), out);
    } finally {
      Reference.reachabilityFence(dataset);
    }
    return out[0];
  }

  /** One search step (architecture then weight update). */
  public void step() {
    step(1);
  }

  /** {@code steps} search steps; an epoch's last step ends it (evaluation, metrics, genotype files). */
  public void step(long steps) {
    MetricsListener metrics = metricsListener;
    run(h -> AdartsNative.adarts_java_search_step(h, steps, metrics));
  }

  /** Runs the rest of the current epoch; see {@link #runEpoch(ProgressListener)}. */
  public boolean runEpoch() {
    return runEpoch(null);
  }

  /**
   * Runs the rest of the current epoch and ends it.
   *
   * @return true when the epoch ended; false when the listener or {@link #cancel()}
   *     stopped it (the epoch stays open: call again to go on)
   */
  public boolean runEpoch(ProgressListener listener) {
    NativeProgress progress = NativeProgress.of(listener);
    try {
      MetricsListener metrics = metricsListener;
      run(h -> AdartsNative.adarts_java_search_run_epoch(h, progress, metrics));
      return true;
    } catch (AdartsException e) {
      if (e.getStatus() == Status.CANCELLED) return false;
      throw e;
    }
  }

  /**
   * Calls {@code listener} with each ended epoch's metrics line from now on (null removes it);
   * see {@link MetricsListener}.
   */
  public void setMetricsListener(MetricsListener listener) {
    metricsListener = listener;
  }

  /** Asks a running {@link #runEpoch} to stop after its current step. Safe from any thread. */
  public synchronized void cancel() {
    run(AdartsNative::adarts_search_cancel);
  }

  /** JSON: {"epoch","step_in_epoch","steps_per_epoch","epochs","weight_lr"}. */
  public String state() {
    return call(h -> {
      String[] out = new String[1];
      AdartsNative.adarts_search_state(h, out);
      return out[0];
    });
  }

  /** JSON metrics line of the last ended epoch; "{}" before the first one ends. */
  public String metrics() {
    return call(h -> {
      String[] out = new String[1];
      AdartsNative.adarts_search_metrics(h, out);
      return out[0];
    });
  }

  /** The raw alphas of "normal" or "reduce", row-major [edges][ops]. */
  public float[] alphas(String cell) {
    return call(h -> {
      long[] count = {0};
      AdartsNative.adarts_search_alphas(h, cell, null, count); // the size query
      float[] values = new float[Math.toIntExact(count[0])];
      AdartsNative.adarts_search_alphas(h, cell, values, count);
      return values;
    });
  }

  /** Cells with their own alpha set: the cell count of a per-cell space (s2), 0 for shared spaces. */
  public long cellCount() {
    return call(h -> {
      long[] out = {0};
      AdartsNative.adarts_search_cell_count(h, out);
      return out[0];
    });
  }

  /** The raw alphas of cell {@code index} of a per-cell space (s2), row-major [edges][ops]. */
  public float[] cellAlphas(long index) {
    return call(h -> {
      long[] count = {0};
      AdartsNative.adarts_search_cell_alphas(h, index, null, count); // the size query
      float[] values = new float[Math.toIntExact(count[0])];
      AdartsNative.adarts_search_cell_alphas(h, index, values, count);
      return values;
    });
  }

  /** The genotype derived from the current alphas. */
  public Genotype genotype() {
    return call(h -> {
      long[] out = {0};
      AdartsNative.adarts_search_genotype(h, out);
      return new Genotype(out[0]);
    });
  }
}
