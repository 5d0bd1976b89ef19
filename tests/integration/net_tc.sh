# Network counting with tc (bpf/net_tc.bpf.c, userspace/net_tc.c) on the
# real kernel, driven through tests/helpers/netcount: exact packet and byte
# counts both ways on a veth that stands in for a VM's tap, agreement with
# the interface's own statistics, drops, coexistence with other tc filters,
# and detaching cleanly, also from an interface that has vanished.
#
# Traffic is link-layer only: rawsend frames with EtherType 0x88b5 and no IP,
# on veth pairs whose other ends are in a namespace this test creates. The
# root-side ends have no address and IPv6 is off on every end, so only the
# test's frames cross them and the counts can be exact.
source "$(dirname "$0")/../lib.sh"

NS=vigil-net-$$
HOST_A=vgha$$ PEER_A=vgpa$$     # has a clsact qdisc and filters of someone else
HOST_B=vghb$$ PEER_B=vgpb$$     # starts bare
MIRROR=vghm$$ MIRROR_PEER=vgpm$$ # where the other filters mirror to
# tc action indexes are shared by the whole namespace: unique per run.
IDX_IN=$((1000000 + $$)) IDX_OUT=$((6000000 + $$)) IDX_LATE=$((11000000 + $$))

net_cleanup() {
	cleanup # lib.sh: ends the processes this test started
	ip link del "$HOST_A" 2>/dev/null
	ip link del "$HOST_B" 2>/dev/null
	ip link del "$MIRROR" 2>/dev/null
	ip netns del "$NS" 2>/dev/null
}
trap net_cleanup EXIT
trap 'exit 1' INT TERM HUP

# make_pair HOST PEER: HOST in this namespace, PEER in $NS, both up, IPv6
# off before they come up, no address.
make_pair() {
	ip link add "$1" type veth peer name "$2" netns "$NS" || return 1
	sysctl -qw "net.ipv6.conf.$1.disable_ipv6=1" 2>/dev/null
	ip link set "$1" up && ip -n "$NS" link set "$2" up
}

stat_of() { cat "/sys/class/net/$1/statistics/$2"; }
peer_stat_of() { ip netns exec "$NS" cat "/sys/class/net/$1/statistics/$2"; }

# All six statistics of the host side, as "rx_bytes=.. ... tx_dropped=..".
host_stats() {
	local s out=""
	for s in rx_bytes rx_packets tx_bytes tx_packets rx_dropped tx_dropped; do
		out+="$s=$(stat_of "$1" "$s") "
	done
	echo "$out"
}

# field NAME LINE: the value of NAME=.. in LINE.
field() { sed -n "s/.*\<$1=\([0-9]*\).*/\1/p" <<< "$2"; }

send_from_guest() { ip netns exec "$NS" "$TBIN/rawsend" --ifname "$1" --count "$2" --size "$3" > /dev/null; }
send_to_guest() { "$TBIN/rawsend" --ifname "$1" --count "$2" --size "$3"; }

# start_netcount IF: runs netcount on IF with its output in $WORK/IF.out;
# sets NC to its PID and succeeds once it says it is ready.
start_netcount() {
	# Emptied here, not by the redirection in the child: a check right
	# after the fork could still find the previous run's lines.
	: > "$WORK/$1.out"
	"$TBIN/netcount" "$1" >> "$WORK/$1.out" 2>&1 &
	NC=$!
	started $NC
	wait_for "grep -q '^ready ' '$WORK/$1.out' || ! kill -0 $NC 2>/dev/null" 10
	grep -q '^ready ' "$WORK/$1.out" && return 0
	sed 's/^/  netcount: /' "$WORK/$1.out"
	return 1
}

# read_counters PID IF: asks netcount for a reading and prints it.
read_counters() {
	local out=$WORK/$2.out before
	before=$(grep -c -e '^rx_bytes=' -e '^read:' "$out")
	kill -USR1 "$1" || return 1
	wait_for "[ \$(grep -c -e '^rx_bytes=' -e '^read:' '$out') -gt $before ]" 5 || return 1
	grep -e '^rx_bytes=' -e '^read:' "$out" | tail -n 1
}

