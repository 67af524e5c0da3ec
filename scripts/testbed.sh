#!/usr/bin/env bash
# The testbed (GUIDE §6): real SLURM (munge + slurmctld + slurmd) on this
# machine, private sshds on 127.0.0.1 with generated test keys that reach the
# same SLURM, and the programs the end-to-end tests run (psi4, xtb, nwchem,
# GROMACS; pyscf, which Debian lacks, in a venv from PyPI).
# Idempotent: run it any number of times.
#
# Two sshds listen on 127.0.0.1: the main one (port 2222) and a second one
# (port 2223) that fault tests stop and start without disturbing the others.
# Writes $MS_TESTBED (default /var/tmp/matterstack-testbed)/env with:
#   MS_TESTBED_SSH_PORT, MS_TESTBED_FAULT_PORT, MS_TESTBED_SSH_KEY,
#   MS_TESTBED_CONN_KEY, MS_TESTBED_SSH_WRONG_KEY, MS_TESTBED_SSH_USER, MS_TESTBED_DIR,
#   MS_TESTBED_PYSCF_PYTHON
# Tests that need the testbed read that file; CI runs this script first.
#
# Subcommands: (none)|start          install and start everything
#              stop-sshd [PORT]      stop an sshd and drop its connections
#              start-sshd [PORT]     start it again
set -euo pipefail
TB=${MS_TESTBED:-/var/tmp/matterstack-testbed}
PORT=${MS_TESTBED_SSH_PORT:-2222}
FAULT_PORT=${MS_TESTBED_FAULT_PORT:-2223}
SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
mkdir -p "$TB"

