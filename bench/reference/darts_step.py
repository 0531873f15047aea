#!/usr/bin/env python3
"""Times the search step of the ORIGINAL DARTS code (quark0/darts, cnn/).

One process = one case. The DARTS files are imported unmodified from --darts
(the cnn folder, put on sys.path); where a call form of 2018 PyTorch no longer
works under torch 2.x, it is patched at run time by a named shim (see
--list-shims and bench/reference/README.md), never in their files.

Per step it does what train_search.py's train() does per step:
  architect.step(input, target, input_search, target_search, lr, optimizer, unrolled)
  optimizer.zero_grad(); logits = model(input); loss = criterion(logits, target)
  loss.backward(); clip_grad_norm_(model.parameters(), 5); optimizer.step()
(train_search.py is not imported: it parses its own argv, needs torchvision and
CIFAR-10 at import time; its loop is copied here, with clip_grad_norm ->
clip_grad_norm_. Its accuracy/loss bookkeeping is left out unless --metrics 1.)

stdout: '# measure begin', '# measure end', then one JSON line. Logs go to stderr.
"""
import argparse
import json
import math
import os
import statistics
import sys
import time
import types


def log(*a):
    print("[darts_step]", *a, file=sys.stderr, flush=True)


# --------------------------------------------------------------------------
# Shims. Each one: name, what it translates, the error it prevents (observed
# under torch 2.11 when the shim is disabled), and when it is needed.
# --------------------------------------------------------------------------

SHIMS = {}


def shim(name, prevents, when):
    def deco(fn):
        SHIMS[name] = {"install": fn, "prevents": prevents, "when": when,
                       "doc": (fn.__doc__ or "").strip()}
        return fn
    return deco


@shim("cuda_to_device",
      prevents="RuntimeError: Found no NVIDIA driver on your system. Please check that you have "
               "an NVIDIA GPU and installed a driver ... (model_search.py Network._initialize_alphas: "
               "torch.randn(k, num_ops).cuda(), on a CUDA build of torch without a GPU; "
               "a CPU-only build raises AssertionError: Torch not compiled with CUDA enabled)",
      when="--device cpu only (on --device cuda/cuda:N their .cuda() already lands on "
           "the current device, which the harness sets; the shim is not installed)")
def _shim_cuda_to_device(device):
    """Tensor.cuda() and Module.cuda() (called with no device argument, as in
    model_search.py Network._initialize_alphas / Network.new and architect.py
    _construct_model_from_theta) move to the chosen device instead of CUDA."""
    import torch
    orig_tensor_cuda = torch.Tensor.cuda
    orig_module_cuda = torch.nn.Module.cuda

    def tensor_cuda(self, device_arg=None, non_blocking=False, **kw):
        if device_arg is None and not kw:
            return self.to(device, non_blocking=non_blocking)
        return orig_tensor_cuda(self, device_arg, non_blocking=non_blocking, **kw)

    def module_cuda(self, device_arg=None):
        if device_arg is None:
            return self.to(device)
        return orig_module_cuda(self, device_arg)

    torch.Tensor.cuda = tensor_cuda
    torch.nn.Module.cuda = module_cuda


@shim("numpy_stub",
      prevents="ModuleNotFoundError: No module named 'numpy' (architect.py: import numpy as np)",
      when="only when numpy is not importable (torch 2.x wheels do not require it); "
           "architect.py uses np.prod only")
def _shim_numpy_stub(device):
    """While architect.py is imported, sys.modules['numpy'] is a minimal module
    with prod() (the only numpy call on the search step's path:
    _construct_model_from_theta); it is taken out again right after, so torch
    itself (torch._dynamo, loaded by the optimizers) still sees no numpy."""
    NUMPY_STUB["enabled"] = True


NUMPY_STUB = {"enabled": False}


def import_architect():
    """from architect import Architect, under the numpy_stub shim if installed."""
    if not NUMPY_STUB["enabled"]:
        from architect import Architect
        return Architect
    mod = types.ModuleType("numpy")
    mod.prod = lambda xs: math.prod(int(x) for x in xs)
    mod.__adarts_stub__ = True
    saved = sys.modules.get("numpy")
    sys.modules["numpy"] = mod
    try:
        from architect import Architect
    finally:
        if saved is None:
            del sys.modules["numpy"]
        else:
            sys.modules["numpy"] = saved
    return Architect


