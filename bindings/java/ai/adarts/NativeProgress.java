package ai.adarts;

/** What the native trampoline calls (adarts.i): non-null, raw values. */
interface NativeProgress {
  boolean onProgress(long epoch, long step, long stepsPerEpoch, double loss, double accuracy);

  static NativeProgress of(ProgressListener listener) {
    if (listener == null) return null;
    return (epoch, step, steps, loss, accuracy) -> listener.onProgress(new Progress(epoch, step, steps, loss, accuracy));
  }
}
