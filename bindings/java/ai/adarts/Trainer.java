package ai.adarts;

import java.lang.ref.Reference;

/**
 * Re-trains a genotype's evaluation network from scratch (adarts_trainer).
 * {@link #cancel()} is safe from any thread.
 */
public final class Trainer extends NativeResource {
  private volatile MetricsListener metricsListener;

  private Trainer(long pointer) {
    super(pointer, AdartsNative::adarts_trainer_free);
  }

  /** A trainer on the data set named by the config. */
  public Trainer(Genotype genotype, String configJson) {
    this(genotype, configJson, null);
  }

  /** A trainer on {@code train} (copied). */
  public Trainer(Genotype genotype, String configJson, Dataset train) {
    this(create(genotype, configJson, train));
  }

  private static long create(Genotype genotype, String configJson, Dataset train) {
    long[] out = {0};
    try {
      AdartsNative.adarts_trainer_create(handleOf(genotype), configJson, handleOf(train), out);
    } finally {
      Reference.reachabilityFence(genotype);
      Reference.reachabilityFence(train);
    }
    return out[0];
  }

  /** Loads a model written by {@link #save}; it evaluates and saves but cannot train. */
  public static Trainer load(String path) {
    return load(path, null);
  }

  /** Loads a model onto {@code device} (null: the saved device). */
  public static Trainer load(String path, String device) {
    long[] out = {0};
    AdartsNative.adarts_trainer_load(path, device, out);
    return new Trainer(out[0]);
  }

  /**
   * Continues the training run in {@code outDir} from its newest checkpoint, with the run's
   * genotype. {@code overridesJson} (may be null) may change only threads, log_every,
   * checkpoint_every, checkpoint_keep and device; {@code train} (may be null: the config's data)
   * must be the data the run trained on.
   */
  public static Trainer resume(String outDir, String overridesJson, Dataset train) {
    long[] out = {0};
    try {
      AdartsNative.adarts_trainer_resume(outDir, overridesJson, handleOf(train), out);
    } finally {
      Reference.reachabilityFence(train);
    }
    return new Trainer(out[0]);
  }

  /** Writes a checkpoint of the whole training state into out_dir/checkpoints; returns its path. */
  public String saveCheckpoint() {
    return call(h -> {
      String[] out = new String[1];
      AdartsNative.adarts_trainer_save_checkpoint(h, out);
      return out[0];
    });
  }

  /** One training epoch; see {@link #runEpoch(ProgressListener)}. */
  public boolean runEpoch() {
    return runEpoch(null);
  }

  /** One training epoch; false when the listener or {@link #cancel()} stopped it. */
  public boolean runEpoch(ProgressListener listener) {
    NativeProgress progress = NativeProgress.of(listener);
    try {
      MetricsListener metrics = metricsListener;
      run(h -> AdartsNative.adarts_java_trainer_run_epoch(h, progress, metrics));
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
    run(AdartsNative::adarts_trainer_cancel);
  }

  /** JSON {"loss","top1","top5","samples"} on the config's test set. */
  public String evaluate() {
    return evaluate(null);
  }

  /** JSON {"loss","top1","top5","samples"} on {@code data}. */
  public String evaluate(Dataset data) {
    try {
      return call(h -> {
        String[] out = new String[1];
        AdartsNative.adarts_trainer_evaluate(h, handleOf(data), out);
        return out[0];
      });
    } finally {
      Reference.reachabilityFence(data);
    }
  }

  /** Weights, genotype and config in one file, written atomically. */
  public void save(String path) {
    run(h -> AdartsNative.adarts_trainer_save(h, path));
  }

  /** The network as a PyTorch state dict with the original DARTS module names (torch.load reads it). */
  public void exportPytorch(String path) {
    run(h -> AdartsNative.adarts_trainer_export_pytorch(h, path));
  }

  public Genotype genotype() {
    return call(h -> {
      long[] out = {0};
      AdartsNative.adarts_trainer_genotype(h, out);
      return new Genotype(out[0]);
    });
  }
}
