#!/usr/bin/env bash
# Builds the tiny test guest into OUTDIR: Debian's own kernel (taken from the
# linux-image-amd64 package without installing it) and a busybox initramfs
# whose /init loads the virtio modules and runs the workload named on the
# kernel command line (see scripts/vm/init). Skips what is already built.
#
#   build-guest.sh OUTDIR BURN_STATIC RAWSEND_STATIC
#
# BURN_STATIC and RAWSEND_STATIC are statically linked builds of
# tests/helpers/burn.c and tests/helpers/rawsend.c.
set -euo pipefail

USAGE="usage: build-guest.sh OUTDIR BURN_STATIC RAWSEND_STATIC"
OUT=${1:?$USAGE}
BURN=${2:?$USAGE}
RAWSEND=${3:?$USAGE}
HERE=$(cd "$(dirname "$0")" && pwd)

# Loaded in this order: each needs the ones before it.
MODULES=(virtio_ring virtio virtio_pci_legacy_dev virtio_pci_modern_dev virtio_pci
	 virtio_blk virtio_balloon failover net_failover virtio_net)

mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
if [ -s "$OUT/vmlinuz" ] && [ -s "$OUT/initrd.img" ] && [ "$OUT/initrd.img" -nt "$HERE/init" ] &&
   [ "$OUT/initrd.img" -nt "$BURN" ] && [ "$OUT/initrd.img" -nt "$RAWSEND" ]; then
	exit 0
fi

STAGE=$(mktemp -d /tmp/vigil-guest.XXXXXX)
trap 'rm -rf "$STAGE"' EXIT

# The metapackage names the current kernel package.
pkg=$(apt-cache depends linux-image-amd64 | awk '/Depends: linux-image-[0-9]/ { print $2; exit }')
if [ -z "$pkg" ]; then
	echo "build-guest: cannot find the kernel package behind linux-image-amd64 (apt-get update?)" >&2
	exit 1
fi
echo "build-guest: kernel from $pkg"
(cd "$STAGE" && apt-get download -q "$pkg" >/dev/null 2>&1) || {
	echo "build-guest: 'apt-get download $pkg' failed" >&2
	exit 1
}
dpkg-deb -x "$STAGE"/"$pkg"_*.deb "$STAGE/kernel"
cp "$STAGE"/kernel/boot/vmlinuz-* "$OUT/vmlinuz"

root=$STAGE/initramfs
mkdir -p "$root"/{bin,dev,proc,sys,modules}
cp /bin/busybox "$root/bin/busybox"
cp "$BURN" "$root/bin/burn"
cp "$RAWSEND" "$root/bin/rawsend"
cp "$HERE/init" "$root/init"
chmod 755 "$root/init" "$root/bin/burn" "$root/bin/rawsend"
for m in "${MODULES[@]}"; do
	ko=$(find "$STAGE/kernel/lib/modules" -name "$m.ko*" | head -n 1)
	if [ -z "$ko" ]; then
		echo "build-guest: module $m not found in $pkg" >&2
		exit 1
	fi
	case $ko in
	*.xz) xz -dc "$ko" > "$root/modules/$m.ko" ;;
	*.zst) zstd -qdc "$ko" > "$root/modules/$m.ko" ;;
	*) cp "$ko" "$root/modules/$m.ko" ;;
	esac
done
printf '%s\n' "${MODULES[@]}" > "$root/modules/order"
(cd "$root" && find . | cpio -o -H newc --quiet | gzip -1) > "$OUT/initrd.img.tmp"
mv "$OUT/initrd.img.tmp" "$OUT/initrd.img"
echo "build-guest: $OUT/vmlinuz and $OUT/initrd.img"