# Old call forms on the step's path that torch 2.11 still accepts, so they run
# as written (checked by running them; listed by --list-shims for the record).
NOT_SHIMMED = [
    ("architect.py: theta.sub(eta, moment+dtheta), p.data.add_(R, v), p.data.sub_(2*R, v), "
     "g.data.sub_(eta, ig.data)",
     "the overloads f(Number alpha, Tensor other) still work; torch 2.11 emits "
     "'UserWarning: This overload of sub is deprecated: sub(Number alpha, Tensor other)' once per call site"),
    ("model_search.py / architect.py: torch.autograd.Variable(...)",
     "still a no-op wrapper returning a Tensor; no warning"),
    ("optimizer.zero_grad() (train_search.py loop, Architect.step)",
     "torch 2.x default set_to_none=True: grads become None instead of zeros; "
     "Architect's 'if v.grad is None' branch handles it; not a call-form failure, left as is"),
]


def shims_needed(args):
    """The shims for this run, in install order."""
    names = []
    if not args.device.startswith("cuda"):
        names.append("cuda_to_device")
    try:
        import numpy  # noqa: F401
    except ImportError:
        names.append("numpy_stub")
    return [n for n in names if n not in args.no_shim]


def list_shims(args):
    active = shims_needed(args)
    for name, s in SHIMS.items():
        print("%s%s" % (name, "  [active for this run]" if name in active else ""))
        print("    does:     " + " ".join(s["doc"].split()))
        print("    needed:   " + s["when"])
        print("    prevents: " + s["prevents"])
    print()
    print("not shimmed (old forms that still run under torch 2.x):")
    for what, why in NOT_SHIMMED:
        print("  " + what)
        print("    " + why)


