using System;

namespace Adarts {
  /// <summary>A cell architecture (normal and reduction cells).</summary>
  public sealed class Genotype : IDisposable {
    readonly GenotypeHandle handle;

    internal Genotype(GenotypeHandle handle) { this.handle = handle; }

    /// <summary>From the versioned genotype JSON (schemas/genotype.schema.json).</summary>
    public static Genotype FromJson(string json) {
      GenotypeHandle h;
      AdartsNative.adarts_genotype_from_json(json, out h);
      return new Genotype(h);
    }

    /// <summary>From the DARTS text form: Genotype(normal=[('sep_conv_3x3', 0), ...], ...).</summary>
    public static Genotype FromDartsText(string text) {
      GenotypeHandle h;
      AdartsNative.adarts_genotype_from_darts_text(text, out h);
      return new Genotype(h);
    }

    internal GenotypeHandle Handle {
      get {
        if (handle.IsClosed) throw new ObjectDisposedException("Genotype");
        return handle;
      }
    }

    public string ToJson() {
      string json;
      AdartsNative.adarts_genotype_to_json(Handle, out json);
      return json;
    }

    public string ToDartsText() {
      string text;
      AdartsNative.adarts_genotype_to_darts_text(Handle, out text);
      return text;
    }

    /// <summary>Graphviz DOT of one cell, "normal" or "reduce".</summary>
    public string ToDot(string cell = "normal") {
      string dot;
      AdartsNative.adarts_genotype_to_dot(Handle, cell, out dot);
      return dot;
    }

    /// <summary>Parameters of the network built from this genotype; <paramref name="networkJson"/> sets
    /// {"in_channels","num_classes","channels","layers","auxiliary","imagenet"} (null: DARTS CIFAR).</summary>
    public long ParameterCount(string networkJson = null) {
      long count;
      AdartsNative.adarts_genotype_parameter_count(Handle, networkJson, out count);
      return count;
    }

    /// <summary>The DARTS text form.</summary>
    public override string ToString() { return handle.IsClosed ? "Genotype(disposed)" : ToDartsText(); }

    public bool IsDisposed { get { return handle.IsClosed; } }

    /// <summary>Frees the native object; later calls do nothing.</summary>
    public void Dispose() { handle.Dispose(); }
  }
}
