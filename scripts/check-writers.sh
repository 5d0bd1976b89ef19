#!/usr/bin/env bash
# Proves the one-writer rule of docs/storage.md ("Writer") from the sources:
# only the store's writer files may
#  - hold SQL that writes (INSERT, UPDATE, DELETE, REPLACE, CREATE, DROP,
#    ALTER) in a string literal, or
#  - open a connection that can write (SQLITE_OPEN_READWRITE,
#    SQLITE_OPEN_CREATE, or sqlite3_open(), which opens read-write).
# Everything else reads through a read-only connection (reader.h) and
# writes by submitting a store request (store.h), so the writer thread's
# group commit is the one place the database changes.
# The files checked are those of every folder the Makefile builds the
# collector, vigilctl and the probe from (its X_DIR lines); tests and
# benchmarks make their own fixtures and baselines and are not checked.
# Exits 1 with one line per violation, 0 when the tree is clean.
set -u
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"

# The writer thread's files: it runs SQL only in these. A file added to
# the writer belongs here.
WRITERS="collector/store/store.c collector/store/engine.c collector/store/migrate.c collector/store/segtable.c
collector/store/sla_rows.c"

dirs=$(sed -n 's/^[a-z]*_DIR *:= *\(.*\)$/\1/p' Makefile | sort -u)
files=()
for d in $dirs; do
	for f in "$d"/*.[ch]; do
		[ -e "$f" ] || continue
		case $f in *.bpf.c) continue ;; esac
		case " $(echo $WRITERS) " in *" $f "*) continue ;; esac
		files+=("$f")
	done
done

# Tokenises each file into comments, string literals and code, joins
# adjacent literals as C does, and looks for writing SQL in the literals
# and for read-write opens in the code.
perl - "${files[@]}" <<'PERL'
my $fail = 0;
my $sql = qr/\b(?:insert\s+(?:or\s+\w+\s+)?into|replace\s+into|update\s+(?:or\s+\w+\s+)?[\w."]+\s+set
	|do\s+update\s+set|delete\s+from|create\s+(?:unique\s+|temp\s+|temporary\s+|virtual\s+)*
	(?:table|index|view|trigger)|drop\s+(?:table|index|view|trigger)|alter\s+table)\b/xi;
my $open = qr/\b(?:SQLITE_OPEN_READWRITE|SQLITE_OPEN_CREATE|sqlite3_open(?:16)?\s*\()/;
my $token = qr{\G(?:(/\*.*?\*/|//[^\n]*)|("(?:\\.|[^"\\\n])*")|(\s+)|('(?:\\.|[^'\\\n])*'|[^"'/\s]+|.))}s;
for my $f (@ARGV) {
	open(my $fh, "<", $f) or die "check-writers: $f: $!\n";
	my $src = do { local $/; <$fh> };
	close($fh);
	my ($line, $lit, $lit_line, $code) = (1, undef, 0, "");
	my $report = sub {
		print "check-writers: $f:$_[0]: $_[1]\n";
		$fail = 1;
	};
	my $end_literal = sub {
		return unless defined $lit;
		if ($lit =~ $sql) {
			(my $stmt = substr($lit, $-[0], 40)) =~ s/\s+/ /g;
			$report->($lit_line, "SQL that writes (\"$stmt...\") outside the store's writer; " .
			    "submit a store request (collector/store/store.h) instead");
		}
		undef $lit;
	};
	while ($src =~ /$token/g) {
		my ($comment, $string, $space, $other) = ($1, $2, $3, $4);
		my $text = $comment // $string // $space // $other;
		if (defined $string) {
			$lit_line = $line unless defined $lit;
			$lit .= substr($string, 1, -1);
		} elsif (defined $other) {
			$end_literal->();
		}
		# The code alone: comments and literals blanked, lines kept.
		$code .= defined $comment || defined $string ? $text =~ s/[^\n]/ /gr : $text;
		$line += ($text =~ tr/\n//);
	}
	$end_literal->();
	while ($code =~ /$open/g) {
		my $at = 1 + (substr($code, 0, $-[0]) =~ tr/\n//);
		$report->($at, "opens a connection that can write ($&) outside the store's writer; " .
		    "read through store_reader_open (collector/store/reader.h)");
	}
}
exit $fail;
PERL
fail=$?

if [ $fail -eq 0 ]; then
	echo "check-writers: ${#files[@]} files, no write outside the store's writer ($(echo $WRITERS | wc -w) files)"
fi
exit $fail
