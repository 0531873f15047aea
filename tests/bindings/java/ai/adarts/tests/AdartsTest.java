package ai.adarts.tests;

import static org.junit.Assert.assertArrayEquals;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertNotEquals;
import static org.junit.Assert.assertNotNull;
import static org.junit.Assert.assertSame;
import static org.junit.Assert.assertThrows;
import static org.junit.Assert.assertTrue;

import ai.adarts.Adarts;
import ai.adarts.AdartsException;
import ai.adarts.Dataset;
import ai.adarts.Genotype;
import ai.adarts.MetricsListener;
import ai.adarts.Progress;
import ai.adarts.Search;
import ai.adarts.Status;
import ai.adarts.Trainer;
import java.io.DataInputStream;
import java.io.File;
import java.io.FileInputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.util.zip.GZIPInputStream;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.AfterClass;
import org.junit.BeforeClass;
import org.junit.Test;

/** The Java binding through its public API (package ai.adarts), on tiny synthetic data. */
public class AdartsTest {
  static final String DARTS_V2 =
      "Genotype(normal=[('sep_conv_3x3', 0), ('sep_conv_3x3', 1), ('sep_conv_3x3', 0), ('sep_conv_3x3', 1), "
      + "('sep_conv_3x3', 1), ('skip_connect', 0), ('skip_connect', 0), ('dil_conv_3x3', 2)], normal_concat=[2, 3, 4, 5], "
      + "reduce=[('max_pool_3x3', 0), ('max_pool_3x3', 1), ('skip_connect', 2), ('max_pool_3x3', 1), ('max_pool_3x3', 0), "
      + "('skip_connect', 2), ('skip_connect', 2), ('max_pool_3x3', 1)], reduce_concat=[2, 3, 4, 5])";

  static File out;
  static Dataset data;

  static String searchConfig(String name) {
    return "{\"channels\":4,\"layers\":2,\"batch_size\":8,\"epochs\":2,\"threads\":1,\"out_dir\":\""
        + new File(out, name).getPath() + "\"}";
  }

  static String trainConfig(String name) {
    return "{\"channels\":4,\"layers\":3,\"batch_size\":8,\"epochs\":1,\"cutout\":0,\"auxiliary\":false,"
        + "\"threads\":1,\"out_dir\":\"" + new File(out, name).getPath() + "\"}";
  }

  @BeforeClass
  public static void setUp() {
    out = new File(System.getProperty("adarts.test.out", "java_test_out"));
    out.mkdirs();
    data = Dataset.synthetic(64, 1, 8, 8, 10, 1);
  }

  @AfterClass
  public static void tearDown() {
    data.close();
  }

  @Test
  public void versionMatchesTheGeneratedAbi() {
    int[] v = Adarts.version();
    assertEquals(Adarts.ABI_MAJOR, v[0]);
    assertEquals(v[0] + "." + v[1] + "." + v[2], Adarts.versionString());
    assertTrue(Adarts.buildInfo().contains("\"torch_version\""));
  }

  @Test
  public void datasetInfo() {
    assertTrue(data.info().contains("\"size\":64"));
  }

  @Test
  public void badDatasetSpecThrowsWithTheLibraryMessage() {
    AdartsException e = assertThrows(AdartsException.class, () -> Dataset.open("{\"kind\":\"synthetic\",\"sise\":3}"));
    assertEquals(Status.PARSE_ERROR, e.getStatus());
    assertTrue(e.getMessage(), e.getMessage().contains("sise"));
    e = assertThrows(AdartsException.class, () -> Dataset.open("{\"kind\":\"idx\",\"dir\":\"/no/such/dir\"}"));
    assertEquals(Status.IO_ERROR, e.getStatus());
  }

  @Test
  public void invalidConfigThrowsWithTheLibraryMessage() {
    AdartsException e = assertThrows(AdartsException.class, () -> new Search("{\"etta\":1}", data));
    assertEquals(Status.PARSE_ERROR, e.getStatus());
    assertEquals(2, e.getCode());
    assertTrue(e.getMessage(), e.getMessage().contains("etta"));
    e = assertThrows(AdartsException.class, () -> new Search("{\"estimator\":\"magic\"}", data));
    assertEquals(Status.INVALID_ARGUMENT, e.getStatus());
    assertTrue(e.getMessage().contains("magic"));
    assertThrows(AdartsException.class, () -> new Search("not json", data));
  }

