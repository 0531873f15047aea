// A short architecture search from Java on synthetic data: a few host-driven
// steps, the rest of the epoch with a progress listener, the genotype as JSON
// and back, then one training epoch of the genotype.
//
//   java -Djava.library.path=build/bindings/java -cp build/bindings/java/adarts.jar:. SearchExample [out_dir]

import ai.adarts.Adarts;
import ai.adarts.Dataset;
import ai.adarts.Genotype;
import ai.adarts.Search;
import ai.adarts.Trainer;

public final class SearchExample {
  public static void main(String[] args) {
    String out = args.length > 0 ? args[0] : "java_example_out";
    System.out.println("adarts " + Adarts.versionString());

    String config = "{\"channels\":4,\"layers\":2,\"batch_size\":8,\"epochs\":1,\"threads\":1,"
        + "\"out_dir\":\"" + out + "/search\"}";
    try (Dataset data = Dataset.synthetic(64, 1, 8, 8, 10, 1);
        Search search = new Search(config, data)) {
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