# settled_counters PID IF FIELD VALUE: the reading once FIELD has reached
# VALUE (frames received on the host side are counted when the backlog is
# processed, a moment after the sender returns), or the last one after 5 s.
settled_counters() {
	local line deadline=$((SECONDS + 5))
	while :; do
		line=$(read_counters "$1" "$2")
		if [ "$(field "$3" "$line")" -ge "$4" ] 2>/dev/null || [ $SECONDS -ge $deadline ]; then
			echo "$line"
			return
		fi
		sleep 0.1
	done
}

# stop_netcount PID: SIGTERM, then up to 10 s for it to detach and exit.
# Sets NC_STATUS to its exit status, or "hung".
stop_netcount() {
	local deadline=$((SECONDS + 10))
	kill -TERM "$1" 2>/dev/null
	while kill -0 "$1" 2>/dev/null && [ $SECONDS -lt $deadline ]; do
		sleep 0.1
	done
	if kill -0 "$1" 2>/dev/null; then
		NC_STATUS=hung
		kill -KILL "$1"
	else
		wait "$1"
		NC_STATUS=$?
	fi
}

# Packets of a tc action, from its statistics ("Sent B bytes P pkt").
action_packets() {
	tc -s actions get action mirred index "$1" 2>/dev/null | sed -n 's/.*Sent [0-9]* bytes \([0-9]*\) pkt.*/\1/p' | head -n 1
}

has_qdisc() { tc qdisc show dev "$1" | grep -q "^qdisc $2 "; }
# our_filters IF ingress|egress: how many of our filters sit on the hook.
our_filters() { tc filter show dev "$1" "$2" | grep -c 'name vigil_net_'; }
has_foreign_filter() { tc filter show dev "$1" "$2" | grep -q "pref $3 u32"; }

ip netns add "$NS" || { check "test network namespace created" false; exit 0; }
# Devices that appear in the namespace later inherit these.
ip netns exec "$NS" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1 2>/dev/null
if ! make_pair "$HOST_A" "$PEER_A" || ! make_pair "$HOST_B" "$PEER_B" || ! make_pair "$MIRROR" "$MIRROR_PEER"; then
	check "veth pairs created" false
	exit 0
fi

# --- A: a clsact qdisc with someone else's filters on both hooks ----------
# Their filters come after ours (priority 20 > 1) and mirror every frame to
# another veth, so their action statistics show what they saw.
tc qdisc add dev "$HOST_A" clsact
tc filter add dev "$HOST_A" ingress pref 20 u32 match u32 0 0 \
	action mirred egress mirror index "$IDX_IN" dev "$MIRROR"
tc filter add dev "$HOST_A" egress pref 20 u32 match u32 0 0 \
	action mirred egress mirror index "$IDX_OUT" dev "$MIRROR"

N_TX=1000 S_TX=200 N_RX=700 S_RX=1000
check "attaches next to an existing clsact qdisc and filters" start_netcount "$HOST_A"
A=$NC
before=$(host_stats "$HOST_A")
peer_rx0=$(peer_stat_of "$PEER_A" rx_packets)
in0=$(action_packets "$IDX_IN") out0=$(action_packets "$IDX_OUT")

send_from_guest "$PEER_A" $N_TX $S_TX
send_to_guest "$HOST_A" $N_RX $S_RX > /dev/null
c=$(settled_counters $A "$HOST_A" tx_packets $N_TX)
after=$(host_stats "$HOST_A")
echo "  $HOST_A counters: $c"
echo "  $HOST_A statistics before: $before"
echo "  $HOST_A statistics after:  $after"
delta() { echo $(( $(field "$1" "$after") - $(field "$1" "$before") )); }

check "guest tx: exactly $N_TX packets (frames arriving from the namespace)" [ "$(field tx_packets "$c")" = $N_TX ]
check "guest tx: exactly $((N_TX * S_TX)) bytes" [ "$(field tx_bytes "$c")" = $((N_TX * S_TX)) ]
check "guest rx: exactly $N_RX packets (frames sent into the namespace)" [ "$(field rx_packets "$c")" = $N_RX ]
check "guest rx: exactly $((N_RX * S_RX)) bytes" [ "$(field rx_bytes "$c")" = $((N_RX * S_RX)) ]
check "guest tx bytes and packets equal the veth's rx_bytes and rx_packets growth" \
	[ "$(field tx_bytes "$c") $(field tx_packets "$c")" = "$(delta rx_bytes) $(delta rx_packets)" ]
