package ai.adarts;

/** Where a running epoch is, passed to a {@link ProgressListener} after every step. */
public final class Progress {
  private final long epoch;
  private final long step;
  private final long stepsPerEpoch;
  private final double loss;
  private final double accuracy;

  public Progress(long epoch, long step, long stepsPerEpoch, double loss, double accuracy) {
    this.epoch = epoch;
    this.step = step;
    this.stepsPerEpoch = stepsPerEpoch;
    this.loss = loss;
    this.accuracy = accuracy;
  }

  /** 0-based epoch. */
  public long epoch() {
    return epoch;
  }

  /** 1-based step within the epoch. */
  public long step() {
    return step;
  }

  public long stepsPerEpoch() {
    return stepsPerEpoch;
  }

  /** The epoch's running mean loss. */
  public double loss() {
    return loss;
  }

  /** The epoch's running mean accuracy. */
  public double accuracy() {
    return accuracy;
  }

  @Override
  public String toString() {
    return String.format("epoch %d step %d/%d loss %.4f accuracy %.4f", epoch, step, stepsPerEpoch, loss, accuracy);
  }
}
