using System;

namespace Adarts {
  /// <summary>Re-trains a genotype's evaluation network from scratch (adarts_trainer). Cancel is
  /// safe from any thread.</summary>
  public sealed class Trainer : IDisposable {
    readonly TrainerHandle handle;
#pragma warning disable 414  // only held: the native side calls the delegate, nothing here reads it
    AdartsNativePINVOKE.MetricsDelegate metrics;  // kept alive while it is set
#pragma warning restore 414

    Trainer(TrainerHandle handle) { this.handle = handle; }

    /// <summary>A trainer from a JSON config (the `adarts train` keys); on a copy of
    /// <paramref name="train"/>, or on the config's data set when null.</summary>
    public Trainer(Genotype genotype, string configJson, Dataset train = null) {
      if (genotype == null) throw new ArgumentNullException("genotype");
      AdartsNative.adarts_trainer_create(genotype.Handle, configJson, Dataset.HandleOf(train), out handle);
    }

    /// <summary>Loads a model written by Save onto <paramref name="device"/> (null: the saved
    /// device); it evaluates and saves but cannot train.</summary>
    public static Trainer Load(string path, string device = null) {
      TrainerHandle h;
      AdartsNative.adarts_trainer_load(path, device, out h);
      return new Trainer(h);
    }

    /// <summary>Continues the training run in <paramref name="outDir"/> from its newest
    /// checkpoint, with the run's genotype. <paramref name="overridesJson"/> (may be null) may
    /// change only threads, log_every, checkpoint_every, checkpoint_keep and device;
    /// <paramref name="train"/> (may be null) must be the data the run trained on.</summary>
    public static Trainer Resume(string outDir, string overridesJson = null, Dataset train = null) {
      TrainerHandle h;
      AdartsNative.adarts_trainer_resume(outDir, overridesJson, Dataset.HandleOf(train), out h);
      return new Trainer(h);
    }

    /// <summary>Writes a checkpoint of the whole training state into out_dir/checkpoints;
    /// returns its path.</summary>
    public string SaveCheckpoint() {
      string path;
      AdartsNative.adarts_trainer_save_checkpoint(Handle, out path);
      return path;
    }

    TrainerHandle Handle {
      get {
        if (handle.IsClosed) throw new ObjectDisposedException("Trainer");
        return handle;
      }
    }

    /// <summary>Calls <paramref name="handler"/> with each ended epoch's metrics line from now on
    /// (null removes it); see MetricsHandler.</summary>
    public void SetMetricsListener(MetricsHandler handler) {
      var trampoline = AdartsNativePINVOKE.MetricsTrampoline.Wrap(handler);
      AdartsNative.adarts_trainer_set_metrics_listener(Handle, trampoline);
      metrics = trampoline;
    }

    /// <summary>One training epoch; false when the handler or Cancel stopped it.</summary>
    public bool RunEpoch(ProgressHandler progress = null) {
      try {
        AdartsNative.adarts_trainer_run_epoch(Handle, progress);
        return true;
      } catch (AdartsException e) when (e.Status == Status.Cancelled) {
        return false;
      }
    }

    /// <summary>Asks a running RunEpoch to stop after its current step. Safe from any thread.</summary>
    public void Cancel() { AdartsNative.adarts_trainer_cancel(Handle); }

    /// <summary>JSON {"loss","top1","top5","samples"} on <paramref name="data"/>, or on the
    /// config's test set when null.</summary>
    public string Evaluate(Dataset data = null) {
      string json;
      AdartsNative.adarts_trainer_evaluate(Handle, Dataset.HandleOf(data), out json);
      return json;
    }

    /// <summary>Weights, genotype and config in one file, written atomically.</summary>
    public void Save(string path) { AdartsNative.adarts_trainer_save(Handle, path); }

    /// <summary>The network as a PyTorch state dict with the original DARTS module names
    /// (torch.load reads it).</summary>
    public void ExportPytorch(string path) { AdartsNative.adarts_trainer_export_pytorch(Handle, path); }

    public Genotype Genotype() {
      GenotypeHandle h;
      AdartsNative.adarts_trainer_genotype(Handle, out h);
      return new Genotype(h);
    }

    public bool IsDisposed { get { return handle.IsClosed; } }

    /// <summary>Frees the native object; later calls do nothing.</summary>
    public void Dispose() { handle.Dispose(); }
  }
}
