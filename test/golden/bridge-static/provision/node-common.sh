#!/usr/bin/env bash
# fabric-lab bridge-static: what every Kubernetes node needs, fetched while the management NIC still
# has its default route. node-network.sh runs next and takes that route away: from then on
# the node routes through the fabric, which has no way out. So this script also pulls every
# image the cluster will run (kubeadm's, Calico's, the workloads'), and the pods never pull.
#
#   swap off, kernel modules (overlay, br_netfilter), sysctls for Kubernetes;
#   containerd (systemd cgroups, kubeadm's pause image);
#   kubelet, kubeadm, kubectl of the lab's version from pkgs.k8s.io (held), CNI plugins, crictl;
#   Calico's manifest (and calicoctl on control-plane nodes) into /var/lib/fabric-lab/cache.
#
# Idempotent: nothing already present is fetched again, so a re-run works offline.
#
#   node-common.sh --role control-plane|worker --kubernetes 1.30.0 [--calico 3.28.2]
set -euo pipefail

readonly UPLOAD=/var/lib/fabric-lab/upload
readonly CACHE=/var/lib/fabric-lab/cache
readonly KEYRING=/etc/apt/keyrings/kubernetes-apt-keyring.asc
readonly CONTAINERD_SOCKET=unix:///run/containerd/containerd.sock
export DEBIAN_FRONTEND=noninteractive

log() { printf 'node-common: %s\n' "$*" >&2; }
die() { log "$*"; exit 1; }

role=
kube=
calico=
while (($#)); do
  case $1 in
    --role) role=${2:?--role needs a value}; shift 2 ;;
    --kubernetes) kube=${2:?--kubernetes needs a value}; shift 2 ;;
    --calico) calico=${2:?--calico needs a value}; shift 2 ;;
    *) die "unknown argument: $1" ;;
  esac
done
[[ $role == control-plane || $role == worker ]] || die "--role must be control-plane or worker, not '$role'"
[[ $kube =~ ^1\.[0-9]+\.[0-9]+$ ]] || die "--kubernetes must be a version like 1.30.0, not '$kube'"
[[ -z $calico || $calico =~ ^[0-9]+\.[0-9]+\.[0-9]+$ ]] || die "--calico must be a version like 3.28.2, not '$calico'"
readonly minor=${kube%.*}

# write_if_changed DEST MODE < content: status 0 when DEST was (re)written.
write_if_changed() {
  local dest=$1 mode=$2 tmp
  tmp=$(mktemp)
  cat >"$tmp"
  if [[ -e $dest ]] && cmp -s "$tmp" "$dest"; then
    rm -f "$tmp"
    return 1
  fi
  install -D -m "$mode" "$tmp" "$dest" || die "cannot write $dest"
  rm -f "$tmp"
  log "wrote $dest"
}

fetch() {
  local url=$1 dest=$2
  [[ -s $dest ]] && return 0
  log "downloading $url"
  install -d -m 0755 "${dest%/*}"
  curl -fsSL --retry 3 -o "$dest.part" "$url" || die "cannot download $url (no internet on the management network?)"
  mv -f "$dest.part" "$dest"
}

package_status() {
  # shellcheck disable=SC2016 # dpkg-query's own ${...} fields
  dpkg-query -W -f='${db:Status-Status} ${Version}' "$1" 2>/dev/null || true
}

# ---- kernel: no swap (kubelet refuses it), modules and sysctls for bridged/routed pods ----
swapoff -a
sed -i -E '/^[^#].*[[:space:]]swap[[:space:]]/ s/^/#/' /etc/fstab
printf '# fabric-lab: containerd and pod networking\noverlay\nbr_netfilter\n' |
  write_if_changed /etc/modules-load.d/fabric-lab.conf 0644 || true
modprobe overlay
modprobe br_netfilter
printf '%s\n' '# fabric-lab: a Kubernetes node routes pod traffic' \
  'net.ipv4.ip_forward = 1' 'net.bridge.bridge-nf-call-iptables = 1' 'net.bridge.bridge-nf-call-ip6tables = 1' |
  write_if_changed /etc/sysctl.d/90-fabric-lab-k8s.conf 0644 || true
sysctl -q -p /etc/sysctl.d/90-fabric-lab-k8s.conf