  @Test
  public void checkpointAndResumeContinueBitIdentically() {
    float[] expected;
    try (Search reference = new Search(searchConfig("resume_reference"), data)) {
      reference.step(5);
      expected = reference.alphas("normal");
    }
    try (Search first = new Search(searchConfig("resume"), data)) {
      first.step(3);
      assertTrue(first.saveCheckpoint().contains("checkpoints"));
    }
    String dir = new File(out, "resume").getPath();
    AdartsException e = assertThrows(AdartsException.class, () -> Search.resume(dir, "{\"eta\":0.9}", data));
    assertEquals(Status.INVALID_ARGUMENT, e.getStatus());
    assertTrue(e.getMessage(), e.getMessage().contains("eta"));
    try (Search resumed = Search.resume(dir, null, data)) {
      resumed.step(2);
      assertArrayEquals(expected, resumed.alphas("normal"), 0.0f);
    }
  }

  @Test
  public void searchStepsAndAlphas() {
    try (Search s = new Search(searchConfig("search_steps"), data)) {
      float[] before = s.alphas("normal");
      assertEquals(14 * 8, before.length);
      assertEquals(14 * 8, s.alphas("reduce").length);
      assertEquals("{}", s.metrics());
      s.step();
      float[] after = s.alphas("normal");
      assertEquals(before.length, after.length);
      assertFalse("alphas changed after a step", java.util.Arrays.equals(before, after));
      assertTrue(s.state(), s.state().contains("\"step_in_epoch\":1"));
      AdartsException e = assertThrows(AdartsException.class, () -> s.alphas("middle"));
      assertEquals(Status.INVALID_ARGUMENT, e.getStatus());
      assertTrue(e.getMessage().contains("middle"));
      assertThrows(AdartsException.class, () -> s.step(0));
    }
  }

  @Test
  public void perCellAlphas() {
    String config = searchConfig("search_s2").replace("\"layers\":2", "\"space\":\"s2\",\"layers\":3");
    try (Search s = new Search(config, data)) {
      assertEquals(3, s.cellCount());
      float[] before = s.cellAlphas(1);
      assertEquals(8 * 2, before.length);
      assertThrows(AdartsException.class, () -> s.cellAlphas(3));
      assertThrows(AdartsException.class, () -> s.alphas("normal"));
      s.step();
      assertFalse("cell alphas changed after a step", java.util.Arrays.equals(before, s.cellAlphas(1)));
    }
    try (Search s = new Search(searchConfig("search_shared"), data)) {
      assertEquals(0, s.cellCount());
      AdartsException e = assertThrows(AdartsException.class, () -> s.cellAlphas(0));
      assertEquals(Status.INVALID_ARGUMENT, e.getStatus());
    }
  }

  @Test
  public void progressListenerSeesStepsAndStops() {
    try (Search s = new Search(searchConfig("search_listener"), data)) {
      List<Progress> seen = new ArrayList<>();
      boolean ended = s.runEpoch(p -> {
        seen.add(p);
        return p.step() >= 2; // stop after the second step
      });
      assertFalse(ended);
      assertEquals(2, seen.size());
      assertEquals(1, seen.get(0).step());
      assertEquals(0, seen.get(0).epoch());
      assertTrue(seen.get(0).stepsPerEpoch() >= 2);
      assertTrue(seen.get(0).loss() > 0);
      assertTrue(s.state().contains("\"step_in_epoch\":2"));
      // The handle stays usable: finish the epoch.
      assertTrue(s.runEpoch());
      String metrics = s.metrics();
      assertTrue(metrics, metrics.contains("\"val_accuracy\"") && metrics.contains("\"genotype\""));
    }
  }

  static final class ListenerFailure extends RuntimeException {
    private static final long serialVersionUID = 1L;

    ListenerFailure() {
      super("thrown by the listener");
    }
  }

  @Test
  public void listenerExceptionIsRethrownAfterTheCall() {
    try (Search s = new Search(searchConfig("search_throw"), data)) {
      AtomicInteger calls = new AtomicInteger();
      ListenerFailure thrown = new ListenerFailure();
      ListenerFailure caught = assertThrows(ListenerFailure.class, () -> s.runEpoch(p -> {
        calls.incrementAndGet();
        throw thrown;
      }));
      assertSame(thrown, caught);
      assertEquals(1, calls.get()); // stopped at once
      assertTrue(s.state().contains("\"step_in_epoch\":1"));
      s.step(); // still usable
      assertTrue(s.state().contains("\"step_in_epoch\":2"));
    }
  }

