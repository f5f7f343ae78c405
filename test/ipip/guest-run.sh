#!/usr/bin/env bash
# Runs inside the IPIP test guest (test/ipip/guest-init.sh starts it; the checkout is
# mounted read-only): the emulator on calico-ipip on a kernel that has `ipip`. Writes
# into the results directory ($1): <step>.out/.err/.rc for up, verify (--json), seed 002's
# policy steps (matrix --json before, after default deny, after allow), down;
# dataplane.txt, bird.txt and ipip-wire.txt (what the real kernel, BIRD and tcpdump show
# while the lab runs);
# leftovers.txt (namespaces and daemons after down) and times.json (ms per step).
set -uo pipefail
R=$1
LAB=${LAB:-calico-ipip}
cd "$REPO" || exit 10
# The CLI the host compiled (not ./lab, which would try to recompile a stale dist in a
# read-only checkout).
lab() { node "$REPO/dist/cli/main.js" "$@"; }
now() { local s; s=$(date +%s%N); echo $((s / 1000000)); }
declare -A ms
step() {   # step NAME CMD...: run, keep stdout/stderr/exit code, time it
  local name=$1 t0 rc; shift
  t0=$(now)
  "$@" >"$R/$name.out" 2>"$R/$name.err"
  rc=$?
  ms[$name]=$(($(now) - t0))
  echo "$rc" >"$R/$name.rc"
  echo "guest-run: $name exited $rc in ${ms[$name]} ms"
}
boot_ms=$(awk '{ printf "%d", $1 * 1000 }' /proc/uptime)
echo "guest-run: kernel $(uname -r), node $(node --version), up $boot_ms ms after boot"

step up lab up "$LAB" --no-verify   # verify once, below, as JSON
step verify lab verify "$LAB" --json
# Straight from the kernel and BIRD (one CLI start costs seconds under emulation).
# A device's namespace: the one whose name ends in -DEVICE or _DEVICE.
netns_of() { ip netns list | awk '{ print $1 }' | grep -E "[-_]$1\$" | head -n 1; }
nodes=(k8s-master k8s-worker1 k8s-worker2)
for node in "${nodes[@]}"; do
  ns=$(netns_of "$node")
  echo "## $node ($ns)"
  ip -n "$ns" -d addr show dev tunl0 2>&1
  ip -n "$ns" route show
done >"$R/dataplane.txt" 2>&1
for node in "${nodes[@]}"; do
  echo "## $node"
  lab exec "$LAB" "$node" -- birdc show protocols
done >"$R/bird.txt" 2>&1
# Raw tcpdump of IPIP on k8s-worker1's uplink while it pings a pod on k8s-worker2
# (recorded for test/unit/ipip-wire.test.ts).
w1=$(netns_of k8s-worker1)
target=$(ip -n "$(netns_of k8s-worker2)" route show scope link | awk '/ dev cali/ { print $1; exit }')
timeout 30 ip netns exec "$w1" tcpdump -n -e -l -c 2 -i eth0 'ip proto 4' >"$R/ipip-wire.txt" 2>"$R/ipip-wire.err" &
for _ in $(seq 100); do grep -q listening "$R/ipip-wire.err" && break; sleep 0.1; done
ip netns exec "$w1" ping -c 2 -W 5 "$target" >/dev/null
wait
# Seed 002 on IPIP: the truth table before, after default deny, after allow (the lab's
# pods are in namespace default; the shipped policies name space1).
for pol in default-deny-ingress allow-all-ingress; do
  sed 's/namespace: space1/namespace: default/' "$REPO/labs/policies/$pol.yaml" >"$R/$pol.yaml"
done
step matrix-open lab policy "$LAB" matrix --json
step apply-deny lab policy "$LAB" apply "$R/default-deny-ingress.yaml"
step matrix-deny lab policy "$LAB" matrix --json
step verify-deny lab verify "$LAB" --json
step apply-allow lab policy "$LAB" apply "$R/allow-all-ingress.yaml"
step matrix-allow lab policy "$LAB" matrix --json
step down lab down "$LAB"
{
  echo "## namespaces"; ip netns list
  echo "## processes"
  # shellcheck disable=SC2009 # zombies (exited, not yet reaped) are not leftovers
  ps -eo pid,stat,comm | grep -E 'bird|zebra|bgpd|tcpdump|ping' | grep -v ' Z'
} >"$R/leftovers.txt" 2>&1

printf '{"bootMs":%d,"upMs":%d,"verifyMs":%d,"downMs":%d}\n' \
  "$boot_ms" "${ms[up]}" "${ms[verify]}" "${ms[down]}" >"$R/times.json"
