#!/usr/bin/env python3
"""One figure over stored intervals, for the integration tests.

Reads the JSON of `vigilctl history ... --json` on standard input (tests/lib.sh's
`stored` runs vigilctl) and prints one figure over the rows that pass every
filter:

  intervals.py [FILTER...] FIGURE [ARGS]

Filters:
  --tags T          the series' tags are exactly T ("k=v,k2=v2"; "" for
                    the whole-VM series)
  --tags-not T      the series' tags are not exactly T
  --tags-prefix P   the series' tags start with P
  --metric-prefix P the metric's name starts with P
  --layer-not L     the metric's layer is not L (e.g. sla: the readings only,
                    without the SLA checks' own rows)
  --value X         the value equals X to 2 decimals
  --value-gt X      the value is greater than X
  --ends-after MS   the interval ends after MS (Unix ms)

Figures (nothing is printed where SQL's aggregate would be NULL):
  count             how many intervals
  total             sum of value x whole seconds spanned, as an integer: a
                    per-interval counter's total at 1 s intervals
  latest            the value of the interval that ends last
  max               the largest value
  first-end         the earliest end (ms)
  last-end          the latest end (ms)
  mean T0 T1        time-weighted mean over [T0, T1] ms, 2 decimals
  span T0 T1        last end - first start of the intervals that overlap
                    [T0, T1] (ms)
  worst-gap T0 T1   the largest start - previous end among the intervals
                    that overlap [T0, T1] (ms), 0 for fewer than two
"""
import json
import sys

FILTERS = {
    "--tags": lambda r, a: tags(r) == a,
    "--tags-not": lambda r, a: tags(r) != a,
    "--tags-prefix": lambda r, a: tags(r).startswith(a),
    "--metric-prefix": lambda r, a: r["metric"].startswith(a),
    "--layer-not": lambda r, a: r["layer"] != a,
    "--value": lambda r, a: round(r["value"], 2) == round(float(a), 2),
    "--value-gt": lambda r, a: r["value"] > float(a),
    "--ends-after": lambda r, a: r["t_end_ms"] > int(a),
}


def tags(row):
    return ",".join(f"{k}={v}" for k, v in row["tags"].items())


def number(x):
    """Integral values without a fraction, others as Python prints them."""
    if x is None:
        return ""
    if isinstance(x, float) and x.is_integer():
        return str(int(x))
    return str(x)


def overlapping(rows, t0, t1):
    return [r for r in rows if r["t_end_ms"] > t0 and r["t_start_ms"] < t1]


def mean(rows, t0, t1):
    weighted = weight = 0
    for r in overlapping(rows, t0, t1):
        d = min(r["t_end_ms"], t1) - max(r["t_start_ms"], t0)
        weighted += r["value"] * d
        weight += d
    return f"{weighted / weight:.2f}" if weight else None


def span(rows, t0, t1):
    rows = overlapping(rows, t0, t1)
    if not rows:
        return None
    return max(r["t_end_ms"] for r in rows) - min(r["t_start_ms"] for r in rows)


def worst_gap(rows, t0, t1):
    rows = sorted(overlapping(rows, t0, t1), key=lambda r: r["t_start_ms"])
    gaps = [b["t_start_ms"] - a["t_end_ms"] for a, b in zip(rows, rows[1:])]
    return max(gaps, default=0)


def by_end(rows):
    return sorted(rows, key=lambda r: r["t_end_ms"], reverse=True)


def total(rows):
    if not rows:
        return None
    return int(sum(r["value"] * round((r["t_end_ms"] - r["t_start_ms"]) / 1000.0) for r in rows))


FIGURES = {
    "count": (0, lambda rows: len(rows)),
    "total": (0, total),
    "latest": (0, lambda rows: by_end(rows)[0]["value"] if rows else None),
    "max": (0, lambda rows: max((r["value"] for r in rows), default=None)),
    "first-end": (0, lambda rows: min((r["t_end_ms"] for r in rows), default=None)),
    "last-end": (0, lambda rows: max((r["t_end_ms"] for r in rows), default=None)),
    "mean": (2, lambda rows, t0, t1: mean(rows, int(t0), int(t1))),
    "span": (2, lambda rows, t0, t1: span(rows, int(t0), int(t1))),
    "worst-gap": (2, lambda rows, t0, t1: worst_gap(rows, int(t0), int(t1))),
}


def usage(msg):
    print(f"intervals.py: {msg}", file=sys.stderr)
    sys.exit(2)


def main(argv):
    filters = []
    while argv and argv[0] in FILTERS:
        if len(argv) < 2:
            usage(f"{argv[0]} needs a value")
        filters.append((FILTERS[argv[0]], argv[1]))
        argv = argv[2:]
    if not argv or argv[0] not in FIGURES:
        usage(f"expected a figure ({', '.join(FIGURES)}), got {argv[:1]}")
    nargs, fn = FIGURES[argv[0]]
    if len(argv) != 1 + nargs:
        usage(f"{argv[0]} takes {nargs} argument(s)")
    try:
        reply = json.load(sys.stdin)
    except ValueError as e:
        print(f"intervals.py: not vigilctl's JSON: {e}", file=sys.stderr)
        return 1
    if reply.get("truncated"):
        print("intervals.py: vigilctl's reply is truncated", file=sys.stderr)
        return 1
    rows = [r for r in reply["rows"] if all(f(r, a) for f, a in filters)]
    print(number(fn(rows, *argv[1:])))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
