#!/usr/bin/env bash
# A real single-node SLURM cluster on localhost, for the cluster tests (needs root, Debian's
# slurm-wlm and munge: `bash scripts/setup.sh --slurm`).
#   bash scripts/slurm-localhost.sh start   # start munged, slurmctld, slurmd; wait until idle
#   bash scripts/slurm-localhost.sh stop    # stop them
# Everything it writes lives under $SLURM_LOCAL_DIR (default /tmp/procrustean-slurm).
set -euo pipefail
DIR=${SLURM_LOCAL_DIR:-/tmp/procrustean-slurm}
HOST=$(hostname)
CONF=/etc/slurm/slurm.conf

start() {
  command -v slurmctld >/dev/null || { echo "slurm-wlm is not installed (bash scripts/setup.sh --slurm)" >&2; exit 3; }
  [ "$(id -u)" -eq 0 ] || { echo "starting SLURM needs root" >&2; exit 3; }
  mkdir -p "$DIR"/{state,spool,log} /etc/slurm /etc/munge /run/munge /var/log/munge /var/lib/munge
  if [ ! -s /etc/munge/munge.key ]; then
    dd if=/dev/urandom of=/etc/munge/munge.key bs=1024 count=1 status=none
  fi
  chown -R munge:munge /etc/munge /run/munge /var/log/munge /var/lib/munge
  chmod 400 /etc/munge/munge.key
  pgrep -x munged >/dev/null || runuser -u munge -- /usr/sbin/munged
  local mem cpus
  mem=$(( $(awk '/MemTotal/ {print int($2/1024)}' /proc/meminfo) * 8 / 10 ))
  cpus=$(nproc)
  cat > "$CONF" <<CONF
ClusterName=procrustean
SlurmctldHost=$HOST
AuthType=auth/munge
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SlurmUser=root
SlurmdUser=root
StateSaveLocation=$DIR/state
SlurmdSpoolDir=$DIR/spool
SlurmctldPidFile=$DIR/slurmctld.pid
SlurmdPidFile=$DIR/slurmd.pid
SlurmctldLogFile=$DIR/log/slurmctld.log
SlurmdLogFile=$DIR/log/slurmd.log
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
AccountingStorageType=accounting_storage/none
JobAcctGatherType=jobacct_gather/none
MinJobAge=600
# Fail fast when the controller is down: Snakemake's SLURM plugin runs `scontrol show config`
# while it loads, so with the default (10 s) every snakemake start waits 9 s when SLURM is stopped.
MessageTimeout=2
ReturnToService=2
NodeName=$HOST CPUs=$cpus RealMemory=$mem State=UNKNOWN
PartitionName=main Nodes=$HOST Default=YES MaxTime=INFINITE State=UP
CONF
  pgrep -x slurmctld >/dev/null || /usr/sbin/slurmctld
  pgrep -x slurmd >/dev/null || /usr/sbin/slurmd
  for _ in $(seq 60); do
    if sinfo -h -o %t 2>/dev/null | grep -qE '^(idle|mix|alloc)'; then
      echo "slurm: node $HOST $(sinfo -h -o %t) (partition main, $cpus CPUs, ${mem} MB)"
      return 0
    fi
    scontrol update nodename="$HOST" state=resume >/dev/null 2>&1 || true
    sleep 1
  done
  echo "slurm: node did not become idle; see $DIR/log" >&2
  exit 1
}

stop() {
  pkill -x slurmd 2>/dev/null || true
  pkill -x slurmctld 2>/dev/null || true
  for _ in $(seq 20); do pgrep -x 'slurmd|slurmctld' >/dev/null || break; sleep 0.5; done
  echo "slurm: stopped"
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  *) echo "usage: $0 start|stop" >&2; exit 2 ;;
esac
