# The build's own promises: the layering rule holds and catches a back edge
# or a cycle, the platform's flags reach the compiler, the binaries are
# hardened, and make install lays the files out as FHS wants.
source "$(dirname "$0")/../lib.sh"

# A copy of the sources to plant violations in (no build tree).
tree_copy() {
	mkdir -p "$WORK/tree"
	(cd "$ROOT" && tar --exclude=./build --exclude=./.git -cf - .) | tar -C "$WORK/tree" -xf -
}
layers_in_copy_fail() { ! bash "$WORK/tree/scripts/check-layers.sh" > "$WORK/layers.out" 2>&1; }
layers_in_copy_pass() { bash "$WORK/tree/scripts/check-layers.sh" > "$WORK/layers.out" 2>&1; }

check "make check-layers passes on the tree" make -s -C "$ROOT" check-layers
tree_copy
check "the copy passes too" layers_in_copy_pass
# The store including a server header points up two layers.
echo '#include "server.h"' >> "$WORK/tree/collector/store/codec.h"
check "an include pointing up a layer fails check-layers" layers_in_copy_fail
check "and the failure names the file and the layers" \
	grep -q 'collector/store/codec.h:[0-9]*: includes "server.h" of layer server, which layer store' "$WORK/layers.out"
sed -i '$d' "$WORK/tree/collector/store/codec.h"
# valblock.c already includes codec.h; codec.c including valblock.h closes a loop.
echo '#include "valblock.h"' >> "$WORK/tree/collector/store/codec.c"
check "an include cycle between files fails check-layers" layers_in_copy_fail
check "and the failure names the cycle" grep -q 'include cycle between files: .*collector/store/codec' "$WORK/layers.out"
sed -i '$d' "$WORK/tree/collector/store/codec.c"
check "the copy passes again once the plants are gone" layers_in_copy_pass

# CPPFLAGS, CFLAGS and LDFLAGS from the command line are added, not lost.
flags_reach_compiler() {
	make -s -n -B -C "$ROOT" V=1 CPPFLAGS=-DVIGIL_FLAG_CPP CFLAGS='-O1 -DVIGIL_FLAG_C' LDFLAGS=-Wl,--vigil-flag-ld \
		build/bin/vigilctl > "$WORK/make-n.out" 2>&1 &&
		grep -q -- '-DVIGIL_FLAG_CPP.*-DVIGIL_FLAG_C' "$WORK/make-n.out" &&
		grep -q -- '-Wl,--vigil-flag-ld' "$WORK/make-n.out"
}
check "CPPFLAGS, CFLAGS and LDFLAGS reach the compiler and linker" flags_reach_compiler
hardened() { # BINARY: fortify, stack protector, full RELRO
	readelf -d "$1" | grep -q 'BIND_NOW' && readelf -lW "$1" | grep -q 'GNU_RELRO' &&
		nm -D "$1" | grep -q '__stack_chk_fail' && nm -D "$1" | grep -q '_chk@'
}
for prog in vigil-probe vigil-collector vigilctl; do
	check "$prog is built with relro/now, the stack protector and _FORTIFY_SOURCE" hardened "$BIN/$prog"
done

make -s -C "$ROOT" install DESTDIR="$WORK/root" PREFIX=/usr > "$WORK/install.out" 2>&1
installed() {
	local f
	for f in usr/sbin/vigil-probe usr/sbin/vigil-collector usr/bin/vigilctl etc/vigil/collector.conf \
		usr/share/doc/vigil/examples/collector.conf usr/share/vigil/schema/vigil.proto \
		usr/share/vigil/schema/metrics.tsv usr/share/vigil/schema/sla/default.net \
		usr/share/doc/vigil/README.md usr/share/doc/vigil/architecture.md; do
		[ -e "$WORK/root/$f" ] || { echo "  missing: $f"; return 1; }
	done
}
check "make install DESTDIR PREFIX=/usr puts every file in its FHS place" installed
quietly() { "$@" > "$WORK/quiet.out" 2>&1; }
check "the installed vigilctl runs" quietly "$WORK/root/usr/bin/vigilctl" metrics
echo '# edited by the operator' >> "$WORK/root/etc/vigil/collector.conf"
make -s -C "$ROOT" install DESTDIR="$WORK/root" PREFIX=/usr > "$WORK/install.out" 2>&1
check "a second make install keeps the operator's config" grep -q 'edited by the operator' "$WORK/root/etc/vigil/collector.conf"

# The benchmarks link the layers' libraries too; a library left out of a
# link line shows only here.
check "every benchmark builds" quietly make -s -C "$ROOT" build/bench/sched_cost build/bench/tc_cost \
	build/bench/uring_cost build/bench/sla_eval build/bench/store_bench build/bench/store_load
