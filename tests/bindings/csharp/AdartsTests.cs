// The C# binding through its public API (namespace Adarts), on tiny synthetic
// data: a plain assertion program (exit status 0 when every test passes).
using System;
using System.Collections.Generic;
using System.IO;
using System.IO.Compression;
using System.Linq;
using System.Reflection;
using System.Threading;
using Adarts;

static class AdartsTests {
  const string DartsV2 =
      "Genotype(normal=[('sep_conv_3x3', 0), ('sep_conv_3x3', 1), ('sep_conv_3x3', 0), ('sep_conv_3x3', 1), " +
      "('sep_conv_3x3', 1), ('skip_connect', 0), ('skip_connect', 0), ('dil_conv_3x3', 2)], normal_concat=[2, 3, 4, 5], " +
      "reduce=[('max_pool_3x3', 0), ('max_pool_3x3', 1), ('skip_connect', 2), ('max_pool_3x3', 1), ('max_pool_3x3', 0), " +
      "('skip_connect', 2), ('skip_connect', 2), ('max_pool_3x3', 1)], reduce_concat=[2, 3, 4, 5])";

  static string outDir;
  static Dataset data;

  // ---- a minimal harness ----
  sealed class Test : Attribute {}

  sealed class AssertionFailed : Exception {
    public AssertionFailed(string message) : base(message) {}
  }

  static void Check(bool condition, string what) {
    if (!condition) throw new AssertionFailed(what);
  }

  static void Equal<T>(T expected, T actual, string what) {
    if (!EqualityComparer<T>.Default.Equals(expected, actual))
      throw new AssertionFailed(what + ": expected <" + expected + ">, got <" + actual + ">");
  }

  static T Throws<T>(Action action, string what) where T : Exception {
    try {
      action();
    } catch (T e) {
      return e;
    } catch (Exception e) {
      throw new AssertionFailed(what + ": expected " + typeof(T).Name + ", got " + e);
    }
    throw new AssertionFailed(what + ": expected " + typeof(T).Name + ", nothing thrown");
  }

  static string SearchConfig(string name) {
    return "{\"channels\":4,\"layers\":2,\"batch_size\":8,\"epochs\":2,\"threads\":1,\"out_dir\":\"" +
           Path.Combine(outDir, name) + "\"}";
  }

  static string TrainConfig(string name) {
    return "{\"channels\":4,\"layers\":3,\"batch_size\":8,\"epochs\":1,\"cutout\":0,\"auxiliary\":false," +
           "\"threads\":1,\"out_dir\":\"" + Path.Combine(outDir, name) + "\"}";
  }

  // ---- the tests ----
  [Test]
  static void VersionMatchesTheGeneratedAbi() {
    Version v = AdartsLibrary.Version;
    Equal(AdartsLibrary.AbiMajor, v.Major, "major");
    Equal(v.Major + "." + v.Minor + "." + v.Build, AdartsLibrary.VersionString, "version string");
    Check(AdartsLibrary.BuildInfo().Contains("\"torch_version\""), "build info");
  }

  [Test]
  static void StatusValuesMatchTheHeader() {
    Equal(0, (int)Status.Ok, "Ok");
    Equal(5, (int)Status.Cancelled, "Cancelled");
    Equal(7, (int)Status.Internal, "Internal");
    Equal(8, (int)Status.NumericalError, "NumericalError");
    Equal(9, (int)Status.CommunicationError, "CommunicationError");
  }

  [Test]
  static void CheckpointAndResumeContinueBitIdentically() {
    float[] expected;
    using (var reference = new Search(SearchConfig("resume_reference"), data)) {
      reference.Step(5);
      expected = reference.Alphas();
    }
    string dir = Path.Combine(outDir, "resume");
    using (var first = new Search(SearchConfig("resume"), data)) {
      first.Step(3);
      Check(first.SaveCheckpoint().Contains("checkpoints"), "checkpoint path");
    }
    var e = Throws<AdartsException>(() => Search.Resume(dir, "{\"eta\":0.9}", data), "changed eta");
    Equal(Status.InvalidArgument, e.Status, "status");
    Check(e.Message.Contains("eta"), "message names eta: " + e.Message);
    using (var resumed = Search.Resume(dir, null, data)) {
      resumed.Step(2);
      Check(expected.SequenceEqual(resumed.Alphas()), "resumed alphas equal the uninterrupted run's");
    }
  }

