"""Summarises JFR method samples (`jfr print --json`) into where a ckpt-warden scan spends its time.

Reads the JSON on stdin; prints, for the top N: the hottest leaf frames (JDK or native included), the
first ckpt-warden frame with its line on each sampled stack (the call site to fix), and ckpt-warden
methods by inclusive share. Lambdas are skipped so that each sample names a real source line.
"""
import collections
import json
import sys

top = int(sys.argv[1]) if len(sys.argv) > 1 else 20
events = json.load(sys.stdin)["recording"]["events"]


def type_name(frame):
    return frame["method"]["type"]["name"].replace("/", ".")


def is_ours(frame):
    t = type_name(frame)
    return t.startswith("dev.ckptwarden") and "$$Lambda" not in t


def where(frame):
    t = type_name(frame).rsplit(".", 1)[-1].split("$")[0]
    return "%s.java:%s %s" % (t, frame.get("lineNumber", "?"), frame["method"]["name"])


leaf = collections.Counter()
first_ours = collections.Counter()
inclusive = collections.Counter()
n = 0
for e in events:
    stack = (e["values"].get("stackTrace") or {}).get("frames") or []
    if not stack:
        continue
    n += 1
    f0 = stack[0]
    leaf["%s.%s" % (type_name(f0).rsplit(".", 1)[-1], f0["method"]["name"])] += 1
    ours = [f for f in stack if is_ours(f)]
    first_ours[where(ours[0]) if ours else "(no ckpt-warden frame: JVM start, class loading, GC-free JDK code)"] += 1
    for m in {"%s.%s" % (type_name(f).rsplit(".", 1)[-1], f["method"]["name"]) for f in ours}:
        inclusive[m] += 1

if n == 0:
    print("no samples")
    sys.exit(0)
print("%d samples (1 per ms per running thread; Java and native)" % n)
for title, counter in (("hottest leaf frames", leaf), ("first ckpt-warden frame (call site)", first_ours),
                       ("ckpt-warden methods, inclusive", inclusive)):
    print("-- " + title)
    for key, count in counter.most_common(top):
        print("  %5.1f%%  %s" % (100.0 * count / n, key))
