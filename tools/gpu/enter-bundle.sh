# Sourced by the GPU-host scripts: unpacks the carried bundle to /tmp/m3, enters it, and makes
# the output folder ($1). Lavapipe and Dawn want a runtime dir; the host shell has none.
bash "$(dirname "${BASH_SOURCE[0]}")/../../.gpu/unpack.sh"
cd /tmp/m3 || exit 1
export XDG_RUNTIME_DIR=/tmp
mkdir -p "$1"
