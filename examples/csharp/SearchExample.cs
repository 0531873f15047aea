// A short architecture search from C# on synthetic data: a few host-driven
// steps, the rest of the epoch with a progress handler, the genotype as JSON
// and back, then one training epoch of the genotype.
//
//   mcs -r:build/bindings/csharp/Adarts.dll -out:build/bindings/csharp/SearchExample.exe examples/csharp/SearchExample.cs
//   mono build/bindings/csharp/SearchExample.exe [out_dir]
using System;
using System.IO;
using Adarts;

static class SearchExample {
  static int Main(string[] args) {
    string outDir = args.Length > 0 ? args[0] : "csharp_example_out";
    Console.WriteLine("adarts " + AdartsLibrary.VersionString);

    string config = "{\"channels\":4,\"layers\":2,\"batch_size\":8,\"epochs\":1,\"threads\":1,\"out_dir\":\""
        + Path.Combine(outDir, "search") + "\"}";
    using (var data = Dataset.Synthetic(64, 1, 8, 8, 10, 1))
    using (var search = new Search(config, data)) {
      search.Step();
      Console.WriteLine("state after one step: " + search.State());
      bool ended = search.RunEpoch(p => {
        Console.WriteLine("  " + p);
        return false;  // go on
      });
      Console.WriteLine("epoch ended: " + ended);

      using (var genotype = search.Genotype()) {
        string json = genotype.ToJson();
        Console.WriteLine("genotype JSON:");
        Console.WriteLine(json);
        Console.WriteLine("DARTS text: " + genotype.ToDartsText());
        using (var back = Genotype.FromJson(json)) {
          if (back.ToJson() != json) throw new Exception("the JSON round trip changed the genotype");
          Console.WriteLine("round trip: ok");
        }

        string trainConfig = "{\"channels\":4,\"layers\":3,\"batch_size\":8,\"epochs\":1,\"cutout\":0,"
            + "\"auxiliary\":false,\"threads\":1,\"out_dir\":\"" + Path.Combine(outDir, "train") + "\"}";
        using (var trainer = new Trainer(genotype, trainConfig, data)) {
          trainer.RunEpoch();
          Console.WriteLine("evaluation: " + trainer.Evaluate(data));
        }
      }
    }
    return 0;
  }
}
