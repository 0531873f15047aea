using System;
using System.Globalization;
using System.Runtime.InteropServices;

namespace Adarts {
  /// <summary>The pixel type of images handed over in memory (adarts_pixel_type).</summary>
  public enum PixelType {
    Float32 = 0,  // ADARTS_PIXELS_FLOAT32: the pixel values themselves
    UInt8 = 1     // ADARTS_PIXELS_UINT8: pixel = value * scale
  }

  /// <summary>A data set opened from a JSON spec or handed over in memory. Searches and trainers copy it.</summary>
  public sealed class Dataset : IDisposable {
    readonly DatasetHandle handle;

    Dataset(DatasetHandle handle) { this.handle = handle; }

    /// <summary>Opens a data set, e.g. {"kind":"idx","dir":"/usr/share/datasets/fashion-mnist","train":true},
    /// {"kind":"cifar10","dir":"..."} or {"kind":"synthetic","size":256,...}.</summary>
    public static Dataset Open(string specJson) {
      DatasetHandle h;
      AdartsNative.adarts_dataset_open(specJson, out h);
      return new Dataset(h);
    }

    /// <summary>A synthetic data set of <paramref name="size"/> random images.</summary>
    public static Dataset Synthetic(int size, int channels, int height, int width, int classes = 10, long seed = 1) {
      return Open(string.Format(CultureInfo.InvariantCulture,
          "{{\"kind\":\"synthetic\",\"size\":{0},\"channels\":{1},\"height\":{2},\"width\":{3},\"classes\":{4},\"seed\":{5}}}",
          size, channels, height, width, classes, seed));
    }

    /// <summary>A data set of images and labels held in memory, copied (adarts_dataset_from_memory):
    /// <paramref name="images"/> holds count x channels x height x width float pixels, row-major;
    /// <paramref name="labels"/> one class in [0, classes) per image. Pixels that are exactly
    /// bytes / 255 (b / 255f) give the same search as the images read from files.
    /// ArgumentException when the lengths do not match the shape.</summary>
    public static Dataset FromMemory(ReadOnlySpan<float> images, ReadOnlySpan<long> labels, long count, long channels,
                                     long height, long width, long classes) {
      CheckSizes(images.Length, labels.Length, count, channels, height, width);
      unsafe {
        fixed (float* pixels = &MemoryMarshal.GetReference(images))
        fixed (long* l = &MemoryMarshal.GetReference(labels)) {
          return FromPointers((IntPtr)pixels, AdartsNative.ADARTS_PIXELS_FLOAT32, 1.0, count, channels, height, width,
                              (IntPtr)l, classes);
        }
      }
    }

    /// <summary>As FromMemory(ReadOnlySpan&lt;float&gt;, ...) from arrays.</summary>
    public static Dataset FromMemory(float[] images, long[] labels, long count, long channels, long height, long width,
                                     long classes) {
      if (images == null || labels == null) throw new ArgumentNullException(images == null ? "images" : "labels");
      return FromMemory(new ReadOnlySpan<float>(images), new ReadOnlySpan<long>(labels), count, channels, height,
                        width, classes);
    }

    /// <summary>As FromMemory(ReadOnlySpan&lt;float&gt;, ...) from 8-bit values: pixel = value *
    /// <paramref name="scale"/>, 1.0 / 255 for 8-bit images.</summary>
    public static Dataset FromMemory(ReadOnlySpan<byte> images, double scale, ReadOnlySpan<long> labels, long count,
                                     long channels, long height, long width, long classes) {
      CheckSizes(images.Length, labels.Length, count, channels, height, width);
      unsafe {
        fixed (byte* pixels = &MemoryMarshal.GetReference(images))
        fixed (long* l = &MemoryMarshal.GetReference(labels)) {
          return FromPointers((IntPtr)pixels, AdartsNative.ADARTS_PIXELS_UINT8, scale, count, channels, height, width,
                              (IntPtr)l, classes);
        }
      }
    }

    /// <summary>From native memory the caller owns (e.g. pinned or unmanaged): the lengths are
    /// the caller's to get right. For PixelType.UInt8, pixel = value * <paramref name="scale"/>;
    /// for PixelType.Float32 the scale must be 1.</summary>
    public static unsafe Dataset FromMemory(void* images, PixelType pixelType, double scale, long* labels, long count,
                                            long channels, long height, long width, long classes) {
      return FromPointers((IntPtr)images, (int)pixelType, scale, count, channels, height, width, (IntPtr)labels,
                          classes);
    }

    static Dataset FromPointers(IntPtr images, int pixelType, double scale, long count, long channels, long height,
                                long width, IntPtr labels, long classes) {
      DatasetHandle h;
      AdartsNative.adarts_csharp_dataset_from_memory(images, pixelType, scale, count, channels, height, width, labels,
                                              classes, out h);
      return new Dataset(h);
    }

    // The spans must hold exactly the shape's values and one label per image.
    static void CheckSizes(long pixels, long labels, long count, long channels, long height, long width) {
      long needed;
      try {
        needed = checked(count * channels * height * width);
      } catch (OverflowException) {
        needed = -1;
      }
      if (count < 1 || channels < 1 || height < 1 || width < 1 || needed != pixels) {
        throw new ArgumentException(string.Format(CultureInfo.InvariantCulture,
            "the images hold {0} values; a shape of ({1}, {2}, {3}, {4}) needs their product",
            pixels, count, channels, height, width));
      }
      if (labels != count) {
        throw new ArgumentException(string.Format(CultureInfo.InvariantCulture, "{0} labels for {1} images", labels, count));
      }
    }

    internal DatasetHandle Handle {
      get {
        if (handle.IsClosed) throw new ObjectDisposedException("Dataset");
        return handle;
      }
    }

    internal static DatasetHandle HandleOf(Dataset d) { return d == null ? DatasetHandle.Null : d.Handle; }

    /// <summary>JSON: {"name","size","channels","height","width","classes"}.</summary>
    public string Info() {
      string json;
      AdartsNative.adarts_dataset_info(Handle, out json);
      return json;
    }

    public bool IsDisposed { get { return handle.IsClosed; } }

    /// <summary>Frees the native object; later calls do nothing.</summary>
    public void Dispose() { handle.Dispose(); }
  }
}