install_packages() {
  local pkgs=()
  command -v awk >/dev/null || pkgs+=(gawk)
  command -v slurmctld >/dev/null || pkgs+=(slurm-wlm)
  command -v munged >/dev/null || pkgs+=(munge)
  command -v sshd >/dev/null || [ -x /usr/sbin/sshd ] || pkgs+=(openssh-server)
  command -v ssh >/dev/null || pkgs+=(openssh-client)
  command -v rsync >/dev/null || pkgs+=(rsync)
  command -v sha256sum >/dev/null || pkgs+=(coreutils)
  # Quantum chemistry and MD programs the end-to-end tests run for real.
  command -v psi4 >/dev/null || pkgs+=(psi4)
  command -v xtb >/dev/null || pkgs+=(xtb)
  command -v nwchem >/dev/null || pkgs+=(nwchem)
  command -v gmx >/dev/null || pkgs+=(gromacs)
  command -v chromium >/dev/null || pkgs+=(chromium)   # the web UI's browser tests
  command -v tmux >/dev/null || pkgs+=(tmux)           # the TUI's terminal tests
  command -v lmp >/dev/null || pkgs+=(lammps)
  command -v pw.x >/dev/null || pkgs+=(quantum-espresso)   # ld1.x makes the tests' pseudopotentials
  command -v cp2k >/dev/null || pkgs+=(cp2k)
  [ -f /usr/share/cp2k/GTH_POTENTIALS ] || pkgs+=(cp2k-data)   # basis sets and GTH potentials
  python3 -c 'import ensurepip' 2>/dev/null || pkgs+=(python3-venv)   # the pyscf venv
  if [ ${#pkgs[@]} -gt 0 ]; then
    echo "testbed: installing ${pkgs[*]}"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${pkgs[@]}" >/dev/null
  fi
}

# PySCF is not packaged by Debian 12: a venv of its own, pinned (~20 s, ~450 MB).
PYSCF_VERSION=2.14.0
install_pyscf() {
  local py="$TB/pyscf/bin/python"
  "$py" -c 'import pyscf' 2>/dev/null && return 0
  echo "testbed: installing pyscf==$PYSCF_VERSION into $TB/pyscf"
  [ -x "$py" ] || python3 -m venv "$TB/pyscf"
  "$py" -m pip install -q --disable-pip-version-check "pyscf==$PYSCF_VERSION"
}

start_munge() {
  if ! pgrep -x munged >/dev/null; then
    $SUDO mkdir -p /etc/munge /var/log/munge /var/lib/munge /run/munge
    if [ ! -s /etc/munge/munge.key ]; then
      $SUDO dd if=/dev/urandom of=/etc/munge/munge.key bs=1024 count=1 status=none
    fi
    $SUDO chown -R munge:munge /etc/munge /var/log/munge /var/lib/munge /run/munge 2>/dev/null || true
    $SUDO chmod 0400 /etc/munge/munge.key
    $SUDO chmod 0700 /etc/munge
    $SUDO -u munge /usr/sbin/munged --force 2>/dev/null || $SUDO /usr/sbin/munged --force
  fi
}

start_slurm() {
  local host cpus mem
  host=$(hostname)
  cpus=$(nproc)
  mem=$(( $(awk '/MemTotal/ {print $2}' /proc/meminfo) / 1024 - 512 ))
  $SUDO mkdir -p /etc/slurm /var/spool/slurmctld /var/spool/slurmd /var/log/slurm
  local conf
  conf=$(cat <<CONF
ClusterName=testbed
SlurmctldHost=$host
AuthType=auth/munge
CredType=cred/munge
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
SlurmUser=root
SlurmdUser=root
StateSaveLocation=/var/spool/slurmctld
SlurmdSpoolDir=/var/spool/slurmd
SlurmctldPidFile=/run/slurmctld.pid
SlurmdPidFile=/run/slurmd.pid
SlurmctldLogFile=/var/log/slurm/slurmctld.log
SlurmdLogFile=/var/log/slurm/slurmd.log
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/filetxt
JobCompLoc=/var/log/slurm/jobcomp.log
SchedulerType=sched/backfill
SchedulerParameters=sched_interval=1
MinJobAge=300
KillWait=5
InactiveLimit=0
ReturnToService=2
MpiDefault=none
DefMemPerCPU=64
NodeName=$host CPUs=$cpus RealMemory=$mem State=UNKNOWN
PartitionName=debug Nodes=$host Default=YES MaxTime=INFINITE State=UP OverSubscribe=FORCE:4
PartitionName=short Nodes=$host MaxTime=00:10:00 State=UP OverSubscribe=FORCE:4
CONF
)
  if [ ! -f /etc/slurm/slurm.conf ] || [ "$(cat /etc/slurm/slurm.conf)" != "$conf" ]; then
    echo "$conf" | $SUDO tee /etc/slurm/slurm.conf >/dev/null
    $SUDO pkill -x slurmctld 2>/dev/null || true
    $SUDO pkill -x slurmd 2>/dev/null || true
    for _ in $(seq 1 100); do
      pgrep -x slurmctld >/dev/null || pgrep -x slurmd >/dev/null || break
      sleep 0.1
    done
  fi
  pgrep -x slurmctld >/dev/null || $SUDO slurmctld
  pgrep -x slurmd >/dev/null || $SUDO slurmd
  for _ in $(seq 1 60); do
    if sinfo -h -o '%t' 2>/dev/null | grep -qE '^(idle|mix|alloc)'; then return 0; fi
    scontrol update nodename="$host" state=resume >/dev/null 2>&1 || true
    sleep 0.5
  done
  echo "testbed: SLURM did not come up; sinfo says: $(sinfo 2>&1)" >&2
  tail -20 /var/log/slurm/slurmctld.log >&2 || true
  return 1
}

write_keys() {
  mkdir -p "$TB/ssh"
  chmod 700 "$TB" "$TB/ssh"
  [ -f "$TB/ssh/host_ed25519" ] || ssh-keygen -q -t ed25519 -N '' -f "$TB/ssh/host_ed25519"
  [ -f "$TB/ssh/id_ed25519" ] || ssh-keygen -q -t ed25519 -N '' -C matterstack-testbed -f "$TB/ssh/id_ed25519"
  [ -f "$TB/ssh/conn_ed25519" ] || ssh-keygen -q -t ed25519 -N '' -C matterstack-conn-count -f "$TB/ssh/conn_ed25519"
  [ -f "$TB/ssh/wrong_ed25519" ] || ssh-keygen -q -t ed25519 -N '' -C not-authorized -f "$TB/ssh/wrong_ed25519"
  cat "$TB/ssh/id_ed25519.pub" "$TB/ssh/conn_ed25519.pub" > "$TB/ssh/authorized_keys"
  chmod 600 "$TB/ssh/authorized_keys"
}

write_sshd_config() { # write_sshd_config PORT
  cat > "$TB/ssh/sshd_$1_config" <<CONF
Port $1
ListenAddress 127.0.0.1
HostKey $TB/ssh/host_ed25519
PidFile $TB/ssh/sshd_$1.pid
AuthorizedKeysFile $TB/ssh/authorized_keys
PermitRootLogin prohibit-password
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
StrictModes no
MaxSessions 200
MaxStartups 200:30:400
LogLevel INFO
Subsystem sftp internal-sftp
CONF
}

start_sshd() { # start_sshd PORT
  local p=$1
  $SUDO mkdir -p /run/sshd
  if [ -f "$TB/ssh/sshd_$p.pid" ] && kill -0 "$(cat "$TB/ssh/sshd_$p.pid")" 2>/dev/null; then return 0; fi
  /usr/sbin/sshd -f "$TB/ssh/sshd_${p}_config" -E "$TB/ssh/sshd_$p.log"
  for _ in $(seq 1 50); do
    if ssh -p "$p" -i "$TB/ssh/id_ed25519" -o BatchMode=yes -o StrictHostKeyChecking=no \
         -o UserKnownHostsFile=/dev/null -o ControlMaster=no -o ControlPath=none -o LogLevel=ERROR \
         "$(id -un)@127.0.0.1" true 2>/dev/null; then
      return 0
    fi
    sleep 0.1
  done
  echo "testbed: sshd did not answer on 127.0.0.1:$p" >&2
  return 1
}

stop_sshd() { # stop_sshd PORT: the listener and every connection it serves
  local p=$1 pid
  if [ -f "$TB/ssh/sshd_$p.pid" ]; then
    pid=$(cat "$TB/ssh/sshd_$p.pid")
    pkill -KILL -P "$pid" 2>/dev/null || true
    kill "$pid" 2>/dev/null || true
    rm -f "$TB/ssh/sshd_$p.pid"
  fi
}

write_env() {
  cat > "$TB/env" <<ENV
MS_TESTBED_DIR=$TB
MS_TESTBED_SSH_PORT=$PORT
MS_TESTBED_FAULT_PORT=$FAULT_PORT
MS_TESTBED_SSH_KEY=$TB/ssh/id_ed25519
MS_TESTBED_CONN_KEY=$TB/ssh/conn_ed25519
MS_TESTBED_SSH_WRONG_KEY=$TB/ssh/wrong_ed25519
MS_TESTBED_SSH_USER=$(id -un)
MS_TESTBED_PYSCF_PYTHON=$TB/pyscf/bin/python
ENV
}

case "${1:-start}" in
  start)
    install_packages
    install_pyscf
    start_munge
    start_slurm
    write_keys
    for p in "$PORT" "$FAULT_PORT"; do write_sshd_config "$p"; start_sshd "$p"; done
    write_env
    echo "testbed: SLURM $(sinfo -V 2>/dev/null | awk '{print $2}') up ($(sinfo -h -o '%P %t' | tr '\n' ' ')); sshd on 127.0.0.1:$PORT and :$FAULT_PORT; env in $TB/env"
    ;;
  stop-sshd) stop_sshd "${2:-$FAULT_PORT}" ;;
  start-sshd) start_sshd "${2:-$FAULT_PORT}" ;;
  *) echo "usage: $0 [start|stop-sshd|start-sshd]" >&2; exit 2 ;;
esac
