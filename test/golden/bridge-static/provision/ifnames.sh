#!/usr/bin/env bash
# fabric-lab bridge-static: names this VM's NICs by MAC address: swp1.. on switches; on nodes eth0
# for the NIC facing the leaf (or LAN) and mgmt0 for Vagrant's management NIC.
#
# vagrant-libvirt attaches the management NIC first, so the kernel calls it eth0 and the
# lab NICs eth1.. . Renaming at boot with udev rules or .link files would race (eth1 ->
# eth0 while eth0 still exists), so one oneshot unit renames before the network starts,
# in two steps: every NIC to rename first gets a temporary name, then its final one.
#
#   ifnames.sh install       (provisioner) install the MAC->name map, this script as
#                            /usr/local/sbin/fabric-lab-ifnames and its boot unit; rename
#                            now unless a NIC to rename is up (a node's management NIC:
#                            node-network.sh renames that one with `live`)
#   fabric-lab-ifnames boot  (fabric-lab-ifnames.service) before the network starts
#   fabric-lab-ifnames live  rename NICs even when up, keeping their addresses
set -euo pipefail

# The map is read from elsewhere only by the tests (boot and live modes).
readonly MAP=${FABRIC_LAB_IFNAMES_MAP:-/etc/fabric-lab/ifnames}
readonly UPLOADED=/var/lib/fabric-lab/upload/device/ifnames
readonly SELF=/usr/local/sbin/fabric-lab-ifnames
readonly UNIT_NAME=fabric-lab-ifnames.service
readonly UNIT=/etc/systemd/system/$UNIT_NAME
readonly WAIT_SECONDS=30

log() { printf 'fabric-lab-ifnames: %s\n' "$*" >&2; }
die() { log "$*"; exit 1; }

declare -A name_of=()   # MAC -> wanted name
from=()                 # NICs to rename: current names ...
to=()                   # ... and their final names

