#!/usr/bin/env bash
# Builds the Vagrant box local/frr-bookworm (libvirt, qcow2) from Debian packages.
#
# No box can be downloaded on the lab hosts and KVM may be missing, so the box boots
# with an external kernel under qemu: the rootfs' kernel and initrd are copied out next
# to the box (see the lab's `libvirt.kernel` / `libvirt.initrd` settings).
#
# Idempotent and cached: every stage leaves its result in the cache directory and is
# skipped when that result exists; the box is added to Vagrant only when missing.
#   FABRIC_LAB_BOX_CACHE  cache root (default /var/cache/fabric-lab/boxes)
#   DEBIAN_MIRROR         apt mirror for debootstrap (default http://deb.debian.org/debian)
#   --force               rebuild everything (keeps the downloaded .debs)
set -euo pipefail

BOX_NAME=local/frr-bookworm
SUITE=bookworm
CACHE_ROOT=${FABRIC_LAB_BOX_CACHE:-/var/cache/fabric-lab/boxes}
WORK=$CACHE_ROOT/frr-bookworm
MIRROR=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
IMAGE_GB=3
VAGRANT_PUB=/usr/share/rubygems-integration/all/gems/vagrant-2.3.4/keys/vagrant.pub
# ifupdown2 rather than ifupdown: the rendered switch `interfaces` files are ifupdown2
# (Cumulus) syntax.
PACKAGES=openssh-server,sudo,frr,linux-image-amd64,systemd-sysv,init,udev,kmod,ifupdown2,iproute2,isc-dhcp-client,iputils-ping,tcpdump,ca-certificates

log() { printf 'build-box: %s\n' "$*" >&2; }
die() { log "$*"; exit 1; }
# shellcheck source=scripts/lib/debian-image.sh
source "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/lib/debian-image.sh"

[[ $(id -u) -eq 0 ]] || die "must run as root (debootstrap, chroot, mkfs)"
for tool in debootstrap mkfs.ext4 qemu-img vagrant tar flock; do
  command -v "$tool" >/dev/null || die "missing $tool (apt install debootstrap e2fsprogs qemu-utils vagrant)"
done
if [[ ! -r $VAGRANT_PUB ]]; then
  VAGRANT_PUB=$(find / -path '*/vagrant-*/keys/vagrant.pub' -print -quit 2>/dev/null || true)
  [[ -n $VAGRANT_PUB ]] || die "Vagrant's insecure public key (keys/vagrant.pub) not found"
fi

mkdir -p "$WORK/debs"
exec 9>"$WORK/.lock"
flock 9   # one build at a time; a second caller waits, then finds everything cached

if [[ ${1:-} == --force ]]; then
  log "forced rebuild"
  rm -rf "$WORK/rootfs" "$WORK/rootfs.partial" "$WORK/box.img" "$WORK/vmlinuz" \
    "$WORK/initrd.img" "$WORK/frr-bookworm.box"
  vagrant box remove --force --all "$BOX_NAME" >/dev/null 2>&1 || true
fi

box_is_added() { vagrant box list --machine-readable | grep -q ",box-name,$BOX_NAME\$"; }

if [[ -f $WORK/frr-bookworm.box && -f $WORK/vmlinuz && -f $WORK/initrd.img ]] && box_is_added; then
  log "cached: $BOX_NAME ($WORK)"
  exit 0
fi

configure_rootfs() {
  local root=$1
  chroot "$root" /bin/sh -eu <<'CHROOT'
id vagrant >/dev/null 2>&1 || useradd --create-home --shell /bin/bash vagrant
echo 'vagrant:vagrant' | chpasswd
printf 'vagrant ALL=(ALL) NOPASSWD:ALL\nDefaults:vagrant !requiretty\n' >/etc/sudoers.d/vagrant
chmod 0440 /etc/sudoers.d/vagrant
install -d -m 0700 -o vagrant -g vagrant /home/vagrant/.ssh
echo '/dev/vda / ext4 defaults 0 1' >/etc/fstab
echo 'frr-bookworm' >/etc/hostname
printf '127.0.0.1 localhost\n127.0.1.1 frr-bookworm\n' >/etc/hosts
mkdir -p /etc/network
printf 'auto lo\niface lo inet loopback\n\nauto eth0\niface eth0 inet dhcp\n' >/etc/network/interfaces
# Faster SSH logins: no reverse DNS lookups (the VMs have no DNS anyway).
printf 'UseDNS no\nGSSAPIAuthentication no\n' >/etc/ssh/sshd_config.d/fabric-lab.conf
systemctl enable ssh networking
# Every VM must generate its own machine-id at first boot.
: >/etc/machine-id
rm -f /var/lib/dbus/machine-id
apt-get clean
rm -rf /var/lib/apt/lists/* /var/log/*.log
CHROOT
  install -m 0600 "$VAGRANT_PUB" "$root/home/vagrant/.ssh/authorized_keys"
  chown "$(stat -c %u:%g "$root/home/vagrant")" "$root/home/vagrant/.ssh/authorized_keys"
}

if [[ ! -d $WORK/rootfs ]]; then
  log "debootstrap $SUITE ($PACKAGES) - a few minutes"
  debian_rootfs "$WORK/rootfs" "$SUITE" "$PACKAGES" "$WORK/debs" "$MIRROR" "$WORK/debootstrap.log"
  configure_rootfs "$WORK/rootfs.partial"
  mv "$WORK/rootfs.partial" "$WORK/rootfs"
fi

if [[ ! -f $WORK/vmlinuz || ! -f $WORK/initrd.img ]]; then
  copy_boot_files "$WORK/rootfs" "$WORK"
fi

if [[ ! -f $WORK/box.img ]]; then
  log "making the ${IMAGE_GB}G qcow2 image"
  ext4_image "$WORK/rootfs" "$IMAGE_GB" "$WORK/box.img" qcow2
fi

if [[ ! -f $WORK/frr-bookworm.box ]]; then
  log "packing $WORK/frr-bookworm.box"
  stage=$(mktemp -d "$WORK/pack.XXXXXX")
  printf '{"provider":"libvirt","format":"qcow2","virtual_size":%d}\n' "$IMAGE_GB" >"$stage/metadata.json"
  : >"$stage/Vagrantfile"
  ln "$WORK/box.img" "$stage/box.img"
  tar -C "$stage" -cf "$WORK/frr-bookworm.box.partial" metadata.json Vagrantfile box.img
  rm -rf "$stage"
  mv "$WORK/frr-bookworm.box.partial" "$WORK/frr-bookworm.box"
fi

if ! box_is_added; then
  log "vagrant box add $BOX_NAME"
  vagrant box add --force --name "$BOX_NAME" "$WORK/frr-bookworm.box" >&2
fi

# The rootfs is only an intermediate; the image, kernel and initrd hold everything.
rm -rf "$WORK/rootfs"
log "ready: $BOX_NAME, kernel $WORK/vmlinuz, initrd $WORK/initrd.img"
