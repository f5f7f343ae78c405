#!/usr/bin/env bash
# fabric-lab calico-bgp: configures a switch VM from its rendered files (fabric-configs/NAME,
# uploaded to /var/lib/fabric-lab/upload/fabric): ports, rack bridge and loopback with ifupdown2
# (`ifreload -a`, on Cumulus VX and on Debian alike), routing with FRR. Idempotent: files
# are replaced only when they differ, FRR restarts only then.
#
#   switch.sh --name NAME --os cumulus|frr
set -euo pipefail

readonly FABRIC=/var/lib/fabric-lab/upload/fabric
readonly DEVICE=/var/lib/fabric-lab/upload/device

log() { printf 'switch: %s\n' "$*" >&2; }
die() { log "$*"; exit 1; }

name=
os=
while (($#)); do
  case $1 in
    --name) name=${2:?--name needs a value}; shift 2 ;;
    --os) os=${2:?--os needs a value}; shift 2 ;;
    *) die "unknown argument: $1" ;;
  esac
done
[[ $name =~ ^[a-z0-9-]+$ ]] || die "--name: bad switch name '$name'"
[[ $os == cumulus || $os == frr ]] || die "--os must be cumulus or frr, not '$os'"

for f in interfaces frr.conf daemons; do
  [[ -r $FABRIC/$f ]] || die "$FABRIC/$f is missing (the upload-fabric provisioner puts it there)"
done
command -v ifreload >/dev/null || die "ifreload not found: the switch box needs ifupdown2 (Cumulus VX has it; on Debian: apt install ifupdown2)"
command -v vtysh >/dev/null || die "vtysh not found: the switch box needs FRR (apt install frr)"

# install SRC DEST MODE [OWNER]: replace DEST only when it differs; status 0 when replaced.
changed_install() {
  local src=$1 dest=$2 mode=$3 owner=${4:-root:root}
  if [[ -e $dest ]] && cmp -s "$src" "$dest"; then
    return 1
  fi
  install -D -m "$mode" -o "${owner%:*}" -g "${owner#*:}" "$src" "$dest" || die "cannot install $dest"
  log "installed $dest"
}

# Routing between ports is this VM's job; keep it on across reboots.
sysctl_conf=/etc/sysctl.d/90-fabric-lab.conf
printf '# fabric-lab: %s routes between its ports.\nnet.ipv4.ip_forward = 1\n' "$name" >"$sysctl_conf.new"
changed_install "$sysctl_conf.new" "$sysctl_conf" 0644 || true
rm -f "$sysctl_conf.new"
sysctl -q -p "$sysctl_conf"

# Debian switches: the management NIC keeps DHCP (vagrant ssh) but no default route, so lab
# traffic is never routed to the host. Cumulus keeps eth0 in its management VRF instead.
if [[ $os == frr ]]; then
  [[ -r $DEVICE/dhclient-mgmt ]] || die "$DEVICE/dhclient-mgmt is missing"
  changed_install "$DEVICE/dhclient-mgmt" /etc/dhcp/dhclient-enter-hooks.d/fabric-lab-mgmt 0644 || true
  while ip -4 route show default dev eth0 | grep -q .; do
    ip -4 route del default dev eth0
  done
fi

# Ports, bridge, loopback. `ifup -s` parses the file first, so a bad one is never installed.
mkdir -p /run/network
ifup -a -s -i "$FABRIC/interfaces" >/dev/null || die "ifupdown2 rejects $FABRIC/interfaces"
changed_install "$FABRIC/interfaces" /etc/network/interfaces 0644 || true
ifreload -a

# FRR: check with its own grammar, install, (re)start.
vtysh --dryrun -f "$FABRIC/frr.conf" >/dev/null || die "FRR rejects $FABRIC/frr.conf"
frr_changed=no
changed_install "$FABRIC/frr.conf" /etc/frr/frr.conf 0640 frr:frr && frr_changed=yes
changed_install "$FABRIC/daemons" /etc/frr/daemons 0640 frr:frr && frr_changed=yes
systemctl enable --quiet frr.service
if [[ $frr_changed == yes ]] || ! systemctl is-active --quiet frr.service; then
  systemctl restart frr.service
  log "FRR (re)started"
fi

ip -br address show >&2
