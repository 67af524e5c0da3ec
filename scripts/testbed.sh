#!/usr/bin/env bash
# Installs and starts what the tests need, idempotently. The durable-run
# tests need only sh, awk and coreutils; later layers add SLURM, sshd and
# QC programs here.
set -euo pipefail
need=()
for c in awk sh setsid; do
  command -v "$c" >/dev/null 2>&1 || need+=("$c")
done
if [ ${#need[@]} -gt 0 ]; then
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq gawk util-linux coreutils
fi
echo "testbed: ready"
