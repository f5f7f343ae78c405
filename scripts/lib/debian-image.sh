# shellcheck shell=bash
# Shared pieces of the scripts that build bootable Debian images for qemu's direct
# kernel boot (scripts/build-box.sh, scripts/build-ipip-guest.sh). Source it; every
# function dies (via the caller's `die`) on failure and leaves no half-written result:
# each writes NAME.partial and renames it when complete.

# debian_rootfs DEST SUITE PACKAGES(comma list) DEBS_DIR MIRROR LOG
#   debootstrap --variant=minbase into DEST.partial (the caller configures it and
#   renames it to DEST). The downloaded .debs stay in DEBS_DIR for the next build.
debian_rootfs() {
  local dest=$1 suite=$2 packages=$3 debs=$4 mirror=$5 logfile=$6
  mkdir -p "$debs"
  rm -rf "$dest.partial"
  debootstrap --variant=minbase --cache-dir="$debs" --include="$packages" \
    "$suite" "$dest.partial" "$mirror" >"$logfile" 2>&1 ||
    die "debootstrap failed, see $logfile"
}

# copy_boot_files ROOTFS OUTDIR: the newest vmlinuz and initrd.img of ROOTFS/boot,
# as OUTDIR/vmlinuz and OUTDIR/initrd.img (readable: qemu loads them directly).
copy_boot_files() {
  local root=$1 out=$2 kernel initrd
  kernel=$(find "$root/boot" -name 'vmlinuz-*' | sort -V | tail -n 1)
  initrd=$(find "$root/boot" -name 'initrd.img-*' | sort -V | tail -n 1)
  [[ -n $kernel && -n $initrd ]] || die "no kernel/initrd in $root/boot"
  cp "$kernel" "$out/vmlinuz.partial" && mv "$out/vmlinuz.partial" "$out/vmlinuz"
  cp "$initrd" "$out/initrd.img.partial" && mv "$out/initrd.img.partial" "$out/initrd.img"
  chmod 0644 "$out/vmlinuz" "$out/initrd.img"
}

# ext4_image ROOTFS SIZE_GB OUT [qcow2]: a sparse raw ext4 image (label root) holding
# ROOTFS, converted to qcow2 when asked.
ext4_image() {
  local root=$1 size=$2 out=$3 format=${4:-raw}
  rm -f "$out.raw" "$out.partial"
  truncate -s "${size}G" "$out.raw"
  mkfs.ext4 -q -F -L root -d "$root" "$out.raw"
  if [[ $format == qcow2 ]]; then
    qemu-img convert -O qcow2 "$out.raw" "$out.partial"
    rm -f "$out.raw"
  else
    mv "$out.raw" "$out.partial"
  fi
  mv "$out.partial" "$out"
}
