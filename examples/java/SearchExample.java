// A short architecture search from Java on images the program already holds
// (handed over in memory, no files): a few host-driven steps, the rest of the
// epoch with a progress listener and a metrics listener, the genotype as JSON
// and back, then one training epoch of the genotype.
//
//   java -Djava.library.path=build/bindings/java -cp build/bindings/java/adarts.jar:. SearchExample [out_dir]

import ai.adarts.Adarts;
import ai.adarts.Dataset;
import ai.adarts.Genotype;
import ai.adarts.Search;
import ai.adarts.Trainer;
import java.util.Random;

public final class SearchExample {
  static final int COUNT = 64, CLASSES = 10, SIDE = 8;

  /** A host's own images (float in [0, 1], [COUNT, 1, SIDE, SIDE]): class c is a bright row c % SIDE over noise. */
  static float[] makeImages(long[] labels) {
    Random random = new Random(1);
    float[] images = new float[COUNT * SIDE * SIDE];
    for (int i = 0; i < COUNT; ++i) {
      labels[i] = i % CLASSES;
      for (int y = 0; y < SIDE; ++y) {
        for (int x = 0; x < SIDE; ++x) {
          images[(i * SIDE + y) * SIDE + x] = Math.min(1f, (y == labels[i] % SIDE ? 0.8f : 0f) + 0.2f * random.nextFloat());
        }
      }
    }
    return images;
  }

  public static void main(String[] args) {
    String out = args.length > 0 ? args[0] : "java_example_out";
    System.out.println("adarts " + Adarts.versionString());

    String config = "{\"channels\":4,\"layers\":2,\"batch_size\":8,\"epochs\":1,\"threads\":1,"
        + "\"out_dir\":\"" + out + "/search\"}";
    long[] labels = new long[COUNT];
    float[] images = makeImages(labels); // a direct FloatBuffer works the same
    try (Dataset data = Dataset.fromMemory(images, COUNT, 1, SIDE, SIDE, labels, CLASSES);
        Search search = new Search(config, data)) {
      search.setMetricsListener(line -> System.out.println("  metrics: " + line.substring(0, Math.min(80, line.length())) + " ..."));
      search.step(1);
      System.out.println("state after one step: " + search.state());
      boolean ended = search.runEpoch(p -> {
        System.out.println("  " + p);
        return false; // go on
      });
      System.out.println("epoch ended: " + ended);

      try (Genotype genotype = search.genotype()) {
        String json = genotype.toJson();
        System.out.println("genotype JSON:");
        System.out.println(json);
        System.out.println("DARTS text: " + genotype.toDartsText());
        try (Genotype back = Genotype.fromJson(json)) {
          if (!back.toJson().equals(json)) throw new AssertionError("the JSON round trip changed the genotype");
          System.out.println("round trip: ok");
        }

        String trainConfig = "{\"channels\":4,\"layers\":3,\"batch_size\":8,\"epochs\":1,\"cutout\":0,"
            + "\"auxiliary\":false,\"threads\":1,\"out_dir\":\"" + out + "/train\"}";
        try (Trainer trainer = new Trainer(genotype, trainConfig, data)) {
          trainer.runEpoch();
          System.out.println("evaluation: " + trainer.evaluate(data));
        }
      }
    }
  }
}
