using System;
using System.Globalization;

namespace Adarts {
  /// <summary>A data set opened from a JSON spec (adarts_dataset_open). Searches and trainers copy it.</summary>
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
