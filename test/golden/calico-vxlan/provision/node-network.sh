#!/usr/bin/env bash
# fabric-lab calico-vxlan: moves a node onto the fabric (DESIGN 3.1). Its NIC facing the leaf (or
# LAN) becomes eth0 with the plan's address and the default route via the gateway; Vagrant's
# management NIC becomes mgmt0 and keeps its DHCP address for vagrant ssh only (no default
# route, so no lab traffic is routed to the host). Run after node-common.sh, which fetches
# everything that needs the internet first.
#
# The configuration is written for the guest's network stack (ifupdown: the rendered
# `interfaces`; netplan: `netplan.yaml`; both from /var/lib/fabric-lab/upload/device) and persists; the
# NICs are renamed now by fabric-lab-ifnames (ifnames.sh) and at every boot by its unit.
# The switch-over runs as a systemd unit (fabric-lab-network.service, in /run): renaming
# the management NIC takes it down for a moment, and should the SSH session drop then, the
# switch-over still completes. (`systemctl start` of a oneshot unit waits for it and needs no
# D-Bus, which minimal boxes lack; systemd-run does.)
#
#   node-network.sh --name NAME                 (provisioner)
#   fabric-lab-node-network --switch-over       (fabric-lab-network.service)
set -euo pipefail

readonly DEVICE=/var/lib/fabric-lab/upload/device
readonly IFNAMES=/usr/local/sbin/fabric-lab-ifnames
readonly LOG=/var/log/fabric-lab-network.log
readonly SELF=/usr/local/sbin/fabric-lab-node-network
readonly UNIT_NAME=fabric-lab-network.service
readonly MGMT=mgmt0
readonly LAB_NIC=eth0

log() { printf 'node-network: %s\n' "$*" >&2; }
die() { log "$*"; exit 1; }

name=
mode=provision
while (($#)); do
  case $1 in
    --name) name=${2:?--name needs a value}; shift 2 ;;
    --switch-over) mode=switch-over; shift ;;
    *) die "unknown argument: $1" ;;
  esac
done
[[ $mode == switch-over || $name =~ ^[a-z0-9-]+$ ]] || die "--name: bad node name '$name'"

network_stack() {
  if [[ -d /etc/netplan ]] && command -v netplan >/dev/null; then
    echo netplan
  elif [[ -f /etc/network/interfaces ]] && command -v ifup >/dev/null; then
    echo ifupdown
  else
    die "neither netplan nor ifupdown found: cannot configure the network of this box"
  fi
}

install_if_changed() {
  local src=$1 dest=$2 mode=$3
  [[ -e $dest ]] && cmp -s "$src" "$dest" && return 0
  install -D -m "$mode" "$src" "$dest" || die "cannot install $dest"
  log "installed $dest"
}

install_config() {
  local f
  for f in interfaces netplan.yaml dhclient-mgmt; do
    [[ -r $DEVICE/$f ]] || die "$DEVICE/$f is missing (the upload-device provisioner puts it there)"
  done
  [[ -x $IFNAMES ]] || die "$IFNAMES is missing (the ifnames provisioner installs it)"
  case $(network_stack) in
    ifupdown)
      [[ -e /etc/network/interfaces.fabric-lab-orig ]] || cp -p /etc/network/interfaces /etc/network/interfaces.fabric-lab-orig
      install_if_changed "$DEVICE/dhclient-mgmt" /etc/dhcp/dhclient-enter-hooks.d/fabric-lab-mgmt 0644
      install_if_changed "$DEVICE/interfaces" /etc/network/interfaces 0644
      ;;
    netplan)
      # The box's own files name the management NIC eth0; eth0 is the lab NIC now.
      for f in /etc/netplan/*.yaml; do
        [[ -e $f && $f != /etc/netplan/90-fabric-lab.yaml ]] || continue
        mv -f "$f" "$f.fabric-lab-disabled"
        log "set aside $f"
      done
      install_if_changed "$DEVICE/netplan.yaml" /etc/netplan/90-fabric-lab.yaml 0600
      if [[ -d /etc/cloud/cloud.cfg.d ]]; then
        printf 'network: {config: disabled}\n' >/etc/cloud/cloud.cfg.d/99-fabric-lab-network.cfg
      fi
      ;;
  esac
}

switch_over() {
  local stack reacquire=no
  stack=$(network_stack)
  # The management NIC keeps its address through the rename (and SSH with it), but then
  # has no DHCP client. ifupdown2 starts one and releases the lease again unless it brings
  # a *new* address, so the address goes first; DHCP hands out the same one a moment later
  # and TCP rides that out. Not when a client runs already (a re-run): ifupdown2 keeps it,
  # and nothing would bring the address back.
  if [[ ! -e /sys/class/net/$MGMT ]]; then
    reacquire=yes
  elif [[ $stack == ifupdown ]] && ! pgrep -f "dhclient .*[[:space:]]$MGMT\$" >/dev/null; then
    reacquire=yes
  fi
  "$IFNAMES" live
  if [[ $reacquire == yes ]]; then
    ip -4 address flush dev "$MGMT"
  fi
  case $stack in
    ifupdown)
      if command -v ifreload >/dev/null; then
        ifreload -a
      else
        # ifupdown still records the old eth0 (the management NIC) as configured.
        ifdown --force "$LAB_NIC" >/dev/null 2>&1 || true
        ifup -a
      fi
      ;;
    netplan) netplan apply ;;
  esac
  while ip -4 route show default dev "$MGMT" | grep -q .; do
    ip -4 route del default dev "$MGMT"
  done
}

check() {
  local i
  for i in $(seq 60); do
    ip -4 -o address show dev "$MGMT" | grep -q inet && break
    ((i < 60)) || die "$MGMT has no address (DHCP on the management network)"
    sleep 1
  done
  ip -4 -o address show dev "$LAB_NIC" | grep -q inet || die "$LAB_NIC has no address"
  ip -4 route show default | grep -q "dev $LAB_NIC" || die "no default route via $LAB_NIC"
  ip -br address show >&2
  ip -4 route show >&2
}

write_unit() {
  cat >"/run/systemd/system/$UNIT_NAME" <<UNIT
[Unit]
Description=fabric-lab: move this node onto the fabric (node-network.sh)

[Service]
Type=oneshot
ExecStart=$SELF --switch-over
# The DHCP client started for mgmt0 must outlive this unit.
KillMode=process
StandardOutput=append:$LOG
StandardError=append:$LOG
UNIT
}

if [[ $mode == switch-over ]]; then
  switch_over
  check
  exit 0
fi

install_config
install -m 0755 "${BASH_SOURCE[0]}" "$SELF"
install -d -m 0755 /run/systemd/system
write_unit
systemctl daemon-reload
: >"$LOG"
status=0
systemctl start "$UNIT_NAME" || status=$?
cat "$LOG" >&2
((status == 0)) || die "switch-over failed (status $status), see $LOG"
log "$name is on the fabric: $(ip -4 -o address show dev "$LAB_NIC" | awk '{print $4}'), default via $LAB_NIC"
