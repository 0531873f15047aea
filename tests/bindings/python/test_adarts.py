"""The Python binding through the adarts package, on tiny synthetic data (unittest)."""

import array
import gc
import gzip
import os
import tempfile
import threading
import unittest

import adarts

DARTS_V2 = (
    "Genotype(normal=[('sep_conv_3x3', 0), ('sep_conv_3x3', 1), ('sep_conv_3x3', 0), ('sep_conv_3x3', 1), "
    "('sep_conv_3x3', 1), ('skip_connect', 0), ('skip_connect', 0), ('dil_conv_3x3', 2)], normal_concat=[2, 3, 4, 5], "
    "reduce=[('max_pool_3x3', 0), ('max_pool_3x3', 1), ('skip_connect', 2), ('max_pool_3x3', 1), ('max_pool_3x3', 0), "
    "('skip_connect', 2), ('skip_connect', 2), ('max_pool_3x3', 1)], reduce_concat=[2, 3, 4, 5])")

OUT = os.environ.get("ADARTS_TEST_OUT") or tempfile.mkdtemp(prefix="adarts_python_test_")


def search_config(name):
    return {"channels": 4, "layers": 2, "batch_size": 8, "epochs": 2, "threads": 1,
            "out_dir": os.path.join(OUT, name)}


def train_config(name):
    return {"channels": 4, "layers": 3, "batch_size": 8, "epochs": 1, "cutout": 0, "auxiliary": False,
            "threads": 1, "out_dir": os.path.join(OUT, name)}


FASHION_MNIST = "/usr/share/datasets/fashion-mnist"


def read_idx_head(count):
    """The first `count` Fashion-MNIST training images (bytes) and labels, read with the standard library."""
    with gzip.open(os.path.join(FASHION_MNIST, "train-images-idx3-ubyte.gz")) as f:
        header = f.read(16)
        assert header[:4] == bytes([0, 0, 8, 3]), header
        images = f.read(count * 28 * 28)
    with gzip.open(os.path.join(FASHION_MNIST, "train-labels-idx1-ubyte.gz")) as f:
        f.read(8)
        labels = array.array("q", list(f.read(count)))
    return images, labels


def alphas_after_steps(dataset, name, steps=3):
    with adarts.Search(dict(search_config(name), epochs=1), dataset) as s:
        s.step(steps)
        return s.alphas("normal") + s.alphas("reduce")


