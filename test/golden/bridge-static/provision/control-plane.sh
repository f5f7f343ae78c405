#!/usr/bin/env bash
# fabric-lab bridge-static: the first control-plane node. Idempotent: what exists is kept.
#  1. kubeadm init --config kubernetes/kubeadm-config.yaml (unless the cluster exists);
#  2. kubeconfig for root and the vagrant user;
#  3. Calico labs: Calico from the project's manifest, adjusted by provision/calico-install
#     (kustomize, built into kubectl): no default IP pool, backend bird or vxlan, node
#     address = the node's InternalIP. Then the lab's calico/*.yaml with calicoctl.
#     projectcalico.org/v3 objects need the Calico API server or calicoctl; calicoctl is
#     one binary, validates them as the API server would and writes the Kubernetes
#     datastore directly, so nothing more has to run in the cluster;
#  4. waits for every node to register (the others join at the same time, join.sh),
#     labels them (rack=LEAF; kubelet sets it too) and, in BGP mode, gives each its AS and
#     address (calico/nodes.yaml as a patch: a Calico Node exists once its node joined);
#  5. once every node is Ready, kubectl apply -f kubernetes/workloads.yaml (so pods spread).
#
#   control-plane.sh --name NAME [--upload-certs] [--calico VERSION] --node NODE...
#                    [--label NODE:KEY=VALUE]... [--calico-bgp NODE,ADDRESS/LEN,ASN]...
set -euo pipefail

readonly UPLOAD=/var/lib/fabric-lab/upload
readonly CACHE=/var/lib/fabric-lab/cache
readonly INSTALL=/var/lib/fabric-lab/calico-install
# Software-emulated VMs join slowly; override with FABRIC_LAB_WAIT_SECONDS.
readonly WAIT_SECONDS=${FABRIC_LAB_WAIT_SECONDS:-2700}
export KUBECONFIG=/etc/kubernetes/admin.conf
export DATASTORE_TYPE=kubernetes

log() { printf 'control-plane: %s\n' "$*" >&2; }
die() { log "$*"; exit 1; }

name=
upload_certs=no
calico=
nodes=()
labels=()
calico_bgp=()
while (($#)); do
  case $1 in
    --name) name=${2:?--name needs a value}; shift 2 ;;
    --upload-certs) upload_certs=yes; shift ;;
    --calico) calico=${2:?--calico needs a value}; shift 2 ;;
    --node) nodes+=("${2:?--node needs a value}"); shift 2 ;;
    --label) labels+=("${2:?--label needs a value}"); shift 2 ;;
    --calico-bgp) calico_bgp+=("${2:?--calico-bgp needs a value}"); shift 2 ;;
    *) die "unknown argument: $1" ;;
  esac
done
[[ $name =~ ^[a-z0-9-]+$ ]] || die "--name: bad node name '$name'"
[[ -z $calico || $calico =~ ^[0-9]+\.[0-9]+\.[0-9]+$ ]] || die "--calico must be a version like 3.28.2"
((${#nodes[@]} > 0)) || die "--node: list every node of the cluster"
for n in "${nodes[@]}"; do [[ $n =~ ^[a-z0-9-]+$ ]] || die "--node: bad node name '$n'"; done
for l in "${labels[@]}"; do [[ $l =~ ^[a-z0-9-]+:[A-Za-z0-9./_-]+=[A-Za-z0-9._-]*$ ]] || die "--label: expected NODE:KEY=VALUE, not '$l'"; done
for b in "${calico_bgp[@]}"; do
  [[ $b =~ ^[a-z0-9-]+,([0-9]{1,3}\.){3}[0-9]{1,3}/[0-9]{1,2},[0-9]+$ ]] || die "--calico-bgp: expected NODE,ADDRESS/LEN,ASN, not '$b'"
done
readonly deadline=$((SECONDS + WAIT_SECONDS))

# wait_for WHAT CMD...: retry CMD until it succeeds or the deadline passes.
wait_for() {
  local what=$1
  shift
  until "$@" >/dev/null 2>&1; do
    ((SECONDS < deadline)) || die "gave up waiting for $what after ${WAIT_SECONDS}s; once it is there, run: vagrant provision $name"
    sleep 5
  done
}

# ---- 1. the cluster ----
config=$UPLOAD/kubernetes/kubeadm-config.yaml
[[ -r $config ]] || die "$config is missing (the upload-kubernetes provisioner puts it there)"
if [[ ! -f $KUBECONFIG ]]; then
  init_args=(--config "$config")
  if [[ $upload_certs == yes ]]; then init_args+=(--upload-certs); fi
  log "kubeadm init"
  kubeadm init "${init_args[@]}"
fi
wait_for "the API server" kubectl get --raw=/readyz

# ---- 2. kubeconfig ----
install -D -m 0600 "$KUBECONFIG" /root/.kube/config
user=${SUDO_USER:-vagrant}
if home=$(getent passwd "$user" | cut -d: -f6) && [[ -n $home && $user != root ]]; then
  group=$(id -gn "$user")
  install -d -m 0700 -o "$user" -g "$group" "$home/.kube"
  install -m 0600 -o "$user" -g "$group" "$KUBECONFIG" "$home/.kube/config"
fi

# ---- 3. Calico ----
if [[ -n $calico ]]; then
  manifest=$CACHE/calico-v$calico.yaml
  [[ -r $manifest ]] || die "$manifest is missing (node-common.sh downloads it)"
  command -v calicoctl >/dev/null || die "calicoctl is missing (node-common.sh installs it on control-plane nodes)"
  install -d -m 0755 "$INSTALL"
  install -m 0644 "$manifest" "$INSTALL/calico.yaml"
  install -m 0644 "$UPLOAD"/calico-install/*.yaml "$INSTALL/"
  log "Calico $calico"
  kubectl apply --server-side --force-conflicts -k "$INSTALL" >/dev/null
  kubectl wait --for=condition=established --timeout=300s crd --all >/dev/null
  for f in "$UPLOAD"/calico/*.yaml; do
    [[ ${f##*/} == nodes.yaml ]] && continue   # per node, below
    calicoctl apply -f "$f"
  done
fi

# ---- 4. every node: registered, labelled, its Calico AS ----
for n in "${nodes[@]}"; do
  wait_for "node $n to join" kubectl get node "$n"
done
for l in "${labels[@]}"; do
  kubectl label node "${l%%:*}" "${l#*:}" --overwrite >/dev/null
done
for b in "${calico_bgp[@]}"; do
  IFS=, read -r n address asn <<<"$b"
  wait_for "Calico node $n" calicoctl get node "$n"
  calicoctl patch node "$n" --patch "{\"spec\":{\"bgp\":{\"ipv4Address\":\"$address\",\"asNumber\":$asn}}}" >/dev/null
  log "$n: AS $asn, $address"
done

# ---- 5. workloads ----
for n in "${nodes[@]}"; do
  wait_for "node $n to be Ready" kubectl wait --for=condition=Ready --timeout=60s "node/$n"
done
if [[ -r $UPLOAD/kubernetes/workloads.yaml ]]; then
  kubectl apply -f "$UPLOAD/kubernetes/workloads.yaml"
fi
kubectl get nodes -o wide >&2
