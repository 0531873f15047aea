// A short architecture search from C# on images the program already holds
// (handed over in memory, no files): a few host-driven steps, the rest of the
// epoch with a progress handler and a metrics listener, the genotype as JSON
// and back, then one training epoch of the genotype.
//
//   mcs -r:build/bindings/csharp/Adarts.dll -out:build/bindings/csharp/SearchExample.exe examples/csharp/SearchExample.cs
//   mono build/bindings/csharp/SearchExample.exe [out_dir]
using System;
using System.IO;
using Adarts;

static class SearchExample {
  const int Count = 64, Classes = 10, Side = 8;

  // A host's own images (float in [0, 1], [Count, 1, Side, Side]): class c is a bright row c % Side over noise.
  static float[] MakeImages(long[] labels) {
    var random = new Random(1);
    var images = new float[Count * Side * Side];
    for (int i = 0; i < Count; ++i) {
      labels[i] = i % Classes;
      for (int y = 0; y < Side; ++y)
        for (int x = 0; x < Side; ++x)
          images[(i * Side + y) * Side + x] = Math.Min(1f, (y == labels[i] % Side ? 0.8f : 0f) + 0.2f * (float)random.NextDouble());
    }
    return images;
  }

  static int Main(string[] args) {
    string outDir = args.Length > 0 ? args[0] : "csharp_example_out";
    Console.WriteLine("adarts " + AdartsLibrary.VersionString);

    string config = "{\"channels\":4,\"layers\":2,\"batch_size\":8,\"epochs\":1,\"threads\":1,\"out_dir\":\""
        + Path.Combine(outDir, "search") + "\"}";
    var labels = new long[Count];
    float[] images = MakeImages(labels);  // a Span<float> or a pointer works the same
    using (var data = Dataset.FromMemory(images, labels, Count, 1, Side, Side, Classes))
    using (var search = new Search(config, data)) {
      search.SetMetricsListener(line => Console.WriteLine("  metrics: " + line.Substring(0, Math.Min(80, line.Length)) + " ..."));
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