# --------------------------------------------------------------------------


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--darts", default=os.path.join(os.path.dirname(__file__), "..", "..", ".deps", "darts", "cnn"),
                   help="the quark0/darts cnn folder")
    p.add_argument("--device", default="cuda", help="cuda, cuda:N or cpu")
    p.add_argument("--order", choices=["first", "second"], default="first")
    p.add_argument("--channels", type=int, default=16)
    p.add_argument("--layers", type=int, default=8)
    p.add_argument("--batch", type=int, default=64)
    p.add_argument("--image", type=int, default=32)
    p.add_argument("--classes", type=int, default=10)
    p.add_argument("--warmup", type=int, default=3)
    p.add_argument("--steps", type=int, default=20)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=0, help="torch.set_num_threads (0: leave)")
    p.add_argument("--batches", type=int, default=4, help="distinct synthetic batches to rotate over")
    p.add_argument("--lr", type=float, default=0.025,
                   help="weight lr, also the eta passed to architect.step (train_search.py --learning_rate)")
    p.add_argument("--metrics", type=int, default=0,
                   help="1: also do train_search.py's per-step accuracy/loss bookkeeping (syncs)")
    p.add_argument("--no-shim", action="append", default=[], metavar="NAME",
                   help="do not install this shim (to check what it prevents)")
    p.add_argument("--list-shims", action="store_true")
    args = p.parse_args()

    for n in args.no_shim:
        if n not in SHIMS:
            p.error("unknown shim %r (known: %s)" % (n, ", ".join(SHIMS)))
    if args.list_shims:
        list_shims(args)
        return 0

    import torch
    if args.threads > 0:
        torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    use_cuda = device.type == "cuda"
    if use_cuda:
        if not torch.cuda.is_available():
            log("--device %s but torch.cuda.is_available() is False" % args.device)
            return 2
        torch.cuda.set_device(device.index or 0)
        device = torch.device("cuda", device.index or 0)
        torch.backends.cudnn.benchmark = True   # as train_search.py
        torch.backends.cudnn.enabled = True

    shims = shims_needed(args)
    for name in shims:
        SHIMS[name]["install"](device)
    log("torch %s, device %s, shims: %s" % (torch.__version__, device, ", ".join(shims) or "none"))

    sys.path.insert(0, os.path.abspath(args.darts))
    from model_search import Network   # their code, unmodified
    Architect = import_architect()

    if not NUMPY_STUB["enabled"]:
        import numpy as np
        np.random.seed(args.seed)   # as train_search.py
    torch.manual_seed(args.seed)
    if use_cuda:
        torch.cuda.manual_seed(args.seed)

    # --- what train_search.py main() builds ---
    criterion = torch.nn.CrossEntropyLoss().to(device)
    model = Network(args.channels, args.classes, args.layers, criterion)
    model = model.to(device)
    optimizer = torch.optim.SGD(model.parameters(), args.lr, momentum=0.9, weight_decay=3e-4)
    arch_args = types.SimpleNamespace(momentum=0.9, weight_decay=3e-4,
                                      arch_learning_rate=3e-4, arch_weight_decay=1e-3)
    architect = Architect(model, arch_args)
    unrolled = args.order == "second"
    nparams = sum(p.numel() for p in model.parameters())
    log("Network(C=%d, classes=%d, layers=%d): %d weights, alphas %s" % (
        args.channels, args.classes, args.layers, nparams,
        [tuple(a.shape) for a in model.arch_parameters()]))

    # --- synthetic data, generated on the device before any timing ---
    g = torch.Generator(device="cpu").manual_seed(args.seed + 1)
    batches = []
    for _ in range(max(1, args.batches)):
        shape = (args.batch, 3, args.image, args.image)
        batches.append(tuple(t.to(device) for t in (
            torch.randn(shape, generator=g), torch.randint(0, args.classes, (args.batch,), generator=g),
            torch.randn(shape, generator=g), torch.randint(0, args.classes, (args.batch,), generator=g))))
    if use_cuda:
        torch.cuda.synchronize()

    def step(i):
        # train_search.py train(), one iteration
        model.train()
        inp, target, inp_search, target_search = batches[i % len(batches)]
        architect.step(inp, target, inp_search, target_search, args.lr, optimizer, unrolled=unrolled)
        optimizer.zero_grad()
        logits = model(inp)
        loss = criterion(logits, target)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 5)
        optimizer.step()
        if args.metrics:
            # utils.accuracy(logits, target, topk=(1, 5)); objs.update(loss.data[0]) -> .item()
            _, pred = logits.topk(min(5, args.classes), 1, True, True)
            correct = pred.t().eq(target.view(1, -1).expand_as(pred.t()))
            correct[:1].reshape(-1).float().sum(0).item()
            loss.item()

    def now():
        if use_cuda:
            torch.cuda.synchronize()
        return time.perf_counter()

    for i in range(args.warmup):
        t0 = now()
        step(i)
        log("warm-up step %d: %.4f s" % (i, now() - t0))

    import resource
    times = []
    faults_before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    print("# measure begin", flush=True)
    for i in range(args.steps):
        t0 = now()
        step(args.warmup + i)
        times.append(now() - t0)
    print("# measure end", flush=True)
    faults = resource.getrusage(resource.RUSAGE_SELF).ru_minflt - faults_before

    if use_cuda:
        peak = torch.cuda.max_memory_allocated(device) / 2**20
        reserved = torch.cuda.max_memory_reserved(device) / 2**20
    else:
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # KiB on Linux
        reserved = None
    result = {
        "impl": "darts-reference",
        "device": str(device),
        "config": {"channels": args.channels, "layers": args.layers, "batch": args.batch,
                   "image": args.image, "classes": args.classes},
        "estimator": "second_order" if unrolled else "first_order",
        "steps": len(times),
        "warmup": args.warmup,
        "step_s": times,
        "median_s": statistics.median(times) if times else None,
        "min_s": min(times) if times else None,
        "peak_mem_mib": peak,
        "peak_reserved_mib": reserved,
        "peak_mem_kind": "cuda_max_memory_allocated" if use_cuda else "max_rss",
        "minor_faults_per_step": faults / len(times) if times else None,
        "torch": torch.__version__,
        "python": sys.version.split()[0],
        "shims": shims,
        "metrics": bool(args.metrics),
        "threads": torch.get_num_threads(),
    }
    print(json.dumps(result), flush=True)
    log("median %.4f s, min %.4f s, peak %.1f MiB" % (result["median_s"], result["min_s"], peak))
    return 0


if __name__ == "__main__":
    sys.exit(main())