  [Test]
  static void DatasetInfoAndBadSpecs() {
    Check(data.Info().Contains("\"size\":64"), "info");
    var e = Throws<AdartsException>(() => Dataset.Open("{\"kind\":\"synthetic\",\"sise\":3}"), "bad key");
    Equal(Status.ParseError, e.Status, "status");
    Check(e.Message.Contains("sise"), "message names the key: " + e.Message);
    e = Throws<AdartsException>(() => Dataset.Open("{\"kind\":\"idx\",\"dir\":\"/no/such/dir\"}"), "missing dir");
    Equal(Status.IoError, e.Status, "status");
  }

  [Test]
  static void InvalidConfigThrowsWithTheLibraryMessage() {
    var e = Throws<AdartsException>(() => new Search("{\"etta\":1}", data), "unknown key");
    Equal(Status.ParseError, e.Status, "status");
    Check(e.Message.Contains("etta"), "message names the key: " + e.Message);
    e = Throws<AdartsException>(() => new Search("{\"estimator\":\"magic\"}", data), "bad estimator");
    Equal(Status.InvalidArgument, e.Status, "status");
    Check(e.Message.Contains("magic"), "message names the value");
    Throws<AdartsException>(() => new Search("not json", data), "not json");
  }

  [Test]
  static void NonAsciiTextCrossesTheBoundary() {
    string key = "\u00e9t\u00e0\u2603\U0001F600";
    var e = Throws<AdartsException>(() => new Search("{\"" + key + "\":1}", data), "unknown key");
    Check(e.Message.Contains(key), "message keeps the key: " + e.Message);
  }

  [Test]
  static void StepAndAlphas() {
    using (var s = new Search(SearchConfig("steps"), data)) {
      float[] before = s.Alphas("normal");
      Equal(112, before.Length, "alphas");
      Equal(112, s.Alphas("reduce").Length, "reduce alphas");
      Equal("{}", s.Metrics(), "metrics before an epoch ends");
      s.Step();
      float[] after = s.Alphas();
      Equal(112, after.Length, "alphas after a step");
      Check(!before.SequenceEqual(after), "alphas changed after a step");
      Check(s.State().Contains("\"step_in_epoch\":1"), "state: " + s.State());
      var e = Throws<AdartsException>(() => s.Alphas("middle"), "bad cell");
      Equal(Status.InvalidArgument, e.Status, "status");
      Check(e.Message.Contains("middle"), "message names the cell");
      Throws<AdartsException>(() => s.Step(0), "zero steps");
    }
  }

  [Test]
  static void PerCellAlphas() {
    string config = SearchConfig("s2").Replace("\"layers\":2", "\"space\":\"s2\",\"layers\":3");
    using (var s = new Search(config, data)) {
      Equal(3L, s.CellCount(), "cell count");
      float[] before = s.CellAlphas(1);
      Equal(16, before.Length, "8 edges x 2 ops");
      Throws<AdartsException>(() => s.CellAlphas(3), "index out of range");
      Throws<AdartsException>(() => s.Alphas("normal"), "shared alphas of a per-cell space");
      s.Step();
      Check(!before.SequenceEqual(s.CellAlphas(1)), "cell alphas changed after a step");
    }
    using (var s = new Search(SearchConfig("shared"), data)) {
      Equal(0L, s.CellCount(), "shared space");
      var e = Throws<AdartsException>(() => s.CellAlphas(0), "shared space");
      Equal(Status.InvalidArgument, e.Status, "status");
    }
  }

  [Test]
  static void HandlerSeesStepsAndStops() {
    using (var s = new Search(SearchConfig("handler"), data)) {
      var seen = new List<Progress>();
      bool ended = s.RunEpoch(p => {
        seen.Add(p);
        return p.Step >= 2;
      });
      Check(!ended, "stopped");
      Equal(2, seen.Count, "calls");
      Equal(1L, seen[0].Step, "first step");
      Equal(0L, seen[0].Epoch, "epoch");
      Check(seen[0].Loss > 0, "loss");
      Check(s.State().Contains("\"step_in_epoch\":2"), "state");
      Check(s.RunEpoch(), "the handle stays usable: the epoch ends");
      string metrics = s.Metrics();
      Check(metrics.Contains("\"val_accuracy\"") && metrics.Contains("\"genotype\""), "metrics: " + metrics);
    }
  }

  sealed class HandlerFailure : Exception {
    public HandlerFailure() : base("thrown by the handler") {}
  }

