# Sourced by the scripts that use LibTorch 2.x from PyPI: where its venv is.
# Override with ADARTS_TORCH_VERSION / ADARTS_TORCH_VENV.
ADARTS_TORCH_VERSION="${ADARTS_TORCH_VERSION:-2.11.0}"
ADARTS_TORCH_VENV="${ADARTS_TORCH_VENV:-${XDG_CACHE_HOME:-$HOME/.cache}/adarts/torch-$ADARTS_TORCH_VERSION}"