check "guest rx bytes and packets equal the veth's tx_bytes and tx_packets growth" \
	[ "$(field rx_bytes "$c") $(field rx_packets "$c")" = "$(delta tx_bytes) $(delta tx_packets)" ]
check "guest tx_drops equals the veth's rx_dropped growth" [ "$(field tx_drops "$c")" = "$(delta rx_dropped)" ]
check "guest rx_drops equals the veth's tx_dropped growth" [ "$(field rx_drops "$c")" = "$(delta tx_dropped)" ]
check "every frame sent towards the guest arrived in the namespace" \
	[ $(( $(peer_stat_of "$PEER_A" rx_packets) - peer_rx0 )) = $N_RX ]
check "the other ingress filter still saw all $N_TX frames" [ $(( $(action_packets "$IDX_IN") - in0 )) = $N_TX ]
check "the other egress filter still saw all $N_RX frames" [ $(( $(action_packets "$IDX_OUT") - out0 )) = $N_RX ]

kill -USR2 $A
wait_for "grep -q '^attached' '$WORK/$HOST_A.out'" 5
check "attaching again is accepted" grep -q '^attached$' "$WORK/$HOST_A.out"
check "attaching again leaves one filter per hook" [ "$(our_filters "$HOST_A" ingress) $(our_filters "$HOST_A" egress)" = "1 1" ]
check "attaching again keeps the counters" [ "$(read_counters $A "$HOST_A")" = "$c" ]

stop_netcount $A
check "detaches from the shared qdisc and exits 0" [ "$NC_STATUS" = 0 ]
check "our filters are gone from both hooks" [ "$(our_filters "$HOST_A" ingress) $(our_filters "$HOST_A" egress)" = "0 0" ]
check "the other ingress and egress filters survive our detach" \
	eval 'has_foreign_filter "$HOST_A" ingress 20 && has_foreign_filter "$HOST_A" egress 20'
check "the clsact qdisc that was there before stays" has_qdisc "$HOST_A" clsact
in1=$(action_packets "$IDX_IN")
send_from_guest "$PEER_A" 10 100
check "frames still reach the other filter after our detach" \
	wait_for "[ \$(( \$(action_packets $IDX_IN) - $in1 )) = 10 ]" 5

# --- B: an "ingress" qdisc, which excludes clsact ------------------------
tc qdisc add dev "$HOST_B" ingress
"$TBIN/netcount" "$HOST_B" > "$WORK/ingress.out" 2>&1
check "refuses an interface with an ingress qdisc (exit 1)" [ $? = 1 ]
check "and says why" grep -q '"ingress" qdisc' "$WORK/ingress.out"
check "and leaves that qdisc alone, with nothing of ours" \
	eval 'has_qdisc "$HOST_B" ingress && [ "$(our_filters "$HOST_B" ingress)" = 0 ]'
tc qdisc del dev "$HOST_B" ingress 2>/dev/null

# --- B: a bare interface: we create the qdisc, count, and drop it --------
check "attaches to an interface without a qdisc" start_netcount "$HOST_B"
B=$NC
check "creates a clsact qdisc" has_qdisc "$HOST_B" clsact
before=$(host_stats "$HOST_B")
send_from_guest "$PEER_B" 500 60
send_to_guest "$HOST_B" 300 1514 > /dev/null
c=$(settled_counters $B "$HOST_B" tx_packets 500)
echo "  $HOST_B counters: $c"
check "shortest and longest frames: exact packets and bytes both ways" \
	[ "$(field tx_packets "$c") $(field tx_bytes "$c") $(field rx_packets "$c") $(field rx_bytes "$c")" = \
	  "500 $((500 * 60)) 300 $((300 * 1514))" ]