  [Test]
  static void HandlerExceptionIsRethrownAfterTheCall() {
    using (var s = new Search(SearchConfig("throw"), data)) {
      int calls = 0;
      var thrown = new HandlerFailure();
      var caught = Throws<HandlerFailure>(() => s.RunEpoch(p => {
        ++calls;
        throw thrown;
      }), "handler exception");
      Check(ReferenceEquals(thrown, caught), "the same exception");
      Check(caught.StackTrace != null && caught.StackTrace.Contains("HandlerExceptionIsRethrownAfterTheCall"),
            "the handler's stack trace is kept: " + caught.StackTrace);
      Equal(1, calls, "stopped at once");
      Check(s.State().Contains("\"step_in_epoch\":1"), "state");
      s.Step();
      Check(s.State().Contains("\"step_in_epoch\":2"), "still usable");
      // No exception is left pending on the thread.
      Check(s.RunEpoch(), "a later epoch runs");
    }
  }

  [Test]
  static void CancelFromAnotherThread() {
    using (var s = new Search(SearchConfig("cancel"), data))
    using (var firstStep = new ManualResetEventSlim())
    using (var cancelled = new ManualResetEventSlim()) {
      var canceller = new Thread(() => {
        firstStep.Wait(60000);
        s.Cancel();
        cancelled.Set();
      });
      canceller.Start();
      bool ended = s.RunEpoch(p => {
        if (p.Step == 1) {
          firstStep.Set();
          Check(cancelled.Wait(60000), "the canceller ran");
        }
        return false;
      });
      canceller.Join();
      Check(!ended, "Cancel() stopped the epoch");
      Check(s.State().Contains("\"step_in_epoch\":1"), "state");
    }
  }

  [Test]
  static void GenotypeRoundTrips() {
    using (var g = Genotype.FromDartsText(DartsV2)) {
      string json = g.ToJson();
      Check(json.Contains("adarts.genotype"), "format");
      using (var back = Genotype.FromJson(json)) {
        Equal(json, back.ToJson(), "JSON round trip");
        Equal(DartsV2, back.ToDartsText(), "DARTS text round trip");
        Equal(DartsV2, back.ToString(), "ToString");
      }
      string dot = g.ToDot("normal");
      Check(dot.Contains("digraph") && dot.Contains("dil_conv_3x3"), "dot");
      long small = g.ParameterCount("{\"channels\":8,\"layers\":5}");
      Check(small > 10000, "parameters");
      Check(g.ParameterCount() > small, "DARTS CIFAR is larger");
      Throws<AdartsException>(() => g.ToDot("sideways"), "bad cell");
      Throws<AdartsException>(() => g.ParameterCount("{\"width\":3}"), "bad network");
    }
    var e = Throws<AdartsException>(() => Genotype.FromJson("{\"format\":\"adarts.genotype\",\"version\":99}"), "version");
    Equal(Status.ParseError, e.Status, "status");
    Check(e.Message.Contains("version"), "message");
    Throws<AdartsException>(() => Genotype.FromDartsText("Genotype(normal=[('conv_9x9', 0)"), "bad text");
  }

  [Test]
  static void SearchGenotypeRoundTrips() {
    using (var s = new Search(SearchConfig("genotype"), data))
    using (var g = s.Genotype()) {
      string json = g.ToJson();
      using (var back = Genotype.FromJson(json)) Equal(json, back.ToJson(), "JSON round trip");
      using (var back = Genotype.FromDartsText(g.ToDartsText())) Equal(g.ToDartsText(), back.ToDartsText(), "text");
    }
  }

  [Test]
  static void UseAfterDisposeThrows() {
    var s = new Search(SearchConfig("disposed"), data);
    s.Dispose();
    s.Dispose();  // idempotent
    Check(s.IsDisposed, "disposed");
    Throws<ObjectDisposedException>(() => s.Step(), "Step");
    Throws<ObjectDisposedException>(() => s.Alphas(), "Alphas");
    Throws<ObjectDisposedException>(() => s.Cancel(), "Cancel");
    var g = Genotype.FromDartsText(DartsV2);
    g.Dispose();
    Throws<ObjectDisposedException>(() => g.ToJson(), "ToJson");
    Throws<ObjectDisposedException>(() => new Trainer(g, TrainConfig("disposed"), data), "Trainer of a disposed genotype");
    var d = Dataset.Synthetic(8, 1, 8, 8);
    d.Dispose();
    Throws<ObjectDisposedException>(() => d.Info(), "Info");
    Throws<ObjectDisposedException>(() => new Search(SearchConfig("disposed_data"), d), "Search on a disposed dataset");
  }

  [Test]
  static void UndisposedObjectsAreFreedByTheFinalizer() {
    for (int i = 0; i < 50; ++i) Genotype.FromDartsText(DartsV2);  // never disposed
    GC.Collect();
    GC.WaitForPendingFinalizers();
    GC.Collect();
  }