  @Test
  public void cancelFromAnotherThreadStopsTheEpoch() throws Exception {
    try (Search s = new Search(searchConfig("search_cancel"), data)) {
      CountDownLatch firstStep = new CountDownLatch(1);
      CountDownLatch cancelled = new CountDownLatch(1);
      Thread canceller = new Thread(() -> {
        try {
          firstStep.await();
          s.cancel();
          cancelled.countDown();
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
        }
      });
      canceller.start();
      boolean ended = s.runEpoch(p -> {
        if (p.step() == 1) {
          firstStep.countDown();
          try {
            assertTrue(cancelled.await(60, TimeUnit.SECONDS));
          } catch (InterruptedException e) {
            throw new RuntimeException(e);
          }
        }
        return false;
      });
      canceller.join();
      assertFalse("cancel() stopped the epoch", ended);
      assertTrue(s.state().contains("\"step_in_epoch\":1"));
    }
  }

  @Test
  public void genotypeRoundTrips() {
    try (Genotype g = Genotype.fromDartsText(DARTS_V2)) {
      String json = g.toJson();
      assertTrue(json.contains("adarts.genotype"));
      try (Genotype back = Genotype.fromJson(json)) {
        assertEquals(json, back.toJson());
        assertEquals(DARTS_V2, back.toDartsText());
      }
      String dot = g.toDot("normal");
      assertTrue(dot.contains("digraph") && dot.contains("dil_conv_3x3"));
      assertTrue(g.parameterCount("{\"channels\":8,\"layers\":5}") > 10000);
      assertTrue(g.parameterCount() > g.parameterCount("{\"channels\":8,\"layers\":5}"));
      assertThrows(AdartsException.class, () -> g.toDot("sideways"));
      assertThrows(AdartsException.class, () -> g.parameterCount("{\"width\":3}"));
    }
    AdartsException e = assertThrows(AdartsException.class, () -> Genotype.fromJson("{\"format\":\"adarts.genotype\",\"version\":99}"));
    assertEquals(Status.PARSE_ERROR, e.getStatus());
    assertTrue(e.getMessage().contains("version"));
    assertThrows(AdartsException.class, () -> Genotype.fromDartsText("Genotype(normal=[('conv_9x9', 0)"));
  }

  @Test
  public void searchGenotypeRoundTrips() {
    try (Search s = new Search(searchConfig("search_genotype"), data); Genotype g = s.genotype()) {
      String json = g.toJson();
      try (Genotype back = Genotype.fromJson(json)) {
        assertEquals(json, back.toJson());
      }
      try (Genotype back = Genotype.fromDartsText(g.toDartsText())) {
        assertEquals(g.toDartsText(), back.toDartsText());
      }
    }
  }

  @Test
  public void nonAsciiStringsSurviveTheBoundary() {
    // A message with the offending text comes back intact (UTF-8 both ways).
    AdartsException e = assertThrows(AdartsException.class, () -> new Search("{\"\u00e9t\u00e0\u2603\uD83D\uDE00\":1}", data));
    assertTrue(e.getMessage(), e.getMessage().contains("\u00e9t\u00e0\u2603\uD83D\uDE00"));
  }

  @Test
  public void useAfterCloseThrows() {
    Search s = new Search(searchConfig("search_closed"), data);
    s.close();
    s.close(); // idempotent
    assertTrue(s.isClosed());
    assertThrows(IllegalStateException.class, () -> s.step());
    assertThrows(IllegalStateException.class, () -> s.alphas("normal"));
    assertThrows(IllegalStateException.class, s::cancel);
    Genotype g = Genotype.fromDartsText(DARTS_V2);
    g.close();
    assertThrows(IllegalStateException.class, g::toJson);
    assertThrows(IllegalStateException.class, () -> new Trainer(g, trainConfig("closed"), data));
    Dataset d = Dataset.synthetic(8, 1, 8, 8, 10, 1);
    d.close();
    assertThrows(IllegalStateException.class, d::info);
    assertThrows(IllegalStateException.class, () -> new Search(searchConfig("closed_data"), d));
  }

  @Test
  public void unclosedObjectsAreFreedByTheCleaner() throws Exception {
    for (int i = 0; i < 50; ++i) {
      Genotype.fromDartsText(DARTS_V2); // never closed
    }
    System.gc();
    Thread.sleep(100);
    System.gc();
  }

