namespace Adarts {
  /// <summary>Where a running epoch is, after every step of RunEpoch.</summary>
  public struct Progress {
    /// <summary>0-based epoch.</summary>
    public long Epoch { get; private set; }
    /// <summary>1-based step within the epoch.</summary>
    public long Step { get; private set; }
    public long StepsPerEpoch { get; private set; }
    /// <summary>The epoch's running mean loss.</summary>
    public double Loss { get; private set; }
    /// <summary>The epoch's running mean accuracy.</summary>
    public double Accuracy { get; private set; }

    public Progress(long epoch, long step, long stepsPerEpoch, double loss, double accuracy) : this() {
      Epoch = epoch;
      Step = step;
      StepsPerEpoch = stepsPerEpoch;
      Loss = loss;
      Accuracy = accuracy;
    }

    public override string ToString() {
      return string.Format(System.Globalization.CultureInfo.InvariantCulture,
                           "epoch {0} step {1}/{2} loss {3:F4} accuracy {4:F4}", Epoch, Step, StepsPerEpoch, Loss, Accuracy);
    }
  }

  /// <summary>Called after every step of RunEpoch, on the calling thread; returns true to
  /// stop after this step. It must not call into the same Search or Trainer (except Cancel).
  /// An exception it throws stops the epoch and is rethrown by RunEpoch.</summary>
  public delegate bool ProgressHandler(Progress progress);

  /// <summary>Receives each ended epoch's metrics, the JSON line that goes to the run's
  /// metrics.jsonl, on the thread of the Step or RunEpoch call that ended the epoch. It must not
  /// call into the same Search or Trainer. An exception it throws is rethrown by that call once
  /// it returns (the epoch is complete; later lines of that call are not delivered).</summary>
  public delegate void MetricsHandler(string metricsJson);
}
