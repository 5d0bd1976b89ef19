# Disk I/O through io_uring without a VM: a helper reads and writes a file
# with io_uring, as QEMU's io='io_uring' does (READV/WRITEV, and READ/WRITE
# and the registered-buffer forms too), and the probe, told with --disk that
# the file is disk vda of its --pid target, stores exactly the bytes and
# operations the kernel reported to the helper, with latency percentiles.
# A request that fails, a file not named with --disk, and the helper's own
# pwrite() calls (the system call path, counted on the same disk) show what
# is and is not counted.
source "$(dirname "$0")/../lib.sh"

DB=$WORK/vigil.db
URL=$(free_tcp_url)
BLOCKS=96 KIB=64 PBLOCKS=8

coproc URING { "$TBIN/uring_io" --file "$WORK/disk.img" --other "$WORK/other.img" --blocks $BLOCKS \
	--block-kib $KIB --depth 8 --pwrite-blocks $PBLOCKS --seconds 60; }
read -r -t 10 UPID <&"${URING[0]}"
if [ -z "${UPID:-}" ]; then
	check "the io_uring helper starts (io_uring available to this process)" false
	exit 0
fi
started $UPID

start_collector "$DB" "$URL" || { check "collector starts" false; exit 0; }
"$BIN/vigil-probe" --no-libvirt --collector "$URL" --pid uring=$UPID --disk "vda=$WORK/disk.img" \
	>> "$WORK/probe.log" 2>&1 &
PROBE=$!; started $PROBE
wait_for '[ "$(stored "$DB" uring disk.write_ops count)" -gt 0 ] 2>/dev/null' 10
if grep -q "io_uring.*not counted" "$WORK/probe.log"; then
	skip "io_uring disk I/O" "$(grep -o "not counted: .*" "$WORK/probe.log" | head -n 1)"
	exit 0
fi

kill -USR1 $UPID
read -r -t 30 word wrote read pwrote <&"${URING[0]}"
sleep 2.5 # the last interval is shipped and committed

# Each row holds a per-interval count for every (1 s) interval it spans.
total() { stored "$DB" uring "$1" --tags "${2:-dev=vda}" total; }
latest() { stored "$DB" uring "$1" --tags dev=vda latest; }
block=$((KIB * 1024))
echo "  helper: io_uring wrote ${wrote:-?} and read ${read:-?} bytes, pwrite() wrote ${pwrote:-?}"
echo "  stored: written $(total disk.write_bytes) bytes in $(total disk.write_ops) operations," \
	"read $(total disk.read_bytes) in $(total disk.read_ops); p50/p99 write" \
	"$(latest disk.write_lat_p50_us)/$(latest disk.write_lat_p99_us) us"
check "the helper finished its I/O" [ "${word:-}" = done ]
check "the helper wrote $BLOCKS blocks through io_uring" [ "${wrote:-0}" = $((BLOCKS * block)) ]
check "bytes read through io_uring are stored exactly" [ "$(total disk.read_bytes)" = "${read:-x}" ]
check "read operations: one per io_uring read" [ "$(total disk.read_ops)" = $BLOCKS ]
# The failed write (-EFAULT) adds neither bytes nor an operation; the
# writes to the file not named with --disk add nothing.
check "bytes written (io_uring + pwrite) are stored exactly" \
	[ "$(total disk.write_bytes)" = $(( ${wrote:-0} + ${pwrote:-0} )) ]
check "write operations: one per successful io_uring write and per pwrite" \
	[ "$(total disk.write_ops)" = $((BLOCKS + PBLOCKS)) ]
lat_rows() { stored "$DB" uring "$1" --tags dev=vda --value-gt 0 count; }
for op in read write; do
	for p in p50 p99; do
		check "$op latency $p stored" [ "$(lat_rows disk.${op}_lat_${p}_us)" -gt 0 ]
	done
done
check "only disk vda is reported" \
	[ "$(stored "$DB" uring '' --metric-prefix disk. --tags-not dev=vda count)" = 0 ]
check "probe kept running" kill -0 $PROBE
check "probe logged no error" bash -c "! grep -q '\[error\]' '$WORK/probe.log'"
