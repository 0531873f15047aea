#!/usr/bin/env python3
"""Lower layers never include higher ones (docs/ARCHITECTURE.md).

Each file under src/<layer>/ and each public header may include only headers
of its own layer or of the layers before it in LAYERS. A public header
include/adarts/X.h belongs to the layer of the source file implementing it
(src/<layer>/X.cpp, or IMPLEMENTED_BY); headers with no implementation
(error.h, run_progress.h) belong to no layer and anyone may include them.
Usage: check_layers.py REPOSITORY_ROOT
"""
import pathlib
import re
import sys

# Training needs no search code; random search (search) trains its samples.
LAYERS = ["data", "runtime", "genotype", "nn", "train", "search", "report", "cli"]
IMPLEMENTED_BY = {"config": "search_config"}  # public header stem -> source file stem
INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"]+)"', re.MULTILINE)


def main(root: pathlib.Path) -> int:
    sources = {p.stem: p.parent.name for p in (root / "src").glob("*/*.cpp")}
    public = {}
    for header in (root / "include" / "adarts").glob("*.h"):
        layer = sources.get(IMPLEMENTED_BY.get(header.stem, header.stem))
        if layer is not None:
            public[header.name] = layer

    def layer_of_include(name: str):
        if name.startswith("adarts/"):
            return public.get(name[len("adarts/"):])
        folder = name.split("/")[0]
        return folder if folder in LAYERS else None

    files = [(p, p.parent.name) for p in (root / "src").glob("*/*") if p.parent.name in LAYERS]
    files += [(p, public[p.name]) for p in (root / "include" / "adarts").glob("*.h") if p.name in public]
    problems = []
    for path, layer in sorted(files):
        for name in INCLUDE.findall(path.read_text()):
            included = layer_of_include(name)
            if included is not None and LAYERS.index(included) > LAYERS.index(layer):
                problems.append(f"{path.relative_to(root)} ({layer}) includes {name} ({included})")
    for p in problems:
        print(p)
    print(f"{len(files)} files checked, {len(problems)} upward includes")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(pathlib.Path(sys.argv[1])))
