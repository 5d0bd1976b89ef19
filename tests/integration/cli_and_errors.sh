# Exit codes and messages of the three programs, libvirt's test driver, and
# a probe that cannot reach libvirt.
source "$(dirname "$0")/../lib.sh"

exit_code() { "$@" > "$WORK/out" 2> "$WORK/err"; echo $?; }

for prog in vigil-probe vigil-collector vigilctl; do
	check "$prog --help exits 0" [ "$(exit_code "$BIN/$prog" --help)" = 0 ]
	check "$prog rejects an unknown option with exit 2" [ "$(exit_code "$BIN/$prog" --frobnicate)" = 2 ]
	check "$prog explains the unknown option" grep -q "frobnicate" "$WORK/err"
done
check "vigil-probe --pid with a bad form exits 2" [ "$(exit_code "$BIN/vigil-probe" --pid nonsense)" = 2 ]
check "vigil-probe --pid of a missing process exits 2" [ "$(exit_code "$BIN/vigil-probe" --pid ghost=4194000 --stdout --once)" = 2 ]
check "vigilctl without a collector exits 1" [ "$(exit_code "$BIN/vigilctl" --collector tcp://127.0.0.1:1 status)" = 1 ]
check "vigilctl says the collector is unreachable" grep -q "cannot reach the collector" "$WORK/err"
check "vigilctl on a missing database exits 1" [ "$(exit_code "$BIN/vigilctl" --db "$WORK/none.db" status)" = 1 ]
check "vigil-collector on an unwritable database exits 1" \
	[ "$(exit_code "$BIN/vigil-collector" --config /dev/null --db /proc/vigil/x.db --listen "ipc://$WORK/x.sock")" = 1 ]

printf 'storage = {\n  retention = { raw = "1h"; };\n};\n' > "$WORK/bad-storage.conf"
check "vigil-collector with a bad storage setting exits 2" [ "$(exit_code "$BIN/vigil-collector" \
	--config "$WORK/bad-storage.conf" --db "$WORK/x.db" --listen "ipc://$WORK/x.sock")" = 2 ]
check "and names the file, the line and the rule" grep -q "bad-storage.conf: line 2: storage: retention must" "$WORK/err"
check "vigilctl history without a VM exits 2" [ "$(exit_code "$BIN/vigilctl" history)" = 2 ]
check "vigilctl history with a bad --step exits 2" [ "$(exit_code "$BIN/vigilctl" history vm1 --step soon)" = 2 ]

# libvirt's built-in test driver: one running domain with no real process.
check "probe --once --stdout against test:///default exits 0" \
	[ "$(exit_code "$BIN/vigil-probe" --libvirt test:///default --once --stdout --interval 0.5)" = 0 ]
check "the test driver's domain is listed" grep -Eq '^test +no-process' "$WORK/out"

# libvirt unreachable: said once, --pid targets still monitored.
"$TBIN/burn" --duty 20 --seconds 30 > /dev/null &
T=$!; started $T
"$BIN/vigil-probe" --libvirt 'qemu+unix:///system?socket=/nonexistent/libvirt-sock' --pid lone=$T \
	--stdout --interval 0.5 > "$WORK/out" 2> "$WORK/err" &
P=$!; started $P
sleep 3
kill $P; wait $P 2>/dev/null
check "unreachable libvirt is reported" grep -q "not reachable" "$WORK/err"
check "unreachable libvirt is reported only once" [ "$(grep -c "not reachable" "$WORK/err")" = 1 ]
check "--pid target is still sampled without libvirt" grep -Eq '^lone +running .*cpu.used_pct' "$WORK/out"