  @Test
  public void trainerCheckpointAndResumeContinueBitIdentically() {
    String expected;
    try (Genotype g = Genotype.fromDartsText(DARTS_V2)) {
      try (Trainer reference = new Trainer(g, trainConfig("train_resume_reference"), data)) {
        reference.runEpoch();
        expected = reference.evaluate(data);
      }
      try (Trainer first = new Trainer(g, trainConfig("train_resume"), data)) {
        AtomicInteger calls = new AtomicInteger();
        assertFalse(first.runEpoch(p -> calls.incrementAndGet() >= 3));
        assertTrue(first.saveCheckpoint().contains("epoch-000000-step-000003"));
      }
    }
    String dir = new File(out, "train_resume").getPath();
    AdartsException e = assertThrows(AdartsException.class, () -> Trainer.resume(dir, "{\"lr\":0.5}", data));
    assertEquals(Status.INVALID_ARGUMENT, e.getStatus());
    assertTrue(e.getMessage(), e.getMessage().contains("lr"));
    try (Trainer resumed = Trainer.resume(dir, null, data)) {
      assertTrue(resumed.runEpoch());
      assertEquals(expected, resumed.evaluate(data));
    }
  }

  @Test
  public void trainerFromGenotypeTrainsEvaluatesSavesAndLoads() throws java.io.IOException {
    String model = new File(out, "model.pt").getPath();
    try (Genotype g = Genotype.fromDartsText(DARTS_V2); Trainer t = new Trainer(g, trainConfig("train"), data)) {
      AdartsException bad = assertThrows(AdartsException.class, () -> new Trainer(g, "{\"lr\":\"fast\"}", data));
      assertTrue(bad.getMessage().contains("lr"));
      AtomicInteger calls = new AtomicInteger();
      assertFalse(t.runEpoch(p -> calls.incrementAndGet() >= 2));
      assertEquals(2, calls.get());
      assertTrue(t.runEpoch());
      String a = t.evaluate(data);
      assertTrue(a, a.contains("\"top1\"") && a.contains("\"samples\":64"));
      t.save(model);
      File exported = new File(out, "model_darts.pt");
      t.exportPytorch(exported.getPath());
      byte[] head = java.nio.file.Files.readAllBytes(exported.toPath());
      assertTrue(head.length > 2 && head[0] == 'P' && head[1] == 'K');  // a zip: torch.save's format
      try (Trainer loaded = Trainer.load(model)) {
        assertEquals(a, loaded.evaluate(data));
        try (Genotype lg = loaded.genotype()) {
          assertEquals(DARTS_V2, lg.toDartsText());
        }
      }
    }
    AdartsException e = assertThrows(AdartsException.class, () -> Trainer.load("/no/such/model.pt"));
    assertEquals(Status.IO_ERROR, e.getStatus());
  }

  // ---- Datasets from memory: the same search as on the files, bit for bit ----

  static final String FASHION_MNIST = "/usr/share/datasets/fashion-mnist";
  static final int COUNT = 64;

  /** The first n bytes after `skip` of a gzip file. */
  static byte[] gzipHead(String name, int skip, int n) throws IOException {
    try (DataInputStream in = new DataInputStream(new GZIPInputStream(new FileInputStream(new File(FASHION_MNIST, name))))) {
      in.readFully(new byte[skip]); // the header
      byte[] bytes = new byte[n];
      in.readFully(bytes);
      return bytes;
    }
  }

  static float[] alphasAfterSteps(Dataset d, String name) {
    try (Search s = new Search(searchConfig(name).replace("\"epochs\":2", "\"epochs\":1"), d)) {
      s.step(3);
      float[] normal = s.alphas("normal"), reduce = s.alphas("reduce");
      float[] both = java.util.Arrays.copyOf(normal, normal.length + reduce.length);
      System.arraycopy(reduce, 0, both, normal.length, reduce.length);
      return both;
    }
  }

  @Test
  public void inMemoryDatasetsGiveTheAlphasOfTheFiles() throws IOException {
    byte[] images = gzipHead("train-images-idx3-ubyte.gz", 16, COUNT * 28 * 28);
    byte[] labelBytes = gzipHead("train-labels-idx1-ubyte.gz", 8, COUNT);
    long[] labels = new long[COUNT];
    float[] floats = new float[images.length];
    for (int i = 0; i < COUNT; ++i) labels[i] = labelBytes[i] & 0xff;
    for (int i = 0; i < images.length; ++i) floats[i] = (images[i] & 0xff) / 255f;
    FloatBuffer direct = ByteBuffer.allocateDirect(4 * (floats.length + 3)).order(ByteOrder.nativeOrder()).asFloatBuffer();
    direct.put(new float[] {7f, 7f, 7f}).put(floats).flip().position(3); // read from its position

    float[] reference;
    try (Dataset files = Dataset.open("{\"kind\":\"idx\",\"dir\":\"" + FASHION_MNIST + "\",\"subset\":" + COUNT + "}")) {
      reference = alphasAfterSteps(files, "memory_files");
    }
    try (Dataset d = Dataset.fromMemory(floats, COUNT, 1, 28, 28, labels, 10)) {
      assertTrue(d.info().contains("\"name\":\"memory\""));
      assertArrayEquals(reference, alphasAfterSteps(d, "memory_floats"), 0f);
    }
    try (Dataset d = Dataset.fromMemory(direct, COUNT, 1, 28, 28, labels, 10)) {
      assertArrayEquals(reference, alphasAfterSteps(d, "memory_buffer"), 0f);
    }
    try (Dataset d = Dataset.fromMemory(images, 1.0 / 255, COUNT, 1, 28, 28, labels, 10)) {
      assertArrayEquals(reference, alphasAfterSteps(d, "memory_bytes"), 0f);
    }
  }

