#!/usr/bin/env bash
# Builds the qemu guest in which `npm run test:ipip` runs the emulator on calico-ipip:
# a Debian kernel with the `ipip` module (which the lab hosts' kernels lack), the lab's
# tools and daemons, this host's Node binary, and test/ipip/guest-init.sh as PID 1.
# The checkout itself is not in the image: the test shares it read-only over 9p.
#
# Cached: prints the directory holding root.img, vmlinuz and initrd.img (last line of
# stdout). The debootstrapped rootfs is rebuilt only when the package list changes; the
# image whenever any input changes (this script, scripts/lib/debian-image.sh, the guest
# init, the Node binary): their hash is kept in the image directory's `inputs` file.
#   FABRIC_LAB_IPIP_CACHE  cache root (default /var/cache/fabric-lab/ipip-guest)
#   DEBIAN_MIRROR          apt mirror for debootstrap (default http://deb.debian.org/debian)
#   --force                rebuild everything (keeps the downloaded .debs)
set -euo pipefail

here=$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")" && pwd)
SUITE=bookworm
WORK=${FABRIC_LAB_IPIP_CACHE:-/var/cache/fabric-lab/ipip-guest}
MIRROR=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
IMAGE_GB=2
INIT=$here/../test/ipip/guest-init.sh
# What the emulator needs on calico-ipip (requiredTools in src/providers/emulator/host.ts:
# keep in step, the guest has no network to install from), the kernel,
# and Node's shared libraries (libstdc++6).
PACKAGES=linux-image-amd64,kmod,iproute2,frr,bird2,tcpdump,iputils-ping,fping,iptables,nftables,procps,python3,libstdc++6

log() { printf 'build-ipip-guest: %s\n' "$*" >&2; }
die() { log "$*"; exit 1; }
# shellcheck source=scripts/lib/debian-image.sh
source "$here/lib/debian-image.sh"

[[ $(id -u) -eq 0 ]] || die "must run as root (debootstrap, chroot, mkfs)"
for tool in debootstrap mkfs.ext4 sha256sum flock; do
  command -v "$tool" >/dev/null || die "missing $tool (apt install debootstrap e2fsprogs coreutils util-linux)"
done
NODE=$(readlink -f "$(command -v node)") || die "no node binary on this host"

mkdir -p "$WORK"
exec 9>"$WORK/.lock"
flock 9   # one build at a time; a second caller waits, then finds everything cached

if [[ ${1:-} == --force ]]; then
  log "forced rebuild"
  rm -rf "$WORK/rootfs" "$WORK/rootfs.partial" "$WORK/image"
fi

rootfs_inputs=$(printf '%s\n' "$SUITE" "$PACKAGES" | cat - "$here/lib/debian-image.sh" | sha256sum | cut -d' ' -f1)
image_inputs=$( { echo "$rootfs_inputs"; cat "${BASH_SOURCE[0]}" "$INIT"; sha256sum <"$NODE"; } | sha256sum | cut -d' ' -f1)

if [[ -f $WORK/image/inputs && $(cat "$WORK/image/inputs") == "$image_inputs" ]]; then
  log "cached: $WORK/image"
  echo "$WORK/image"
  exit 0
fi

if [[ ! -f $WORK/rootfs.inputs || $(cat "$WORK/rootfs.inputs") != "$rootfs_inputs" ]]; then
  rm -rf "$WORK/rootfs" "$WORK/rootfs.inputs"
  log "debootstrap $SUITE ($PACKAGES) - a few minutes"
  debian_rootfs "$WORK/rootfs" "$SUITE" "$PACKAGES" "$WORK/debs" "$MIRROR" "$WORK/debootstrap.log"
  # No daemons at install time, no docs: a smaller image is a faster mkfs.
  rm -rf "$WORK/rootfs.partial/usr/share/doc" "$WORK/rootfs.partial/usr/share/man" \
    "$WORK/rootfs.partial/usr/share/locale" "$WORK/rootfs.partial/var/lib/apt/lists"/*
  mv "$WORK/rootfs.partial" "$WORK/rootfs"
  echo "$rootfs_inputs" >"$WORK/rootfs.inputs"
fi

log "installing node ($NODE) and the guest init"
install -m 0755 "$NODE" "$WORK/rootfs/usr/local/bin/node"
install -m 0755 "$INIT" "$WORK/rootfs/sbin/fabric-init"
echo ipip-guest >"$WORK/rootfs/etc/hostname"

log "making the ${IMAGE_GB}G image"
rm -rf "$WORK/image.partial" "$WORK/image"
mkdir -p "$WORK/image.partial"
copy_boot_files "$WORK/rootfs" "$WORK/image.partial"
ext4_image "$WORK/rootfs" "$IMAGE_GB" "$WORK/image.partial/root.img"
echo "$image_inputs" >"$WORK/image.partial/inputs"
mv "$WORK/image.partial" "$WORK/image"
log "ready: $WORK/image"
echo "$WORK/image"