  [Test]
  static void TrainerCheckpointAndResumeContinueBitIdentically() {
    string expected;
    using (var g = Genotype.FromDartsText(DartsV2)) {
      using (var reference = new Trainer(g, TrainConfig("train_resume_reference"), data)) {
        reference.RunEpoch();
        expected = reference.Evaluate(data);
      }
      using (var first = new Trainer(g, TrainConfig("train_resume"), data)) {
        int calls = 0;
        Check(!first.RunEpoch(p => ++calls >= 3), "stopped after step 3");
        Check(first.SaveCheckpoint().Contains("epoch-000000-step-000003"), "checkpoint path");
      }
    }
    string dir = Path.Combine(outDir, "train_resume");
    var e = Throws<AdartsException>(() => Trainer.Resume(dir, "{\"lr\":0.5}", data), "changed lr");
    Equal(Status.InvalidArgument, e.Status, "status");
    Check(e.Message.Contains("lr"), "message names lr: " + e.Message);
    using (var resumed = Trainer.Resume(dir, null, data)) {
      Check(resumed.RunEpoch(), "the rest of the epoch");
      Equal(expected, resumed.Evaluate(data), "the resumed run evaluates as the uninterrupted one");
    }
  }

  [Test]
  static void TrainerFromGenotypeTrainsEvaluatesSavesAndLoads() {
    string model = Path.Combine(outDir, "model.pt");
    using (var g = Genotype.FromDartsText(DartsV2))
    using (var t = new Trainer(g, TrainConfig("train"), data)) {
      var bad = Throws<AdartsException>(() => new Trainer(g, "{\"lr\":\"fast\"}", data), "bad config");
      Check(bad.Message.Contains("lr"), "message");
      int calls = 0;
      Check(!t.RunEpoch(p => ++calls >= 2), "stopped by the handler");
      Equal(2, calls, "calls");
      Check(t.RunEpoch(), "the epoch ends");
      string a = t.Evaluate(data);
      Check(a.Contains("\"top1\"") && a.Contains("\"samples\":64"), "evaluation: " + a);
      t.Save(model);
      string exported = Path.Combine(outDir, "model_darts.pt");
      t.ExportPytorch(exported);
      byte[] head = File.ReadAllBytes(exported);
      Check(head.Length > 2 && head[0] == (byte)'P' && head[1] == (byte)'K', "a zip (torch.save's format)");
      using (var loaded = Trainer.Load(model)) {
        Equal(a, loaded.Evaluate(data), "the same evaluation after a reload");
        using (var lg = loaded.Genotype()) Equal(DartsV2, lg.ToDartsText(), "genotype of the model");
      }
    }
    var e = Throws<AdartsException>(() => Trainer.Load("/no/such/model.pt"), "missing model");
    Equal(Status.IoError, e.Status, "status");
  }

  // ---- Datasets from memory: the same search as on the files, bit for bit ----
  const string FashionMnist = "/usr/share/datasets/fashion-mnist";
  const int Count = 64;

  static byte[] GzipHead(string name, int skip, int n) {
    using (var file = File.OpenRead(Path.Combine(FashionMnist, name)))
    using (var gz = new GZipStream(file, CompressionMode.Decompress)) {
      var bytes = new byte[skip + n];
      int read = 0, got;
      while (read < bytes.Length && (got = gz.Read(bytes, read, bytes.Length - read)) > 0) read += got;
      Equal(bytes.Length, read, name + " bytes");
      return bytes.Skip(skip).ToArray();
    }
  }

  static float[] AlphasAfterSteps(Dataset d, string name) {
    using (var s = new Search(SearchConfig(name).Replace("\"epochs\":2", "\"epochs\":1"), d)) {
      s.Step(3);
      return s.Alphas("normal").Concat(s.Alphas("reduce")).ToArray();
    }
  }

  [Test]
  static void InMemoryDatasetsGiveTheAlphasOfTheFiles() {
    byte[] images = GzipHead("train-images-idx3-ubyte.gz", 16, Count * 28 * 28);
    long[] labels = GzipHead("train-labels-idx1-ubyte.gz", 8, Count).Select(b => (long)b).ToArray();
    var padded = new float[images.Length + 5];  // the span is a slice of it
    for (int i = 0; i < images.Length; ++i) padded[i + 5] = images[i] / 255f;
    float[] reference;
    using (var files = Dataset.Open("{\"kind\":\"idx\",\"dir\":\"" + FashionMnist + "\",\"subset\":" + Count + "}")) {
      reference = AlphasAfterSteps(files, "memory_files");
    }
    using (var d = Dataset.FromMemory(new ReadOnlySpan<float>(padded, 5, images.Length), labels, Count, 1, 28, 28, 10)) {
      Check(d.Info().Contains("\"name\":\"memory\""), "info: " + d.Info());
      Check(reference.SequenceEqual(AlphasAfterSteps(d, "memory_span")), "span: the alphas of the files");
    }
    using (var d = Dataset.FromMemory(padded.Skip(5).ToArray(), labels, Count, 1, 28, 28, 10)) {
      Check(reference.SequenceEqual(AlphasAfterSteps(d, "memory_array")), "array: the alphas of the files");
    }
    using (var d = Dataset.FromMemory(images, 1.0 / 255, labels, Count, 1, 28, 28, 10)) {
      Check(reference.SequenceEqual(AlphasAfterSteps(d, "memory_bytes")), "bytes: the alphas of the files");
    }
  }

