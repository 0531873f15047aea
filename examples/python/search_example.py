"""A short architecture search from Python on synthetic data: a few host-driven
steps, the rest of the epoch with a progress callback, the genotype as JSON and
back, then one training epoch of the genotype.

    PYTHONPATH=build/bindings/python python3 examples/python/search_example.py [out_dir]
"""

import os
import sys

import adarts


def main(out: str) -> None:
    print("adarts", adarts.version_string())
    config = {"channels": 4, "layers": 2, "batch_size": 8, "epochs": 1, "threads": 1,
              "out_dir": os.path.join(out, "search")}
    with adarts.Dataset.synthetic(size=64, channels=1, height=8, width=8, classes=10, seed=1) as data, \
            adarts.Search(config, data) as search:
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
