#!/usr/bin/env bash
# A one-node Slurm on this machine, for trying the batch scripts and for the tests:
# munged (started if not running), slurmctld and slurmd with a private
# configuration, state and logs under DIR, on free ports. Needs root (slurmd and
# munged run as system users) and the slurm-wlm and munge packages.
#
#   slurm/local-cluster.sh start DIR   # then: export SLURM_CONF=DIR/slurm.conf
#   slurm/local-cluster.sh stop DIR
set -euo pipefail

die() { echo "slurm/local-cluster.sh: $*" >&2; exit 1; }
[[ $# -eq 2 && ($1 == start || $1 == stop) ]] || die "usage: slurm/local-cluster.sh start|stop DIR"
action=$1
dir=$(realpath -m "$2")

free_port() { /usr/bin/python3 -c 'import socket; s = socket.socket(); s.bind(("", 0)); print(s.getsockname()[1])'; }

stop() {
  local name
  for name in slurmd slurmctld; do
    if [[ -s $dir/$name.pid ]]; then kill "$(cat "$dir/$name.pid")" 2>/dev/null || true; fi
  done
  if [[ -s $dir/munged.pid ]]; then kill "$(cat "$dir/munged.pid")" 2>/dev/null || true; fi
  for name in slurmd slurmctld munged; do
    local waited=0
    while [[ -s $dir/$name.pid ]] && kill -0 "$(cat "$dir/$name.pid")" 2>/dev/null && ((waited++ < 50)); do sleep 0.2; done
    rm -f "$dir/$name.pid"
  done
}

start() {
  [[ $(id -u) -eq 0 ]] || die "needs root (slurmd and munged run as system users)"
  local tool
  for tool in munged slurmctld slurmd sbatch; do
    command -v "$tool" >/dev/null || die "'$tool' not found (install slurm-wlm and munge: bash cmake/install-debian-deps.sh)"
  done
  mkdir -p "$dir/state" "$dir/spool"
  if ! munge -n >/dev/null 2>&1; then
    # munged refuses a key that is not the munge user's own, 0600.
    if [[ ! -s /etc/munge/munge.key ]]; then mungekey --create --keyfile=/etc/munge/munge.key; fi
    chown munge:munge /etc/munge/munge.key
    chmod 0600 /etc/munge/munge.key
    install -d -o munge -g munge -m 0755 /run/munge
    runuser -u munge -- /usr/sbin/munged
    pgrep -u munge -n munged >"$dir/munged.pid"
    local tries=0
    until munge -n >/dev/null 2>&1; do ((tries++ < 50)) || die "munged did not start"; sleep 0.2; done
  fi
  local host cpus
  host=$(hostname -s)
  cpus=$(getconf _NPROCESSORS_ONLN)  # not nproc: it follows OMP_NUM_THREADS
  cat >"$dir/slurm.conf" <<CONF
ClusterName=tessera-local
SlurmctldHost=$host
SlurmUser=root
SlurmctldPort=$(free_port)
SlurmdPort=$(free_port)
AuthType=auth/munge
# A requeued job may start again cred_expire seconds after its requeue (default 120).
AuthInfo=cred_expire=10
CredType=cred/munge
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
MpiDefault=pmix
StateSaveLocation=$dir/state
SlurmdSpoolDir=$dir/spool
SlurmctldPidFile=$dir/slurmctld.pid
SlurmdPidFile=$dir/slurmd.pid
SlurmctldLogFile=$dir/slurmctld.log
SlurmdLogFile=$dir/slurmd.log
ReturnToService=2
MinJobAge=3600
KillWait=10
NodeName=$host CPUs=$cpus State=UNKNOWN
PartitionName=local Nodes=$host Default=YES MaxTime=INFINITE State=UP
CONF
  export SLURM_CONF=$dir/slurm.conf
  slurmctld -f "$SLURM_CONF" || die "slurmctld did not start (see $dir/slurmctld.log)"
  slurmd -f "$SLURM_CONF" || die "slurmd did not start (see $dir/slurmd.log)"
  local tries=0 state=""
  until [[ $state == idle* ]]; do
    ((tries++ < 100)) || die "the node did not become idle (state '$state'; see $dir/slurmctld.log, $dir/slurmd.log)"
    sleep 0.3
    state=$(sinfo -h -o %t 2>/dev/null || true)
  done
  echo "slurm/local-cluster.sh: one-node Slurm up ($host, $cpus CPUs); export SLURM_CONF=$SLURM_CONF"
}

"$action"
