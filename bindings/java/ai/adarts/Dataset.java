package ai.adarts;

import java.lang.ref.Reference;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.util.Locale;

/** A data set opened from a JSON spec or handed over in memory. Searches and trainers copy it. */
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

  /**
   * A data set of images and labels held in memory, copied (adarts_dataset_from_memory):
   * {@code images} holds count x channels x height x width float pixels, row-major; {@code labels}
   * one class in [0, classes) per image. Pixels that are exactly bytes / 255 ({@code b / 255f})
   * give the same search as the images read from files.
   *
   * @throws IllegalArgumentException when the array lengths do not match the shape
   */
  public static Dataset fromMemory(float[] images, long count, long channels, long height, long width,
      long[] labels, long classes) {
    long[] out = {0};
    AdartsNative.adarts_java_dataset_from_floats(images, count, channels, height, width, labels, classes, out);
    return new Dataset(out[0]);
  }

  /**
   * As {@link #fromMemory(float[], long, long, long, long, long[], long)} from a direct
   * FloatBuffer, read in place from its position to its limit (native byte order:
   * {@code ByteBuffer.allocateDirect(n).order(ByteOrder.nativeOrder()).asFloatBuffer()}).
   */
  public static Dataset fromMemory(FloatBuffer images, long count, long channels, long height, long width,
      long[] labels, long classes) {
    if (images == null || !images.isDirect() || images.order() != ByteOrder.nativeOrder()) {
      throw new IllegalArgumentException(
          "images must be a direct FloatBuffer in native byte order (use float[] for heap buffers)");
    }
    long[] out = {0};
    try {
      AdartsNative.adarts_java_dataset_from_buffer(images, images.position(), images.remaining(), count, channels,
          height, width, labels, classes, out);
    } finally {
      Reference.reachabilityFence(images);
    }
    return new Dataset(out[0]);
  }

  /**
   * As {@link #fromMemory(float[], long, long, long, long, long[], long)} from 8-bit values
   * (read unsigned): pixel = value * {@code scale}, 1.0 / 255 for 8-bit images.
   */
  public static Dataset fromMemory(byte[] images, double scale, long count, long channels, long height, long width,
      long[] labels, long classes) {
    long[] out = {0};
    AdartsNative.adarts_java_dataset_from_bytes(images, scale, count, channels, height, width, labels, classes, out);
    return new Dataset(out[0]);
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