class Fixture(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.data = adarts.Dataset.synthetic(size=64, channels=1, height=8, width=8, classes=10, seed=1)

    @classmethod
    def tearDownClass(cls):
        cls.data.close()


class LibraryTest(Fixture):
    def test_version_matches_the_generated_abi(self):
        major, minor, patch = adarts.version()
        self.assertEqual(major, adarts.ABI_MAJOR)
        self.assertEqual(adarts.version_string(), "%d.%d.%d" % (major, minor, patch))
        info = adarts.build_info()
        self.assertIn("torch_version", info)
        self.assertEqual(info["abi_major"], adarts.ABI_MAJOR)

    def test_status_values(self):
        self.assertEqual(int(adarts.Status.OK), 0)
        self.assertEqual(int(adarts.Status.CANCELLED), 5)
        self.assertEqual(len(adarts.Status), 10)
        self.assertEqual(int(adarts.Status.NUMERICAL_ERROR), 8)
        self.assertEqual(int(adarts.Status.COMMUNICATION_ERROR), 9)

    def test_dataset_info_and_bad_specs(self):
        self.assertEqual(self.data.info()["size"], 64)
        with self.assertRaises(adarts.AdartsError) as cm:
            adarts.Dataset.open({"kind": "synthetic", "sise": 3})
        self.assertEqual(cm.exception.status, adarts.Status.PARSE_ERROR)
        self.assertIn("sise", str(cm.exception))
        with self.assertRaises(adarts.AdartsError) as cm:
            adarts.Dataset.open('{"kind":"idx","dir":"/no/such/dir"}')
        self.assertIs(cm.exception.status, adarts.Status.IO_ERROR)
        self.assertIsInstance(cm.exception, RuntimeError)


class SearchTest(Fixture):
    def test_invalid_config_raises_with_the_library_message(self):
        with self.assertRaises(adarts.AdartsError) as cm:
            adarts.Search({"etta": 1}, self.data)
        self.assertEqual(cm.exception.status, adarts.Status.PARSE_ERROR)
        self.assertIn("etta", str(cm.exception))
        self.assertIn("etta", cm.exception.message)
        with self.assertRaises(adarts.AdartsError) as cm:
            adarts.Search({"estimator": "magic"}, self.data)
        self.assertEqual(cm.exception.status, adarts.Status.INVALID_ARGUMENT)
        self.assertIn("magic", str(cm.exception))
        with self.assertRaises(adarts.AdartsError):
            adarts.Search("not json", self.data)

    def test_non_ascii_text_crosses_the_boundary(self):
        key = "\u00e9t\u00e0\u2603\U0001F600"
        with self.assertRaises(adarts.AdartsError) as cm:
            adarts.Search({key: 1}, self.data)
        self.assertIn(key, str(cm.exception))

    def test_checkpoint_and_resume_continue_bit_identically(self):
        with adarts.Search(search_config("resume_reference"), self.data) as reference:
            reference.step(5)
            expected = reference.alphas()
        with adarts.Search(search_config("resume"), self.data) as first:
            first.step(3)
            path = first.save_checkpoint()
            self.assertIn(os.path.join("resume", "checkpoints", "epoch-"), path)
        with self.assertRaises(adarts.AdartsError) as cm:
            adarts.Search.resume(os.path.join(OUT, "resume"), {"eta": 0.9}, self.data)
        self.assertEqual(cm.exception.status, adarts.Status.INVALID_ARGUMENT)
        self.assertIn("eta", str(cm.exception))
        with adarts.Search.resume(os.path.join(OUT, "resume"), None, self.data) as resumed:
            self.assertEqual(resumed.state()["step_in_epoch"], 3)
            resumed.step(2)
            self.assertEqual(resumed.alphas(), expected)

    def test_step_and_alphas(self):
        with adarts.Search(search_config("steps"), self.data) as s:
            before = s.alphas("normal")
            self.assertEqual(len(before), 112)
            self.assertTrue(all(isinstance(v, float) for v in before))
            self.assertEqual(len(s.alphas("reduce")), 112)
            self.assertEqual(s.metrics(), {})
            s.step()
            after = s.alphas()
            self.assertEqual(len(after), 112)
            self.assertNotEqual(before, after)
            state = s.state()
            self.assertEqual((state["epoch"], state["step_in_epoch"]), (0, 1))
            with self.assertRaises(adarts.AdartsError) as cm:
                s.alphas("middle")
            self.assertEqual(cm.exception.status, adarts.Status.INVALID_ARGUMENT)
            self.assertIn("middle", str(cm.exception))
            with self.assertRaises(adarts.AdartsError):
                s.step(0)

    def test_per_cell_alphas(self):
        with adarts.Search(dict(search_config("s2"), space="s2", layers=3), self.data) as s:
            self.assertEqual(s.cell_count(), 3)
            before = s.cell_alphas(1)
            self.assertEqual(len(before), 16)  # 8 fixed edges x {skip_connect, sep_conv_3x3}
            with self.assertRaises(adarts.AdartsError) as cm:
                s.cell_alphas(3)
            self.assertEqual(cm.exception.status, adarts.Status.INVALID_ARGUMENT)
            with self.assertRaises(adarts.AdartsError):
                s.alphas("normal")
            s.step()
            self.assertNotEqual(s.cell_alphas(1), before)
        with adarts.Search(search_config("shared"), self.data) as s:
            self.assertEqual(s.cell_count(), 0)
            with self.assertRaises(adarts.AdartsError):
                s.cell_alphas(0)

    def test_callback_sees_steps_and_stops(self):
        with adarts.Search(search_config("callback"), self.data) as s:
            seen = []

            def progress(p):
                seen.append(p)
                return p.step >= 2

            self.assertFalse(s.run_epoch(progress))
            self.assertEqual([p.step for p in seen], [1, 2])
            self.assertEqual(seen[0].epoch, 0)
            self.assertGreater(seen[0].loss, 0)
            self.assertEqual(s.state()["step_in_epoch"], 2)
            # None goes on; the handle stays usable: finish the epoch.
            self.assertTrue(s.run_epoch(lambda p: None))
            metrics = s.metrics()
            self.assertIn("val_accuracy", metrics)
            self.assertIn("genotype", metrics)

    def test_callback_exception_propagates_and_the_search_stays_usable(self):
        class Boom(Exception):
            pass

        with adarts.Search(search_config("boom"), self.data) as s:
            calls = []

            def progress(p):
                calls.append(p)
                raise Boom("from the callback")

            with self.assertRaises(Boom) as cm:
                s.run_epoch(progress)
            self.assertEqual(str(cm.exception), "from the callback")
            self.assertEqual(len(calls), 1)
            self.assertEqual(s.state()["step_in_epoch"], 1)
            s.step()
            self.assertEqual(s.state()["step_in_epoch"], 2)
            with self.assertRaises(TypeError):
                s.run_epoch(42)

    def test_cancel_from_another_thread(self):
        with adarts.Search(search_config("cancel"), self.data) as s:
            first_step = threading.Event()
            cancelled = threading.Event()

            def canceller():
                first_step.wait(60)
                s.cancel()
                cancelled.set()

            thread = threading.Thread(target=canceller)
            thread.start()

            def progress(p):
                if p.step == 1:
                    first_step.set()
                    self.assertTrue(cancelled.wait(60))
                return False

            self.assertFalse(s.run_epoch(progress))
            thread.join()
            self.assertEqual(s.state()["step_in_epoch"], 1)

    def test_search_genotype_round_trips(self):
        with adarts.Search(search_config("genotype"), self.data) as s, s.genotype() as g:
            text = g.to_json()
            with adarts.Genotype.from_json(text) as back:
                self.assertEqual(back.to_json(), text)
            with adarts.Genotype.from_json(g.to_dict()) as back:
                self.assertEqual(back.to_json(), text)
            with adarts.Genotype.from_darts_text(g.to_darts_text()) as back:
                self.assertEqual(back.to_darts_text(), g.to_darts_text())


class MemoryDatasetTest(Fixture):
    """Datasets from buffers: the same search as on the files, bit for bit."""

    COUNT = 64

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.images, cls.labels = read_idx_head(cls.COUNT)
        with adarts.Dataset.open({"kind": "idx", "dir": FASHION_MNIST, "subset": cls.COUNT}) as files:
            cls.reference = alphas_after_steps(files, "memory_files")

    def test_uint8_buffers_match_the_files(self):
        shape = (self.COUNT, 1, 28, 28)
        for images in (self.images, memoryview(self.images), array.array("B", self.images)):
            with adarts.Dataset.from_memory(images, self.labels, 10, shape=shape) as d:
                self.assertEqual(d.info()["name"], "memory")
                self.assertEqual(alphas_after_steps(d, "memory_bytes"), self.reference)

    def test_float32_buffers_match_the_files(self):
        floats = array.array("f", (v / 255.0 for v in self.images))  # rounded to float32 from the exact quotient
        view = memoryview(floats).cast("B").cast("f", (self.COUNT, 1, 28, 28))  # 4-D: the shape comes with it
        with adarts.Dataset.from_memory(view, memoryview(self.labels), 10) as d:
            self.assertEqual(alphas_after_steps(d, "memory_floats"), self.reference)

    def test_numpy_arrays_match_the_files(self):
        try:
            import numpy
        except ImportError:
            self.skipTest("numpy is not installed")
        images = numpy.frombuffer(self.images, dtype=numpy.uint8).reshape(self.COUNT, 1, 28, 28)
        labels = numpy.frombuffer(self.labels, dtype=numpy.int64)
        with adarts.Dataset.from_memory(images.astype(numpy.float32) / numpy.float32(255), labels, 10) as d:
            self.assertEqual(alphas_after_steps(d, "memory_numpy"), self.reference)
        with self.assertRaises((BufferError, ValueError)):  # not C-contiguous: refused, not copied behind the user's back
            adarts.Dataset.from_memory(images.transpose(0, 1, 3, 2), labels, 10)

    def test_bad_buffers_are_clear_errors(self):
        labels = array.array("q", [0, 1])
        pixels = array.array("f", [0.5] * 8)
        with self.assertRaises(TypeError):
            adarts.Dataset.from_memory(array.array("d", [0.5] * 8), labels, 2, shape=(2, 1, 2, 2))
        with self.assertRaises(TypeError):
            adarts.Dataset.from_memory(pixels, array.array("i", [0, 1]), 2, shape=(2, 1, 2, 2))
        with self.assertRaises(ValueError):
            adarts.Dataset.from_memory(pixels, labels, 2, shape=(2, 1, 2, 3))
        with self.assertRaises(ValueError):
            adarts.Dataset.from_memory(pixels, array.array("q", [0]), 2, shape=(2, 1, 2, 2))
        with self.assertRaises(ValueError):
            adarts.Dataset.from_memory(pixels, labels, 2)  # 1-D without a shape
        with self.assertRaises(adarts.AdartsError) as cm:
            adarts.Dataset.from_memory(pixels, array.array("q", [0, 5]), 2, shape=(2, 1, 2, 2))
        self.assertEqual(cm.exception.status, adarts.Status.INVALID_ARGUMENT)
        self.assertIn("label 5 of image 1", str(cm.exception))
        pixels[5] = float("nan")
        with self.assertRaises(adarts.AdartsError) as cm:
            adarts.Dataset.from_memory(pixels, labels, 2, shape=(2, 1, 2, 2))
        self.assertIn("pixel 1 of image 1", str(cm.exception))


class MetricsListenerTest(Fixture):
    def test_search_and_trainer_deliver_each_epoch_line(self):
        lines = []
        with adarts.Search(search_config("events"), self.data) as s:
            s.set_metrics_listener(lines.append)
            s.step(3)  # 4 steps an epoch
            self.assertEqual(lines, [])
            s.step(1)
            self.assertEqual(len(lines), 1)
            self.assertEqual(lines[0], s.metrics())
            self.assertEqual(lines[0]["epoch"], 1)
            s.set_metrics_listener(None)
            s.run_epoch()
            self.assertEqual(len(lines), 1)
            with self.assertRaises(TypeError):
                s.set_metrics_listener(42)
        with adarts.Genotype.from_darts_text(DARTS_V2) as g, \
                adarts.Trainer(g, train_config("train_events"), self.data) as t:
            t.set_metrics_listener(lines.append)
            t.run_epoch()
            self.assertEqual(len(lines), 2)
            self.assertIn("train_loss", lines[1])

    def test_an_exception_in_the_listener_propagates_after_the_epoch(self):
        class Boom(Exception):
            pass

        def listener(metrics):
            raise Boom("epoch %d" % metrics["epoch"])

        with adarts.Search(search_config("events_boom"), self.data) as s:
            s.set_metrics_listener(listener)
            with self.assertRaises(Boom) as cm:
                s.step(4)
            self.assertEqual(str(cm.exception), "epoch 1")
            self.assertEqual(s.state()["epoch"], 1)  # the epoch is complete
            s.set_metrics_listener(None)
            s.step(1)  # and the search usable


class GenotypeTest(unittest.TestCase):
    def test_round_trips_and_conversions(self):
        with adarts.Genotype.from_darts_text(DARTS_V2) as g:
            text = g.to_json()
            self.assertEqual(g.to_dict()["format"], "adarts.genotype")
            with adarts.Genotype.from_json(text) as back:
                self.assertEqual(back.to_json(), text)
                self.assertEqual(back.to_darts_text(), DARTS_V2)
                self.assertEqual(str(back), DARTS_V2)
            dot = g.to_dot("normal")
            self.assertIn("digraph", dot)
            self.assertIn("dil_conv_3x3", dot)
            small = g.parameter_count({"channels": 8, "layers": 5})
            self.assertGreater(small, 10000)
            self.assertGreater(g.parameter_count(), small)
            with self.assertRaises(adarts.AdartsError):
                g.to_dot("sideways")
            with self.assertRaises(adarts.AdartsError) as cm:
                g.parameter_count({"width": 3})
            self.assertEqual(cm.exception.status, adarts.Status.PARSE_ERROR)

    def test_bad_documents(self):
        with self.assertRaises(adarts.AdartsError) as cm:
            adarts.Genotype.from_json({"format": "adarts.genotype", "version": 99})
        self.assertIn("version", str(cm.exception))
        with self.assertRaises(adarts.AdartsError):
            adarts.Genotype.from_darts_text("Genotype(normal=[('conv_9x9', 0)")


class LifetimeTest(Fixture):
    def test_use_after_close_raises(self):
        s = adarts.Search(search_config("closed"), self.data)
        s.close()
        s.close()  # idempotent
        self.assertTrue(s.closed)
        with self.assertRaises(ValueError):
            s.step()
        with self.assertRaises(ValueError):
            s.alphas()
        with self.assertRaises(ValueError):
            s.cancel()
        with self.assertRaises(ValueError):
            with s:
                pass
        g = adarts.Genotype.from_darts_text(DARTS_V2)
        with g:
            pass
        self.assertTrue(g.closed)
        with self.assertRaises(ValueError):
            g.to_json()
        with self.assertRaises(ValueError):
            adarts.Trainer(g, train_config("closed"), self.data)
        d = adarts.Dataset.synthetic(size=8, channels=1, height=8, width=8)
        d.close()
        with self.assertRaises(ValueError):
            d.info()
        with self.assertRaises(ValueError):
            adarts.Search(search_config("closed_data"), d)

    def test_unclosed_objects_are_freed_by_the_garbage_collector(self):
        for _ in range(50):
            adarts.Genotype.from_darts_text(DARTS_V2)  # never closed
        s = adarts.Search(search_config("unclosed"), self.data)
        del s
        gc.collect()


class TrainerTest(Fixture):
    def test_checkpoint_and_resume_continue_bit_identically(self):
        with adarts.Genotype.from_darts_text(DARTS_V2) as g:
            with adarts.Trainer(g, train_config("train_resume_reference"), self.data) as reference:
                reference.run_epoch()
                expected = reference.evaluate(self.data)
            with adarts.Trainer(g, train_config("train_resume"), self.data) as first:
                self.assertFalse(first.run_epoch(lambda p: p.step >= 3))  # stops after step 3
                path = first.save_checkpoint()
                self.assertIn(os.path.join("train_resume", "checkpoints", "epoch-000000-step-000003"), path)
        with self.assertRaises(adarts.AdartsError) as cm:
            adarts.Trainer.resume(os.path.join(OUT, "train_resume"), {"lr": 0.5}, self.data)
        self.assertEqual(cm.exception.status, adarts.Status.INVALID_ARGUMENT)
        self.assertIn("lr", str(cm.exception))
        with adarts.Trainer.resume(os.path.join(OUT, "train_resume"), None, self.data) as resumed:
            self.assertTrue(resumed.run_epoch())
            self.assertEqual(resumed.evaluate(self.data), expected)

    def test_train_evaluate_save_load(self):
        model = os.path.join(OUT, "model.pt")
        with adarts.Genotype.from_darts_text(DARTS_V2) as g, \
                adarts.Trainer(g, train_config("train"), self.data) as t:
            with self.assertRaises(adarts.AdartsError) as cm:
                adarts.Trainer(g, {"lr": "fast"}, self.data)
            self.assertIn("lr", str(cm.exception))
            calls = []
            self.assertFalse(t.run_epoch(lambda p: calls.append(p) or len(calls) >= 2))
            self.assertEqual(len(calls), 2)
            self.assertTrue(t.run_epoch())
            result = t.evaluate(self.data)
            self.assertEqual(result["samples"], 64)
            self.assertIn("top1", result)
            t.save(model)
            exported = os.path.join(OUT, "model_darts.pt")
            t.export_pytorch(exported)
            with open(exported, "rb") as f:
                self.assertEqual(f.read(2), b"PK")  # torch.save's zip format
            with adarts.Trainer.load(model) as loaded:
                self.assertEqual(loaded.evaluate(self.data), result)
                with loaded.genotype() as lg:
                    self.assertEqual(lg.to_darts_text(), DARTS_V2)
        with self.assertRaises(adarts.AdartsError) as cm:
            adarts.Trainer.load("/no/such/model.pt")
        self.assertEqual(cm.exception.status, adarts.Status.IO_ERROR)


if __name__ == "__main__":
    unittest.main()