load_map() {
  local file=$1 mac name rest
  while read -r mac name rest; do
    [[ -z $mac || $mac == '#'* ]] && continue
    [[ $mac =~ ^[0-9a-f]{2}(:[0-9a-f]{2}){5}$ ]] || die "$file: bad MAC '$mac'"
    [[ $name =~ ^[A-Za-z][A-Za-z0-9_-]{0,14}$ ]] || die "$file: bad interface name '$name'"
    [[ -z $rest ]] || die "$file: unexpected '$rest' after '$mac $name'"
    name_of[$mac]=$name
  done <"$file"
  ((${#name_of[@]} > 0)) || die "$file lists no NIC"
}

# The NIC with MAC $1. Bridges, VXLAN, VLAN and bond devices (they report a DEVTYPE)
# are skipped: they may carry the MAC of one of their ports.
nic_with_mac() {
  local dev
  for dev in /sys/class/net/*; do
    # (/sys/class/net/bonding_masters is a file, not a device)
    [[ -r $dev/address && $(<"$dev/address") == "$1" ]] || continue
    grep -q '^DEVTYPE=' "$dev/uevent" && continue
    printf '%s\n' "${dev##*/}"
    return 0
  done
  return 1
}

is_up() {
  local flags
  flags=$(<"/sys/class/net/$1/flags")
  ((flags & 1))
}

wait_for_nics() {
  local deadline=$((SECONDS + WAIT_SECONDS)) mac
  local -a missing
  while :; do
    missing=()
    for mac in "${!name_of[@]}"; do
      nic_with_mac "$mac" >/dev/null || missing+=("$mac")
    done
    ((${#missing[@]} == 0)) && return 0
    ((SECONDS < deadline)) || die "no NIC with MAC ${missing[*]} after ${WAIT_SECONDS}s"
    sleep 1
  done
}

collect_renames() {
  local mac cur target
  local -a macs
  mapfile -t macs < <(printf '%s\n' "${!name_of[@]}" | sort)
  from=()
  to=()
  for mac in "${macs[@]}"; do
    cur=$(nic_with_mac "$mac") || die "no NIC with MAC $mac (${name_of[$mac]})"
    [[ $cur == "${name_of[$mac]}" ]] && continue
    from+=("$cur")
    to+=("${name_of[$mac]}")
  done
  # A final name held by a NIC that is not being renamed would stop step 2 half-way.
  for target in "${to[@]}"; do
    [[ -e /sys/class/net/$target ]] || continue
    printf '%s\n' "${from[@]}" | grep -qxF -- "$target" ||
      die "$target is taken by a NIC that is not in $MAP"
  done
}

any_to_rename_up() {
  local dev
  for dev in "${from[@]}"; do
    is_up "$dev" && return 0
  done
  return 1
}

# A dhclient bound to the old name would, at its next renewal, configure whichever NIC
# has that name by then. Kill it (SIGKILL: no release, so the address stays and SSH with
# it) and hand its lease to the new name, so that the client the network configuration
# starts next asks for the same address at once.
stop_dhcp_client() {
  local old=$1 new=$2 leases=/var/lib/dhcp/dhclient.$2.leases
  pkill -KILL -f "dhclient .*[[:space:]]$old\$" || true
  rm -f "/run/dhclient.$old.pid"
  if [[ -e /var/lib/dhcp/dhclient.$old.leases ]]; then
    mv -f "/var/lib/dhcp/dhclient.$old.leases" "$leases"
    sed -i -E "s/^([[:space:]]*interface )\"$old\";/\\1\"$new\";/" "$leases"
  fi
}

rename_all() {
  local i tmp
  local -a was_up=()
  for i in "${!from[@]}"; do
    if is_up "${from[$i]}"; then
      was_up+=("$i")
      stop_dhcp_client "${from[$i]}" "${to[$i]}"
    fi
  done
  # Step 1: temporary names, so that swaps (eth0 <-> eth1) never collide.
  for i in "${!from[@]}"; do
    tmp="fl$$t$i"
    ip link set dev "${from[$i]}" down
    ip link set dev "${from[$i]}" name "$tmp"
  done
  # Step 2: final names.
  for i in "${!from[@]}"; do
    ip link set dev "fl$$t$i" name "${to[$i]}"
    log "${from[$i]} -> ${to[$i]}"
  done
  for i in "${was_up[@]}"; do
    ip link set dev "${to[$i]}" up
  done
}

write_unit() {
  cat >"$UNIT.tmp" <<'UNIT'
[Unit]
Description=fabric-lab: name NICs by MAC address before the network starts
Documentation=file:/etc/fabric-lab/ifnames
DefaultDependencies=no
After=systemd-udev-trigger.service local-fs.target
Before=network-pre.target networking.service systemd-networkd.service
Wants=network-pre.target
ConditionPathExists=/etc/fabric-lab/ifnames

[Service]
Type=oneshot
RemainAfterExit=yes
ExecStart=/usr/local/sbin/fabric-lab-ifnames boot

[Install]
WantedBy=sysinit.target
UNIT
  mv -f "$UNIT.tmp" "$UNIT"
}

install_all() {
  [[ -r $UPLOADED ]] || die "$UPLOADED is missing (the upload-device provisioner puts it there)"
  load_map "$UPLOADED"
  install -d -m 0755 /etc/fabric-lab
  install -m 0644 "$UPLOADED" "$MAP"
  install -m 0755 "${BASH_SOURCE[0]}" "$SELF"
  write_unit
  systemctl daemon-reload
  systemctl enable --quiet "$UNIT_NAME"
  wait_for_nics
  collect_renames
  if ((${#from[@]} == 0)); then
    log "NIC names are right"
  elif any_to_rename_up; then
    log "renaming ${from[*]} -> ${to[*]} waits for node-network.sh (a NIC involved is up)"
  else
    rename_all
  fi
}

case ${1:-} in
  install) install_all ;;
  boot)
    load_map "$MAP"
    wait_for_nics
    udevadm settle --timeout=10 || true
    collect_renames
    rename_all
    ;;
  live)
    load_map "$MAP"
    wait_for_nics
    collect_renames
    rename_all
    ;;
  *) die "usage: ${0##*/} install|boot|live" ;;
esac
