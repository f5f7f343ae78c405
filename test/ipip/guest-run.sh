#!/usr/bin/env bash
# Runs inside the IPIP test guest (test/ipip/guest-init.sh starts it; the checkout is
# mounted read-only): the emulator on calico-ipip on a kernel that has `ipip`. Writes
# into the results directory ($1): <step>.out/.err/.rc for up, verify (--json), down;
# dataplane.txt and bird.txt (what the real kernel and BIRD show while the lab runs);
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
{
  for ns in $(ip netns list | awk '{ print $1 }'); do
    echo "## $ns"
    ip -n "$ns" -d addr show dev tunl0 2>&1
    ip -n "$ns" route show
  done
} >"$R/dataplane.txt" 2>&1
for node in k8s-master k8s-worker1 k8s-worker2; do
  echo "## $node"
  lab exec "$LAB" "$node" -- birdc show protocols
done >"$R/bird.txt" 2>&1
step down lab down "$LAB"
{
  echo "## namespaces"; ip netns list
  echo "## processes"
  # shellcheck disable=SC2009 # zombies (exited, not yet reaped) are not leftovers
  ps -eo pid,stat,comm | grep -E 'bird|zebra|bgpd|tcpdump|ping' | grep -v ' Z'
} >"$R/leftovers.txt" 2>&1

printf '{"bootMs":%d,"upMs":%d,"verifyMs":%d,"downMs":%d}\n' \
  "$boot_ms" "${ms[up]}" "${ms[verify]}" "${ms[down]}" >"$R/times.json"
