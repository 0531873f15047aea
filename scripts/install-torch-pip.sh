#!/bin/sh
# LibTorch 2.x with CUDA, as PyPI's torch wheel ships it, in a venv of its own
# (scripts/torch-env.sh says where). Idempotent: an existing venv holding that
# version is kept. The wheel brings the CUDA runtime libraries it links
# (cuda-toolkit, cuDNN, NCCL wheels); building against it also needs the CUDA
# toolkit's compiler and headers (nvcc on PATH or in /usr/local/cuda).
set -eu
. "$(dirname "$0")/torch-env.sh"
python="$ADARTS_TORCH_VENV/bin/python"
if [ -x "$python" ] && "$python" -c "import torch, sys; sys.exit(torch.__version__.split('+')[0] != '$ADARTS_TORCH_VERSION')" 2>/dev/null; then
  echo "install-torch-pip: torch $ADARTS_TORCH_VERSION present in $ADARTS_TORCH_VENV"
  exit 0
fi
echo "install-torch-pip: installing torch $ADARTS_TORCH_VERSION into $ADARTS_TORCH_VENV"
/usr/bin/python3 -m venv "$ADARTS_TORCH_VENV"
"$python" -m pip install --quiet --no-cache-dir "torch==$ADARTS_TORCH_VERSION"
"$python" -c "import torch; print('install-torch-pip: torch', torch.__version__, 'CUDA', torch.version.cuda)"