# Frames longer than the namespace end's MTU are dropped by the veth after
# tc egress saw them: the guest never got them.
ip -n "$NS" link set "$PEER_B" mtu 1280
sent=$(send_to_guest "$HOST_B" 50 1400)
ip -n "$NS" link set "$PEER_B" mtu 1500
echo "  $sent"
c=$(read_counters $B "$HOST_B")
after=$(host_stats "$HOST_B")
echo "  $HOST_B counters: $c"
check "frames the guest could not receive: rx_drops is exactly 50" [ "$(field rx_drops "$c")" = 50 ]
check "rx_drops equals the veth's tx_dropped growth" [ "$(field rx_drops "$c")" = "$(delta tx_dropped)" ]
check "dropped frames are in rx_packets too (tc saw them first)" [ "$(field rx_packets "$c")" = 350 ]

stop_netcount $B
check "detaches from its own qdisc and exits 0" [ "$NC_STATUS" = 0 ]
check "removes the clsact qdisc it created" eval '! has_qdisc "$HOST_B" clsact'

# --- B: a qdisc we created that someone else has used meanwhile ----------
start_netcount "$HOST_B"
B=$NC
tc filter add dev "$HOST_B" egress pref 20 u32 match u32 0 0 \
	action mirred egress mirror index "$IDX_LATE" dev "$MIRROR"
stop_netcount $B
check "keeps the qdisc it created once another filter is on it" has_qdisc "$HOST_B" clsact
check "and that filter with it" has_foreign_filter "$HOST_B" egress 20
check "while our filters are gone" [ "$(our_filters "$HOST_B" ingress) $(our_filters "$HOST_B" egress)" = "0 0" ]
tc qdisc del dev "$HOST_B" clsact 2>/dev/null

# --- B: the qdisc deleted under us, then attach again --------------------
start_netcount "$HOST_B"
B=$NC
tc qdisc del dev "$HOST_B" clsact 2>/dev/null
kill -USR2 $B
wait_for "grep -q '^attached' '$WORK/$HOST_B.out'" 5
check "attaching again puts back a deleted qdisc and both filters" \
	eval 'has_qdisc "$HOST_B" clsact && [ "$(our_filters "$HOST_B" ingress) $(our_filters "$HOST_B" egress)" = "1 1" ]'
send_from_guest "$PEER_B" 20 100
send_to_guest "$HOST_B" 30 100 > /dev/null
c=$(settled_counters $B "$HOST_B" tx_packets 20)
check "and counting goes on" [ "$(field tx_packets "$c") $(field rx_packets "$c")" = "20 30" ]
stop_netcount $B
check "the qdisc it put back is removed at detach" eval '! has_qdisc "$HOST_B" clsact'

# --- B: filters left by a probe that was killed --------------------------
start_netcount "$HOST_B"
kill -KILL $NC
wait $NC 2>/dev/null
check "a killed probe leaves its filters behind" \
	[ "$(our_filters "$HOST_B" ingress) $(our_filters "$HOST_B" egress)" = "1 1" ]
check "a new probe takes them over" start_netcount "$HOST_B"
B=$NC
check "with one filter per hook" [ "$(our_filters "$HOST_B" ingress) $(our_filters "$HOST_B" egress)" = "1 1" ]
send_from_guest "$PEER_B" 20 100
send_to_guest "$HOST_B" 30 100 > /dev/null
c=$(settled_counters $B "$HOST_B" tx_packets 20)
check "and counts from its own attach" [ "$(field tx_packets "$c") $(field rx_packets "$c")" = "20 30" ]
stop_netcount $B
check "its detach removes the filters" [ "$(our_filters "$HOST_B" ingress) $(our_filters "$HOST_B" egress)" = "0 0" ]
check "but leaves the qdisc, whose creator it cannot know" has_qdisc "$HOST_B" clsact
tc qdisc del dev "$HOST_B" clsact 2>/dev/null

# --- B: the interface vanishes while attached (VM stopped) ---------------
start_netcount "$HOST_B"
B=$NC
ip link del "$HOST_B"
c=$(read_counters $B "$HOST_B")
check "reading a vanished interface says so" [ "$c" = "read: No such device" ]
stop_netcount $B
check "detaching from a vanished interface exits 0 without hanging" [ "$NC_STATUS" = 0 ]
check "and reports it as gone" grep -q '^detach: .*is gone' "$WORK/$HOST_B.out"
