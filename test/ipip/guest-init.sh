#!/bin/sh
# PID 1 of the IPIP test guest (installed as /sbin/fabric-init by
# scripts/build-ipip-guest.sh; booted with init=/sbin/fabric-init panic=-1 and qemu
# -no-reboot, so whatever happens here the VM ends and qemu exits).
#
# The host shares three directories over virtio-9p:
#   results  read-write: guest.env (what to run) in, logs and reports out
#   repo     read-only: the fabric-lab checkout, mounted at the same path as on the host
#   modules  read-only, optional: node_modules when the checkout's is a symlink out of it
# It runs the checkout's test/ipip/guest-run.sh (or $RUN; log in guest.log), stores its exit
# code in guest.rc and powers off. No network: the lab's namespaces are the only network in the guest.
PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
export PATH
mountpoint -q /proc || mount -t proc proc /proc
mountpoint -q /sys || mount -t sysfs sysfs /sys
mountpoint -q /dev || mount -t devtmpfs devtmpfs /dev
mountpoint -q /run || mount -t tmpfs -o mode=0755 tmpfs /run
mount -t tmpfs tmpfs /tmp
mkdir -p /dev/pts /dev/shm && mount -t devpts devpts /dev/pts && mount -t tmpfs tmpfs /dev/shm
hostname ipip-guest
ip link set lo up
modprobe -a 9pnet_virtio 9p

p9() { mkdir -p "$3" && mount -t 9p -o "trans=virtio,version=9p2000.L,msize=512000,$2" "$1" "$3"; }
if ! p9 results rw /mnt/results; then
  echo "fabric-init: cannot mount the results share" >&2
  echo o >/proc/sysrq-trigger
fi
set -a   # REPO, MODULES and whatever else the host passes on, for guest-run.sh too
# shellcheck disable=SC1091 # written by the host for this boot
. /mnt/results/guest.env
set +a
p9 repo ro,cache=loose "$REPO"
[ -z "${MODULES:-}" ] || p9 modules ro,cache=loose "$MODULES"

# RUN: another script of the checkout to run instead (for experiments).
RUN=${RUN:-test/ipip/guest-run.sh}
echo "fabric-init: up after $(cut -d' ' -f1 /proc/uptime) s, running $REPO/$RUN"
# The log is in the host's results directory as it is written, even if the guest hangs.
bash "$REPO/$RUN" /mnt/results >/mnt/results/guest.log 2>&1
rc=$?
echo "$rc" >/mnt/results/guest.rc
echo "fabric-init: guest-run.sh exited $rc after $(cut -d' ' -f1 /proc/uptime) s"
sync
umount /mnt/results
echo o >/proc/sysrq-trigger
sleep 10
