#!/usr/bin/env python3
"""The PyTorch export of `adarts train --export-pytorch` and `adarts export`
loads into the original DARTS network and computes what adarts computes.

The DARTS modules below re-state the structure of quark0/darts cnn/model.py and
cnn/operations.py (module names, order and arithmetic), written for this test;
only the stem's input channels are a parameter (DARTS fixes 3).

Usage: export_pytorch.py ADARTS_CLI WORK_DIR cifar|imagenet
  cifar:    a genotype with every operation (a strided skip too), auxiliary
            head: the state dict loads with strict=True in DARTS's key order,
            both exports are equal, and the logits of DARTS's NetworkCIFAR on
            the inputs `adarts evaluate --logits` wrote match adarts's.
  imagenet: the ImageNet stems and auxiliary head: the state dict loads with
            strict=True (no forward pass: DARTS's NetworkImageNet takes 224x224).
Exit status 77 (skipped) when this Python has no torch.
"""
import collections
import os
import subprocess
import sys

try:
    import torch
    import torch.nn as nn
except ImportError:
    print("SKIP: no torch in this Python (Debian: python3-torch)")
    sys.exit(77)

# Every operation of the DARTS space; the reduce cell has strided skips
# (FactorizedReduce), strided pools and a concat without node 2.
GENOTYPE_TEXT = (
    "Genotype(normal=[('sep_conv_3x3', 0), ('sep_conv_5x5', 1), ('dil_conv_3x3', 0), ('skip_connect', 2), "
    "('dil_conv_5x5', 1), ('max_pool_3x3', 3), ('avg_pool_3x3', 0), ('skip_connect', 1)], normal_concat=[2, 3, 4, 5], "
    "reduce=[('skip_connect', 0), ('max_pool_3x3', 1), ('avg_pool_3x3', 0), ('sep_conv_3x3', 2), "
    "('dil_conv_5x5', 1), ('sep_conv_5x5', 0), ('skip_connect', 1), ('dil_conv_3x3', 4)], reduce_concat=[3, 4, 5])")
Genotype = collections.namedtuple("Genotype", "normal normal_concat reduce reduce_concat")
CHANNELS, LAYERS, CLASSES = 4, 3, 10  # 3 cells: reductions at 1 and 2, the auxiliary head after cell 2

# Logits of the two implementations may differ by float32 rounding only: the
# same weights and inputs, but adarts runs its convolutions on channels-last
# tensors and PyTorch here on NCHW ones, so oneDNN sums in another order (and
# the LibTorch 2.x build of adarts uses another oneDNN than Debian's PyTorch).
# Each of the ~25 convolutions and BatchNorms on a path adds a few ulps
# (float32 eps 1.2e-7) of its output, ~1e-6 at worst; measured 1e-7 of the
# logits' largest magnitude. 1e-5 of it leaves that margin and stays far
# below a wrong weight, name or op (those change logits at order 1; checked).
TOLERANCE = 1e-5


# ---- DARTS's modules, re-stated (names and arithmetic as in the original) ----

class ReLUConvBN(nn.Module):
    def __init__(self, c_in, c_out, kernel, stride, padding):
        super().__init__()
        self.op = nn.Sequential(nn.ReLU(), nn.Conv2d(c_in, c_out, kernel, stride, padding, bias=False),
                                nn.BatchNorm2d(c_out))

    def forward(self, x):
        return self.op(x)


def relu_depthwise_pointwise_bn(c, kernel, stride, padding, dilation):
    return [nn.ReLU(), nn.Conv2d(c, c, kernel, stride, padding, dilation=dilation, groups=c, bias=False),
            nn.Conv2d(c, c, 1, bias=False), nn.BatchNorm2d(c)]


class DilConv(nn.Module):
    def __init__(self, c, kernel, stride, padding, dilation):
        super().__init__()
        self.op = nn.Sequential(*relu_depthwise_pointwise_bn(c, kernel, stride, padding, dilation))

    def forward(self, x):
        return self.op(x)


class SepConv(nn.Module):  # two DilConv bodies with dilation 1 in one Sequential; only the first strided
    def __init__(self, c, kernel, stride, padding):
        super().__init__()
        self.op = nn.Sequential(*relu_depthwise_pointwise_bn(c, kernel, stride, padding, 1),
                                *relu_depthwise_pointwise_bn(c, kernel, 1, padding, 1))

    def forward(self, x):
        return self.op(x)


