"""A short architecture search from Python on images the program already holds
(handed over in memory, no files): a few host-driven steps, the rest of the
epoch with a progress callback and a metrics listener, the genotype as JSON and
back, then one training epoch of the genotype.

    PYTHONPATH=build/bindings/python python3 examples/python/search_example.py [out_dir]
"""

import array
import os
import random
import sys

import adarts


def make_images(count=64, classes=10, side=8):
    """A host's own images (float32 in [0, 1], [count, 1, side, side]) and labels: class c
    is a bright row c % side over noise. A numpy array works the same (any buffer)."""
    rng = random.Random(1)
    images, labels = array.array("f"), array.array("q")
    for i in range(count):
        c = i % classes
        labels.append(c)
        images.extend(min(1.0, (0.8 if y == c % side else 0.0) + 0.2 * rng.random())
                      for y in range(side) for _ in range(side))
    return images, labels


def main(out: str) -> None:
    print("adarts", adarts.version_string())
    config = {"channels": 4, "layers": 2, "batch_size": 8, "epochs": 1, "threads": 1,
              "out_dir": os.path.join(out, "search")}
    images, labels = make_images()
    with adarts.Dataset.from_memory(images, labels, classes=10, shape=(64, 1, 8, 8)) as data, \
            adarts.Search(config, data) as search:
        search.set_metrics_listener(lambda m: print("  metrics: epoch %d val_accuracy %.4f" % (m["epoch"], m["val_accuracy"])))
        search.step()
        print("state after one step:", search.state())
        ended = search.run_epoch(lambda p: print("  epoch %d step %d/%d loss %.4f accuracy %.4f" % p))
        print("epoch ended:", ended)

        with search.genotype() as genotype:
            json_text = genotype.to_json()
            print("genotype JSON:")
            print(json_text)
            print("DARTS text:", genotype.to_darts_text())
            with adarts.Genotype.from_json(json_text) as back:
                assert back.to_json() == json_text, "the JSON round trip changed the genotype"
            print("round trip: ok")

            train_config = {"channels": 4, "layers": 3, "batch_size": 8, "epochs": 1, "cutout": 0,
                            "auxiliary": False, "threads": 1, "out_dir": os.path.join(out, "train")}
            with adarts.Trainer(genotype, train_config, data) as trainer:
                trainer.run_epoch()
                print("evaluation:", trainer.evaluate(data))


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "python_example_out")
