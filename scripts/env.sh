# Sourced by the scripts: installs libtorch into the cache if needed and exports LIBTORCH.
# (Direct cargo use: export LIBTORCH=$(bash scripts/setup-libtorch.sh) once per shell.)
LIBTORCH="$(bash "$(dirname "${BASH_SOURCE[0]}")/setup-libtorch.sh")"
export LIBTORCH
