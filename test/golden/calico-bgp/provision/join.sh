#!/usr/bin/env bash
# fabric-lab calico-bgp: joins this node to the cluster with its own JoinConfiguration
# (kubernetes/join-NAME.yaml): workers, and further control-plane nodes (their join
# configuration carries the controlPlane section). Waits for the API server of the first
# control-plane node, which comes up at the same time (control-plane.sh). Idempotent: a
# node that has joined (/etc/kubernetes/kubelet.conf) is left alone.
#
#   join.sh --name NAME --api-server ADDRESS:PORT
set -euo pipefail

readonly UPLOAD=/var/lib/fabric-lab/upload
# Software-emulated VMs are slow; override with FABRIC_LAB_WAIT_SECONDS.
readonly WAIT_SECONDS=${FABRIC_LAB_WAIT_SECONDS:-2700}

log() { printf 'join: %s\n' "$*" >&2; }
die() { log "$*"; exit 1; }

name=
api=
while (($#)); do
  case $1 in
    --name) name=${2:?--name needs a value}; shift 2 ;;
    --api-server) api=${2:?--api-server needs a value}; shift 2 ;;
    *) die "unknown argument: $1" ;;
  esac
done
[[ $name =~ ^[a-z0-9-]+$ ]] || die "--name: bad node name '$name'"
[[ $api =~ ^([0-9]{1,3}\.){3}[0-9]{1,3}:[0-9]{1,5}$ ]] || die "--api-server: expected ADDRESS:PORT, not '$api'"
config=$UPLOAD/kubernetes/join-$name.yaml
[[ -r $config ]] || die "$config is missing (the upload-kubernetes provisioner puts it there)"

if [[ -f /etc/kubernetes/kubelet.conf ]]; then
  log "$name has joined already"
  exit 0
fi

deadline=$((SECONDS + WAIT_SECONDS))
# /readyz is open to anonymous clients; -k: the CA is not known before joining.
until curl -ksf --max-time 5 "https://$api/readyz" >/dev/null; do
  ((SECONDS < deadline)) || die "no API server at $api after ${WAIT_SECONDS}s; once it is up, run: vagrant provision $name"
  sleep 5
done
log "joining $name via $api"
kubeadm join --config "$config"
