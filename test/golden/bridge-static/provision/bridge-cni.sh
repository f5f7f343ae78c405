#!/usr/bin/env bash
# fabric-lab bridge-static: the bridge CNI dataplane of a node (DESIGN 3.5, seeds 003/004).
#   - CNI configs: kubernetes/cni/NAME/10-bridge.conf (bridge plugin, host-local IPAM on the
#     node's pod CIDR) and kubernetes/cni/99-loopback.conf into /etc/cni/net.d;
#   - a static route to every other node's pod CIDR via that node (no overlay, no BGP);
#   - FORWARD accepted for the pod subnet, MASQUERADE for traffic leaving it.
# Routes and rules come from the rendered bridge-cni.conf and are applied now and at every
# boot (fabric-lab-bridge-cni.service). Idempotent.
#
#   bridge-cni.sh --name NAME       (provisioner: install and apply)
#   fabric-lab-bridge-cni apply     (boot unit: apply /etc/fabric-lab/bridge-cni.conf)
set -euo pipefail

readonly UPLOAD=/var/lib/fabric-lab/upload
# Read from elsewhere only by the tests (apply mode).
readonly CONF=${FABRIC_LAB_BRIDGE_CNI_CONF:-/etc/fabric-lab/bridge-cni.conf}
readonly SELF=/usr/local/sbin/fabric-lab-bridge-cni
readonly UNIT_NAME=fabric-lab-bridge-cni.service
readonly LAB_NIC=eth0
readonly CIDR_RE='^([0-9]{1,3}\.){3}[0-9]{1,3}/[0-9]{1,2}$'
readonly IP_RE='^([0-9]{1,3}\.){3}[0-9]{1,3}$'

log() { printf 'bridge-cni: %s\n' "$*" >&2; }
die() { log "$*"; exit 1; }

pod_subnet=
masquerade=
routes=()   # "CIDR VIA"

load_conf() {
  local file=$1 key a b rest
  while read -r key a b rest; do
    [[ -z $key || $key == '#'* ]] && continue
    [[ -z $rest ]] || die "$file: unexpected '$rest'"
    case $key in
      pod-subnet) [[ $a =~ $CIDR_RE && -z $b ]] || die "$file: bad pod-subnet '$a'"; pod_subnet=$a ;;
      masquerade) [[ ($a == yes || $a == no) && -z $b ]] || die "$file: masquerade must be yes or no"; masquerade=$a ;;
      route) [[ $a =~ $CIDR_RE && $b =~ $IP_RE ]] || die "$file: bad route '$a $b'"; routes+=("$a $b") ;;
      *) die "$file: unknown setting '$key'" ;;
    esac
  done <"$file"
  [[ -n $pod_subnet && -n $masquerade ]] || die "$file: needs pod-subnet and masquerade"
}

# iptables rule present, else added (-C checks, so re-runs add nothing).
ensure_rule() {
  local table=$1 how=$2 chain=$3
  shift 3
  iptables -w -t "$table" -C "$chain" "$@" 2>/dev/null || iptables -w -t "$table" "$how" "$chain" "$@"
}

apply() {
  local route cidr via
  for route in "${routes[@]}"; do
    read -r cidr via <<<"$route"
    ip route replace "$cidr" via "$via" dev "$LAB_NIC"
  done
  ensure_rule filter -I FORWARD -s "$pod_subnet" -j ACCEPT
  ensure_rule filter -I FORWARD -d "$pod_subnet" -j ACCEPT
  if [[ $masquerade == yes ]]; then
    ensure_rule nat -A POSTROUTING -s "$pod_subnet" ! -d "$pod_subnet" -j MASQUERADE
  fi
  log "${#routes[@]} pod routes via $LAB_NIC, FORWARD accepted for $pod_subnet, masquerade $masquerade"
}

write_unit() {
  cat >"/etc/systemd/system/$UNIT_NAME.tmp" <<'UNIT'
[Unit]
Description=fabric-lab: bridge CNI routes and iptables rules
Documentation=file:/etc/fabric-lab/bridge-cni.conf
Wants=network-online.target
After=network-online.target
Before=kubelet.service
ConditionPathExists=/etc/fabric-lab/bridge-cni.conf

[Service]
Type=oneshot
RemainAfterExit=yes
ExecStart=/usr/local/sbin/fabric-lab-bridge-cni apply

[Install]
WantedBy=multi-user.target
UNIT
  mv -f "/etc/systemd/system/$UNIT_NAME.tmp" "/etc/systemd/system/$UNIT_NAME"
}

install_all() {
  local name=$1 plugin
  [[ $name =~ ^[a-z0-9-]+$ ]] || die "--name: bad node name '$name'"
  local cni=$UPLOAD/kubernetes/cni
  for f in "$UPLOAD/device/bridge-cni.conf" "$cni/$name/10-bridge.conf" "$cni/99-loopback.conf"; do
    [[ -r $f ]] || die "$f is missing (the upload provisioners put it there)"
  done
  for plugin in bridge host-local loopback; do
    [[ -x /opt/cni/bin/$plugin ]] || die "/opt/cni/bin/$plugin is missing (node-common.sh installs kubernetes-cni)"
  done
  load_conf "$UPLOAD/device/bridge-cni.conf"
  install -D -m 0644 "$UPLOAD/device/bridge-cni.conf" "$CONF"
  install -D -m 0644 "$cni/$name/10-bridge.conf" /etc/cni/net.d/10-bridge.conf
  install -D -m 0644 "$cni/99-loopback.conf" /etc/cni/net.d/99-loopback.conf
  install -m 0755 "${BASH_SOURCE[0]}" "$SELF"
  write_unit
  systemctl daemon-reload
  systemctl enable --quiet "$UNIT_NAME"
  apply
}

case ${1:-} in
  --name) install_all "${2:?--name needs a value}" ;;
  apply) load_conf "$CONF"; apply ;;
  *) die "usage: bridge-cni.sh --name NAME | fabric-lab-bridge-cni apply" ;;
esac