  @Test
  public void badInMemoryDataAreClearErrors() {
    float[] pixels = new float[8];
    long[] labels = {0, 1};
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> Dataset.fromMemory(pixels, 2, 1, 2, 3, labels, 2));
    assertTrue(e.getMessage(), e.getMessage().contains("hold 8 values"));
    assertThrows(IllegalArgumentException.class, () -> Dataset.fromMemory(pixels, 2, 1, 2, 2, new long[] {0}, 2));
    assertThrows(IllegalArgumentException.class, () -> Dataset.fromMemory((float[]) null, 2, 1, 2, 2, labels, 2));
    assertThrows(IllegalArgumentException.class, () -> Dataset.fromMemory(FloatBuffer.wrap(pixels), 2, 1, 2, 2, labels, 2));
    AdartsException bad = assertThrows(AdartsException.class, () -> Dataset.fromMemory(pixels, 2, 1, 2, 2, new long[] {0, 9}, 2));
    assertEquals(Status.INVALID_ARGUMENT, bad.getStatus());
    assertTrue(bad.getMessage(), bad.getMessage().contains("label 9 of image 1"));
    pixels[6] = Float.NaN;
    bad = assertThrows(AdartsException.class, () -> Dataset.fromMemory(pixels, 2, 1, 2, 2, labels, 2));
    assertTrue(bad.getMessage(), bad.getMessage().contains("pixel 2 of image 1"));
  }

  // ---- Metrics events ----

  @Test
  public void metricsListenerReceivesEachEpochLine() {
    List<String> lines = new ArrayList<>();
    try (Search s = new Search(searchConfig("events"), data)) {
      s.setMetricsListener(lines::add);
      s.step(3); // 4 steps an epoch
      assertEquals(0, lines.size());
      s.step(1);
      assertEquals(1, lines.size());
      assertEquals(s.metrics(), lines.get(0));
      s.setMetricsListener(null);
      assertTrue(s.runEpoch());
      assertEquals(1, lines.size());
    }
    try (Genotype g = Genotype.fromDartsText(DARTS_V2); Trainer t = new Trainer(g, trainConfig("train_events"), data)) {
      t.setMetricsListener(lines::add);
      assertTrue(t.runEpoch());
      assertEquals(2, lines.size());
      assertTrue(lines.get(1).contains("\"train_loss\""));
    }
  }

  @Test
  public void metricsListenerExceptionIsRethrownAfterTheEpoch() {
    try (Search s = new Search(searchConfig("events_boom"), data)) {
      MetricsListener boom = line -> {
        throw new IllegalStateException("from the listener");
      };
      s.setMetricsListener(boom);
      IllegalStateException e = assertThrows(IllegalStateException.class, () -> s.step(4));
      assertEquals("from the listener", e.getMessage());
      assertTrue(s.state().contains("\"epoch\":1")); // the epoch is complete
      s.setMetricsListener(null);
      s.step(1); // and the search usable
    }
  }

  @Test
  public void statusCodesMatchTheHeader() {
    assertEquals(0, Status.OK.code());
    assertEquals(5, Status.CANCELLED.code());
    assertEquals(7, Status.INTERNAL.code());
    assertSame(Status.CANCELLED, Status.fromCode(5));
    assertSame(Status.INTERNAL, Status.fromCode(1000));
    assertNotNull(Status.valueOf("IO_ERROR"));
    assertNotEquals(Status.OK, Status.fromCode(1));
    assertEquals(9, Status.COMMUNICATION_ERROR.code());
    assertArrayEquals(new int[] {0, 1, 2, 3, 4, 5, 6, 7, 8, 9},
        java.util.Arrays.stream(Status.values()).mapToInt(Status::code).toArray());
  }
}