class FactorizedReduce(nn.Module):
    def __init__(self, c_in, c_out):
        super().__init__()
        self.relu = nn.ReLU()
        self.conv_1 = nn.Conv2d(c_in, c_out // 2, 1, stride=2, bias=False)
        self.conv_2 = nn.Conv2d(c_in, c_out // 2, 1, stride=2, bias=False)
        self.bn = nn.BatchNorm2d(c_out)

    def forward(self, x):
        x = self.relu(x)
        return self.bn(torch.cat([self.conv_1(x), self.conv_2(x[:, :, 1:, 1:])], dim=1))


class Identity(nn.Module):
    def forward(self, x):
        return x


def make_op(name, c, stride):
    if name == "skip_connect":
        return Identity() if stride == 1 else FactorizedReduce(c, c)
    if name == "max_pool_3x3":
        return nn.MaxPool2d(3, stride=stride, padding=1)
    if name == "avg_pool_3x3":
        return nn.AvgPool2d(3, stride=stride, padding=1, count_include_pad=False)
    kind, kernel = name[:8], int(name[-1])
    if kind == "sep_conv":
        return SepConv(c, kernel, stride, kernel // 2)
    if kind == "dil_conv":
        return DilConv(c, kernel, stride, kernel - 1, 2)
    raise ValueError(name)


class Cell(nn.Module):
    def __init__(self, genotype, c_prev_prev, c_prev, c, reduction, reduction_prev):
        super().__init__()
        self.preprocess0 = FactorizedReduce(c_prev_prev, c) if reduction_prev else ReLUConvBN(c_prev_prev, c, 1, 1, 0)
        self.preprocess1 = ReLUConvBN(c_prev, c, 1, 1, 0)
        pairs, self._concat = (genotype.reduce, genotype.reduce_concat) if reduction else (genotype.normal,
                                                                                           genotype.normal_concat)
        self._indices = [index for _, index in pairs]
        self._ops = nn.ModuleList(make_op(name, c, 2 if reduction and index < 2 else 1) for name, index in pairs)
        self.multiplier = len(self._concat)

    def forward(self, s0, s1):  # eval mode: no drop-path
        states = [self.preprocess0(s0), self.preprocess1(s1)]
        for i in range(len(self._ops) // 2):
            states.append(self._ops[2 * i](states[self._indices[2 * i]]) +
                          self._ops[2 * i + 1](states[self._indices[2 * i + 1]]))
        return torch.cat([states[i] for i in self._concat], dim=1)


def auxiliary_features(c, stride, bn_after_second_conv):
    layers = [nn.ReLU(), nn.AvgPool2d(5, stride=stride, padding=0, count_include_pad=False),
              nn.Conv2d(c, 128, 1, bias=False), nn.BatchNorm2d(128), nn.ReLU(), nn.Conv2d(128, 768, 2, bias=False)]
    layers += [nn.BatchNorm2d(768)] if bn_after_second_conv else []  # DARTS's ImageNet head has none
    return nn.Sequential(*layers, nn.ReLU())


class AuxiliaryHead(nn.Module):
    def __init__(self, c, classes, imagenet):
        super().__init__()
        self.features = auxiliary_features(c, 2 if imagenet else 3, not imagenet)
        self.classifier = nn.Linear(768, classes)


class Network(nn.Module):
    """NetworkCIFAR, or NetworkImageNet with imagenet=True; `in_channels` is 3 in DARTS."""

    def __init__(self, c, classes, layers, auxiliary, genotype, imagenet=False, in_channels=3):
        super().__init__()
        if imagenet:
            self.stem0 = nn.Sequential(nn.Conv2d(in_channels, c // 2, 3, stride=2, padding=1, bias=False),
                                       nn.BatchNorm2d(c // 2), nn.ReLU(),
                                       nn.Conv2d(c // 2, c, 3, stride=2, padding=1, bias=False), nn.BatchNorm2d(c))
            self.stem1 = nn.Sequential(nn.ReLU(), nn.Conv2d(c, c, 3, stride=2, padding=1, bias=False),
                                       nn.BatchNorm2d(c))
            c_prev_prev, c_prev, reduction_prev = c, c, True
        else:
            self.stem = nn.Sequential(nn.Conv2d(in_channels, 3 * c, 3, padding=1, bias=False), nn.BatchNorm2d(3 * c))
            c_prev_prev, c_prev, reduction_prev = 3 * c, 3 * c, False
        self.cells = nn.ModuleList()
        c_curr = c
        for i in range(layers):
            reduction = i in (layers // 3, 2 * layers // 3)
            c_curr *= 2 if reduction else 1
            cell = Cell(genotype, c_prev_prev, c_prev, c_curr, reduction, reduction_prev)
            self.cells.append(cell)
            reduction_prev = reduction
            c_prev_prev, c_prev = c_prev, cell.multiplier * c_curr
            if i == 2 * layers // 3:
                c_to_auxiliary = c_prev
        if auxiliary:
            self.auxiliary_head = AuxiliaryHead(c_to_auxiliary, classes, imagenet)
        self.global_pooling = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Linear(c_prev, classes)

    def forward(self, x):  # eval mode: the logits only (CIFAR stem)
        s0 = s1 = self.stem(x)
        for cell in self.cells:
            s0, s1 = s1, cell(s0, s1)
        return self.classifier(self.global_pooling(s1).flatten(1))


# ---- the test ----

def run(*args):
    print("+", " ".join(args), flush=True)
    result = subprocess.run(args, stdout=subprocess.PIPE, universal_newlines=True)
    print(result.stdout, end="", flush=True)
    if result.returncode != 0:
        sys.exit("FAIL: exit status %d" % result.returncode)
    return result.stdout


def load(path):
    # weights_only=True: PyTorch's default since 2.6; the file must need nothing else.
    return torch.load(path, weights_only=True)


def expect(condition, message):
    if not condition:
        sys.exit("FAIL: " + message)


def expect_strict_load_fails(model, state, what):
    try:
        model.load_state_dict(state, strict=True)
    except RuntimeError as e:
        print("as expected, strict=True refuses %s: %s" % (what, str(e).splitlines()[0]))
        return
    sys.exit("FAIL: strict=True accepted " + what)


def main(cli, work, variant):
    os.makedirs(work, exist_ok=True)
    genotype_file = os.path.join(work, "genotype.txt")
    with open(genotype_file, "w") as f:
        f.write(GENOTYPE_TEXT + "\n")
    genotype = eval(GENOTYPE_TEXT, {"Genotype": Genotype})  # the DARTS text is the namedtuple's repr
    imagenet = variant == "imagenet"
    out = os.path.join(work, "train")
    trained_export = os.path.join(work, "train_darts.pt")
    run(cli, "train", "--genotype", genotype_file, "--dataset", "synthetic", "--train-subset", "32",
        "--test-subset", "16", "--channels", str(CHANNELS), "--layers", str(LAYERS), "--epochs", "1",
        "--batch-size", "16", "--threads", "1", "--auxiliary", "true", "--drop-path-prob", "0.2",
        "--imagenet", "true" if imagenet else "false", "--overwrite", "--out", out,
        "--export-pytorch", trained_export)
    state = load(trained_export)
    torch.set_num_threads(1)
    model = Network(CHANNELS, CLASSES, LAYERS, True, genotype, imagenet=imagenet)
    expect(list(state.keys()) == list(model.state_dict().keys()),
           "the keys differ from DARTS's state_dict() (or its order):\n  only exported: %s\n  only DARTS: %s" %
           (sorted(set(state) - set(model.state_dict())), sorted(set(model.state_dict()) - set(state))))
    expect(all(t.dtype == torch.float32 for k, t in state.items() if not k.endswith("num_batches_tracked")),
           "floating tensors are float32")
    expect(all(t.dtype == torch.int64 and t.item() == 2 for k, t in state.items() if k.endswith("num_batches_tracked")),
           "num_batches_tracked is an int64 scalar counting the 2 training steps")
    model.load_state_dict(state, strict=True)
    print("loaded %d tensors with strict=True into DARTS's %s" % (len(state), "NetworkImageNet" if imagenet else
                                                                 "NetworkCIFAR"))
    # The test can fail: a key missing or one too many is refused.
    missing = collections.OrderedDict(list(state.items())[1:])
    expect_strict_load_fails(Network(CHANNELS, CLASSES, LAYERS, True, genotype, imagenet=imagenet), missing,
                             "a missing key")
    extra = collections.OrderedDict(state)
    extra["cells.0._ops.8.op.1.weight"] = torch.zeros(1)
    expect_strict_load_fails(Network(CHANNELS, CLASSES, LAYERS, True, genotype, imagenet=imagenet), extra,
                             "an extra key")
    if imagenet:
        print("PASS: the ImageNet network's state dict loads with strict=True")
        return

    exported = os.path.join(work, "export_darts.pt")
    expect(run(cli, "export", out, "--out", exported).strip() == exported, "`adarts export` prints the path written")
    again = load(exported)
    expect(list(again.keys()) == list(state.keys()) and all(torch.equal(again[k], state[k]) for k in state),
           "`adarts export` of model.pt writes what `adarts train --export-pytorch` wrote")

    logits_file = os.path.join(work, "logits.pt")
    run(cli, "evaluate", out, "--logits", logits_file, "--logits-samples", "16", "--threads", "1")
    expected = load(logits_file)
    inputs, logits = expected["inputs"], expected["logits"]
    expect(tuple(inputs.shape) == (16, 3, 16, 16) and tuple(logits.shape) == (16, CLASSES),
           "inputs %s, logits %s" % (tuple(inputs.shape), tuple(logits.shape)))
    model.eval()
    with torch.no_grad():
        ours = model(inputs)
    scale = logits.abs().max().item()
    difference = (ours - logits).abs().max().item()
    print("logits: max |DARTS - adarts| = %.3g, max |logits| = %.3g, relative %.3g (tolerance %g)" %
          (difference, scale, difference / max(scale, 1e-12), TOLERANCE))
    expect(scale > 0 and difference <= TOLERANCE * scale, "the logits differ beyond the tolerance")
    # The comparison can fail: one weight changed changes the logits far beyond it.
    with torch.no_grad():
        model.cells[1]._ops[3].op[1].weight.add_(0.5)
        changed = (model(inputs) - logits).abs().max().item()
    print("one depthwise weight of cell 1 changed by 0.5: max |DARTS - adarts| = %.3g" % changed)
    expect(changed > 100 * TOLERANCE * scale, "a changed weight is seen")
    print("PASS: DARTS's NetworkCIFAR loads the export (strict=True) and gives adarts's logits")


if __name__ == "__main__":
    if len(sys.argv) != 4 or sys.argv[3] not in ("cifar", "imagenet"):
        sys.exit(__doc__)
    main(*sys.argv[1:])
