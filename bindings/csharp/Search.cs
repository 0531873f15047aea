using System;

namespace Adarts {
  /// <summary>An architecture search (adarts_search). Drive it with Step or RunEpoch; Cancel is
  /// safe from any thread. Not for use from two threads at once otherwise.</summary>
  public sealed class Search : IDisposable {
    readonly SearchHandle handle;
#pragma warning disable 414  // only held: the native side calls the delegate, nothing here reads it
    AdartsNativePINVOKE.MetricsDelegate metrics;  // kept alive while it is set
#pragma warning restore 414

    /// <summary>A search from a JSON config (the `adarts search` keys); on a copy of
    /// <paramref name="dataset"/>, or on the config's data set when null.</summary>
    public Search(string configJson, Dataset dataset = null) {
      AdartsNative.adarts_search_create(configJson, Dataset.HandleOf(dataset), out handle);
    }

    Search(SearchHandle resumed) { handle = resumed; }

    /// <summary>Continues the run in <paramref name="outDir"/> from its newest checkpoint.
    /// <paramref name="overridesJson"/> (may be null) may change only threads, log_every,
    /// checkpoint_every, checkpoint_keep and device; <paramref name="dataset"/> (may be null)
    /// must be the data the run started on.</summary>
    public static Search Resume(string outDir, string overridesJson = null, Dataset dataset = null) {
      SearchHandle resumed;
      AdartsNative.adarts_search_resume(outDir, overridesJson, Dataset.HandleOf(dataset), out resumed);
      return new Search(resumed);
    }

    /// <summary>Writes a checkpoint of the whole state into out_dir/checkpoints; returns its path.</summary>
    public string SaveCheckpoint() {
      string path;
      AdartsNative.adarts_search_save_checkpoint(Handle, out path);
      return path;
    }

    SearchHandle Handle {
      get {
        if (handle.IsClosed) throw new ObjectDisposedException("Search");
        return handle;
      }
    }

    /// <summary>Runs <paramref name="steps"/> search steps; an epoch's last step ends it.</summary>
    public void Step(long steps = 1) { AdartsNative.adarts_search_step(Handle, steps); }

    /// <summary>Calls <paramref name="handler"/> with each ended epoch's metrics line from now on
    /// (null removes it); see MetricsHandler.</summary>
    public void SetMetricsListener(MetricsHandler handler) {
      var trampoline = AdartsNativePINVOKE.MetricsTrampoline.Wrap(handler);
      AdartsNative.adarts_search_set_metrics_listener(Handle, trampoline);
      metrics = trampoline;
    }

    /// <summary>Runs the rest of the current epoch and ends it. Returns false when the handler
    /// or Cancel stopped it (the epoch stays open: call again to go on).</summary>
    public bool RunEpoch(ProgressHandler progress = null) {
      try {
        AdartsNative.adarts_search_run_epoch(Handle, progress);
        return true;
      } catch (AdartsException e) when (e.Status == Status.Cancelled) {
        return false;
      }
    }

    /// <summary>Asks a running RunEpoch to stop after its current step. Safe from any thread.</summary>
    public void Cancel() { AdartsNative.adarts_search_cancel(Handle); }

    /// <summary>JSON: {"epoch","step_in_epoch","steps_per_epoch","epochs","weight_lr"}.</summary>
    public string State() {
      string json;
      AdartsNative.adarts_search_state(Handle, out json);
      return json;
    }

    /// <summary>JSON metrics line of the last ended epoch; "{}" before the first one ends.</summary>
    public string Metrics() {
      string json;
      AdartsNative.adarts_search_metrics(Handle, out json);
      return json;
    }

    /// <summary>The raw alphas of "normal" or "reduce", row-major [edges][ops].</summary>
    public float[] Alphas(string cell = "normal") {
      ulong count;
      AdartsNative.adarts_search_alphas(Handle, cell, null, 0, out count);  // the size query
      var values = new float[count];
      AdartsNative.adarts_search_alphas(Handle, cell, values, (ulong)values.Length, out count);
      return values;
    }

    /// <summary>Cells with their own alpha set: the cell count of a per-cell space (s2), 0 for shared spaces.</summary>
    public long CellCount() {
      long count;
      AdartsNative.adarts_search_cell_count(Handle, out count);
      return count;
    }

    /// <summary>The raw alphas of cell <paramref name="index"/> of a per-cell space (s2), row-major [edges][ops].</summary>
    public float[] CellAlphas(long index) {
      ulong count;
      AdartsNative.adarts_search_cell_alphas(Handle, index, null, 0, out count);  // the size query
      var values = new float[count];
      AdartsNative.adarts_search_cell_alphas(Handle, index, values, (ulong)values.Length, out count);
      return values;
    }

    /// <summary>The genotype derived from the current alphas.</summary>
    public Genotype Genotype() {
      GenotypeHandle h;
      AdartsNative.adarts_search_genotype(Handle, out h);
      return new Genotype(h);
    }

    public bool IsDisposed { get { return handle.IsClosed; } }

    /// <summary>Frees the native object; later calls do nothing.</summary>
    public void Dispose() { handle.Dispose(); }
  }
}
