package ai.adarts;

/** A cell architecture (normal and reduction cells). */
public final class Genotype extends NativeResource {
  Genotype(long pointer) {
    super(pointer, AdartsNative::adarts_genotype_free);
  }

  /** From the versioned genotype JSON (schemas/genotype.schema.json). */
  public static Genotype fromJson(String json) {
    long[] out = {0};
    AdartsNative.adarts_genotype_from_json(json, out);
    return new Genotype(out[0]);
  }

  /** From the DARTS text form: {@code Genotype(normal=[('sep_conv_3x3', 0), ...], ...)}. */
  public static Genotype fromDartsText(String text) {
    long[] out = {0};
    AdartsNative.adarts_genotype_from_darts_text(text, out);
    return new Genotype(out[0]);
  }

  public String toJson() {
    return call(h -> {
      String[] out = new String[1];
      AdartsNative.adarts_genotype_to_json(h, out);
      return out[0];
    });
  }

  public String toDartsText() {
    return call(h -> {
      String[] out = new String[1];
      AdartsNative.adarts_genotype_to_darts_text(h, out);
      return out[0];
    });
  }

  /** Graphviz DOT of one cell, "normal" or "reduce". */
  public String toDot(String cell) {
    return call(h -> {
      String[] out = new String[1];
      AdartsNative.adarts_genotype_to_dot(h, cell, out);
      return out[0];
    });
  }

  /** Parameters of the DARTS CIFAR network built from this genotype. */
  public long parameterCount() {
    return parameterCount(null);
  }

  /**
   * Parameters of the network built from this genotype; {@code networkJson} sets
   * {"in_channels","num_classes","channels","layers","auxiliary","imagenet"} (null: DARTS CIFAR).
   */
  public long parameterCount(String networkJson) {
    return call(h -> {
      long[] out = {0};
      AdartsNative.adarts_genotype_parameter_count(h, networkJson, out);
      return out[0];
    });
  }

  /** The DARTS text form. */
  @Override
  public String toString() {
    return isClosed() ? "Genotype(closed)" : toDartsText();
  }
}