  [Test]
  static void BadInMemoryDataAreClearErrors() {
    var pixels = new float[8];
    var labels = new long[] {0, 1};
    var e = Throws<ArgumentException>(() => Dataset.FromMemory(pixels, labels, 2, 1, 2, 3, 2), "shape");
    Check(e.Message.Contains("hold 8 values"), e.Message);
    Throws<ArgumentException>(() => Dataset.FromMemory(pixels, new long[] {0}, 2, 1, 2, 2, 2), "label count");
    Throws<ArgumentNullException>(() => Dataset.FromMemory((float[])null, labels, 2, 1, 2, 2, 2), "null");
    var bad = Throws<AdartsException>(() => Dataset.FromMemory(pixels, new long[] {0, 9}, 2, 1, 2, 2, 2), "label");
    Equal(Status.InvalidArgument, bad.Status, "status");
    Check(bad.Message.Contains("label 9 of image 1"), bad.Message);
    pixels[6] = float.NaN;
    bad = Throws<AdartsException>(() => Dataset.FromMemory(pixels, labels, 2, 1, 2, 2, 2), "NaN");
    Check(bad.Message.Contains("pixel 2 of image 1"), bad.Message);
  }

  // ---- Metrics events ----
  [Test]
  static void MetricsListenerReceivesEachEpochLine() {
    var lines = new List<string>();
    using (var s = new Search(SearchConfig("events"), data)) {
      s.SetMetricsListener(lines.Add);
      s.Step(3);  // 4 steps an epoch
      Equal(0, lines.Count, "no epoch ended");
      s.Step(1);
      Equal(1, lines.Count, "one epoch ended");
      Equal(s.Metrics(), lines[0], "the line is the metrics");
      s.SetMetricsListener(null);
      Check(s.RunEpoch(), "epoch ends");
      Equal(1, lines.Count, "removed");
    }
    using (var g = Genotype.FromDartsText(DartsV2))
    using (var t = new Trainer(g, TrainConfig("train_events"), data)) {
      t.SetMetricsListener(lines.Add);
      Check(t.RunEpoch(), "training epoch ends");
      Equal(2, lines.Count, "the trainer's line");
      Check(lines[1].Contains("\"train_loss\""), lines[1]);
    }
  }

  [Test]
  static void MetricsListenerExceptionIsRethrownAfterTheEpoch() {
    using (var s = new Search(SearchConfig("events_boom"), data)) {
      s.SetMetricsListener(line => { throw new InvalidOperationException("from the listener"); });
      var e = Throws<InvalidOperationException>(() => s.Step(4), "rethrown");
      Equal("from the listener", e.Message, "message");
      Check(s.State().Contains("\"epoch\":1"), "the epoch is complete: " + s.State());
      s.SetMetricsListener(null);
      s.Step(1);  // and the search usable
    }
  }

  static int Main(string[] args) {
    outDir = args.Length > 0 ? args[0] : "csharp_test_out";
    Directory.CreateDirectory(outDir);
    int failures = 0, count = 0;
    using (data = Dataset.Synthetic(64, 1, 8, 8, 10, 1)) {
      foreach (var m in typeof(AdartsTests).GetMethods(BindingFlags.Static | BindingFlags.NonPublic)
                                           .Where(m => m.GetCustomAttributes(typeof(Test), false).Length > 0)
                                           .OrderBy(m => m.MetadataToken)) {
        ++count;
        try {
          m.Invoke(null, null);
          Console.WriteLine("ok    " + m.Name);
        } catch (TargetInvocationException e) {
          ++failures;
          Console.WriteLine("FAIL  " + m.Name + ": " + e.InnerException);
        }
      }
    }
    Console.WriteLine("{0} tests, {1} failures", count, failures);
    return failures == 0 ? 0 : 1;
  }
}