# ---- packages ----
need_packages=no
for p in kubelet kubeadm kubectl; do
  [[ $(package_status "$p") == "installed $kube-"* ]] || need_packages=yes
done
for p in containerd kubernetes-cni cri-tools curl ca-certificates iptables conntrack socat ethtool; do
  [[ $(package_status "$p") == installed* ]] || need_packages=yes
done
if [[ $need_packages == yes ]]; then
  log "installing containerd and Kubernetes $kube"
  apt-get update -q
  apt-get install -y -q --no-install-recommends ca-certificates curl containerd iptables conntrack socat ethtool
  install -d -m 0755 /etc/apt/keyrings
  fetch "https://pkgs.k8s.io/core:/stable:/v$minor/deb/Release.key" "$KEYRING"
  printf 'deb [signed-by=%s] https://pkgs.k8s.io/core:/stable:/v%s/deb/ /\n' "$KEYRING" "$minor" |
    write_if_changed /etc/apt/sources.list.d/kubernetes.list 0644 || true
  apt-get update -q
  apt-get install -y -q --no-install-recommends --allow-downgrades --allow-change-held-packages \
    "kubelet=$kube-*" "kubeadm=$kube-*" "kubectl=$kube-*" kubernetes-cni cri-tools
  apt-mark hold kubelet kubeadm kubectl >/dev/null
fi

# ---- containerd: systemd cgroups (as kubelet), and the pause image kubeadm expects ----
pause=$(kubeadm config images list --kubernetes-version "v$kube" | grep '/pause:') ||
  die "kubeadm lists no pause image for v$kube"
containerd_config=$(containerd config default |
  sed -E -e 's/(SystemdCgroup = )false/\1true/' -e "s#(sandbox_image = ).*#\\1\"$pause\"#")
if printf '%s\n' "$containerd_config" | write_if_changed /etc/containerd/config.toml 0644; then
  systemctl restart containerd
fi
systemctl enable --now --quiet containerd
printf 'runtime-endpoint: %s\nimage-endpoint: %s\ntimeout: 30\n' "$CONTAINERD_SOCKET" "$CONTAINERD_SOCKET" |
  write_if_changed /etc/crictl.yaml 0644 || true
systemctl enable --quiet kubelet

# ---- Calico: manifest (all nodes pull its images), calicoctl (control plane applies calico/) ----
if [[ -n $calico ]]; then
  fetch "https://raw.githubusercontent.com/projectcalico/calico/v$calico/manifests/calico.yaml" "$CACHE/calico-v$calico.yaml"
  if [[ $role == control-plane ]]; then
    arch=$(dpkg --print-architecture)
    fetch "https://github.com/projectcalico/calico/releases/download/v$calico/calicoctl-linux-$arch" "$CACHE/calicoctl-v$calico"
    install -m 0755 "$CACHE/calicoctl-v$calico" /usr/local/bin/calicoctl
  fi
fi

# ---- images, pulled now: after node-network.sh there is no way to the registries ----
images_in() {
  sed -nE 's/^[[:space:]]*(-[[:space:]]+)?image:[[:space:]]*"?([^"[:space:]]+)"?[[:space:]]*$/\2/p' "$1"
}
mapfile -t wanted < <(
  kubeadm config images list --kubernetes-version "v$kube" |
    if [[ $role == control-plane ]]; then cat; else grep -E '/(pause|kube-proxy|coredns/coredns):'; fi
  if [[ -n $calico ]]; then images_in "$CACHE/calico-v$calico.yaml"; fi
  if [[ -r $UPLOAD/kubernetes/workloads.yaml ]]; then images_in "$UPLOAD/kubernetes/workloads.yaml"; fi
)
mapfile -t wanted < <(printf '%s\n' "${wanted[@]}" | sort -u)
for image in "${wanted[@]}"; do
  [[ $image =~ ^[A-Za-z0-9][A-Za-z0-9._/:@-]*$ ]] || die "unexpected image reference '$image'"
  if ! crictl inspecti "$image" >/dev/null 2>&1; then
    log "pulling $image"
    crictl pull "$image" >/dev/null || die "cannot pull $image"
  fi
done
log "ready: containerd, Kubernetes $kube, ${#wanted[@]} images"
