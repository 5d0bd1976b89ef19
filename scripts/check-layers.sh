#!/usr/bin/env bash
# Proves the layering rule of docs/architecture.md from the sources:
#  - every #include "..." of a layer's file names a header of its own layer
#    or of a layer it is built on (the X_DIR and X_DEPS lines of the
#    Makefile, the one place the layers are declared);
#  - no header name is defined in two folders (includes are by name);
#  - the files do not include each other in a cycle (module = folder/name
#    without extension, so a.c -> b.h -> a.h counts).
# Exits 1 with one line per violation, 0 when the tree is clean.
set -u
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"

declare -A DIR DEPS LAYER_OF_DIR HEADER_DIR
while read -r name kind value; do
	case $kind in
	DIR) DIR[$name]=$value; LAYER_OF_DIR[$value]=$name ;;
	DEPS) DEPS[$name]=$value ;;
	esac
done < <(sed -n 's/^\([a-z]*\)_\(DIR\|DEPS\) *:= *\(.*\)$/\1 \2 \3/p' Makefile)
# The kernel programs' shared headers are the probe's (it loads them).
DIR[bpf]=bpf; LAYER_OF_DIR[bpf]=bpf; DEPS[bpf]=""; DEPS[probe]="${DEPS[probe]:-} bpf"

fail=0
problem() { echo "check-layers: $*"; fail=1; }

for layer in "${!DIR[@]}"; do
	for h in "${DIR[$layer]}"/*.h; do
		[ -e "$h" ] || continue
		b=$(basename "$h")
		if [ -n "${HEADER_DIR[$b]:-}" ]; then
			problem "$b is defined in both ${HEADER_DIR[$b]}/ and ${DIR[$layer]}/; includes are by name"
		fi
		HEADER_DIR[$b]=${DIR[$layer]}
	done
done

# The layer a header belongs to; generated headers belong to their makers.
header_layer() {
	case $1 in
	vigil.pb-c.h) echo common ;;
	*.skel.h | vmlinux.h) echo bpf ;;
	*) [ -n "${HEADER_DIR[$1]:-}" ] && echo "${LAYER_OF_DIR[${HEADER_DIR[$1]}]}" ;;
	esac
}

allowed() { # FROM TO
	[ "$1" = "$2" ] && return 0
	local d
	for d in ${DEPS[$1]}; do [ "$d" = "$2" ] && return 0; done
	return 1
}

edges=$(mktemp)
trap 'rm -f "$edges"' EXIT
for layer in "${!DIR[@]}"; do
	for f in "${DIR[$layer]}"/*.[ch]; do
		[ -e "$f" ] || continue
		case $f in *.bpf.c) continue ;; esac
		from_mod=${f%.*}
		while IFS=: read -r line inc; do
			to=$(header_layer "$inc")
			if [ -z "$to" ]; then
				problem "$f:$line: includes \"$inc\", which is no layer's header"
				continue
			fi
			if ! allowed "$layer" "$to"; then
				problem "$f:$line: includes \"$inc\" of layer $to, which layer $layer is not built on"
			fi
			[ -n "${HEADER_DIR[$inc]:-}" ] || continue
			to_mod=${HEADER_DIR[$inc]}/${inc%.h}
			[ "$to_mod" != "$from_mod" ] && echo "$from_mod $to_mod" >> "$edges"
		done < <(awk '/^[ \t]*#[ \t]*include[ \t]*"/ { s = $0; sub(/^[^"]*"/, "", s); sub(/".*/, "", s); print FNR ":" s }' "$f")
	done
done

if ! cycle=$(tsort "$edges" 2>&1 >/dev/null) || [ -n "$cycle" ]; then
	# tsort names the members of each loop it finds; the first is enough.
	problem "include cycle between files: $(echo "$cycle" | awk '/input contains a loop/ { n++; next } n == 1 { sub(/^tsort: /, ""); printf "%s -> ", $0 }')(back to the first)"
fi

if [ $fail -eq 0 ]; then
	echo "check-layers: $(sort -u "$edges" | wc -l) include edges, no back edge, no cycle"
fi
exit $fail
