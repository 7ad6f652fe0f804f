# Sourced by the scripts: the environment Open MPI needs on these machines.
# Open MPI refuses to start as root unless told that is intended (CI runs as root).
if [[ $(id -u) -eq 0 ]]; then
  export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
fi
# More ranks than cores is fine for tests and the small quick-start checks.
export OMPI_MCA_rmaps_base_oversubscribe=1
# Debian's python3 carries h5py and matplotlib from the Debian packages.
export TESSERA_PYTHON=${TESSERA_PYTHON:-/usr/bin/python3}
