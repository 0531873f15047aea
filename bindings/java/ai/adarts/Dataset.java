package ai.adarts;

import java.util.Locale;

/** A data set opened from a JSON spec (adarts_dataset_open). Searches and trainers copy it. */
public final class Dataset extends NativeResource {
  private Dataset(long pointer) {
    super(pointer, AdartsNative::adarts_dataset_free);
  }

  /**
   * Opens a data set, e.g. {@code {"kind":"idx","dir":"/usr/share/datasets/fashion-mnist","train":true}},
   * {@code {"kind":"cifar10","dir":"..."}} or {@code {"kind":"synthetic","size":256,...}}.
   */
  public static Dataset open(String specJson) {
    long[] out = {0};
    AdartsNative.adarts_dataset_open(specJson, out);
    return new Dataset(out[0]);
  }

  /** A synthetic data set of {@code size} random images. */
  public static Dataset synthetic(int size, int channels, int height, int width, int classes, long seed) {
    return open(String.format(Locale.ROOT,
        "{\"kind\":\"synthetic\",\"size\":%d,\"channels\":%d,\"height\":%d,\"width\":%d,\"classes\":%d,\"seed\":%d}",
        size, channels, height, width, classes, seed));
  }

  /** JSON: {"name","size","channels","height","width","classes"}. */
  public String info() {
    return call(h -> {
      String[] out = new String[1];
      AdartsNative.adarts_dataset_info(h, out);
      return out[0];
    });
  }

}
