#!/usr/bin/env bash
# latency-vs-inotifywait: how soon the running agent registers a new checkpoint, against how soon
# `inotifywait -m -r` reports it, for the same files in the same run.
#
#   bench/latency-vs-inotifywait.sh [WORKDIR]
#
# The agent runs with settle_time 0s (the first sighting of a valid file registers it complete) and
# reconcile_interval 1h (only watch events drive it). N checkpoint files are written outside the root
# and renamed into it, one every INTERVAL_MS; each rename's time is recorded (CLOCK_REALTIME, ns, just
# before the rename). Latency per file:
#   agent:       the time stamped on its DEBUG line `registered <path> (...)` (logback %epoch, ms) - rename
#   inotifywait: the time its output line reached a reader that stamps each read (ns) - rename
# Needs inotifywait (Debian/Ubuntu: inotify-tools); run as root, the script installs it when missing.
# Environment:
#   N=200             files
#   INTERVAL_MS=100   between renames
#   CKPT_WARDEN=<repo>/bin/ckpt-warden  the launcher under test
set -euo pipefail

N=${N:-200}
INTERVAL_MS=${INTERVAL_MS:-100}
GOAL_MS=50

BENCH=latency-vs-inotifywait
. "$(dirname -- "$(readlink -f -- "${BASH_SOURCE[0]}")")/lib.sh"
if ! command -v inotifywait > /dev/null; then
  if [[ $(id -u) -eq 0 ]] && command -v apt-get > /dev/null; then
    echo "latency-vs-inotifywait: inotifywait missing: installing inotify-tools (apt-get update, apt-get install)" >&2
    apt-get update -qq > /dev/null && apt-get install -y -qq inotify-tools > /dev/null
  else
    echo "latency-vs-inotifywait: inotifywait not found: install inotify-tools (sudo apt-get install -y inotify-tools)" >&2
    exit 2
  fi
fi
need_tools python3
need_launcher

workdir "$@"
if [[ -z $remove_work ]]; then
  rm -rf -- "$work/root" "$work/stage" "$work/state" "$work"/*.log "$work/iw.fifo"
fi
root=$work/root     # watched by both
stage=$work/stage   # same file system, outside the root: files are written here and renamed in
mkdir -p "$root/run-000" "$stage"
conf=$work/ckpt-warden.yaml
cat > "$conf" <<EOF
# written by bench/latency-vs-inotifywait.sh
agent:
  state_dir: $work/state
  settle_time: 0s
  reconcile_interval: 1h
roots:
  - path: $root
    layout: auto
EOF

agent_pid=; iw_pid=; reader_pid=
cleanup() {
  # Only the processes this script started, by their ids.
  for p in $agent_pid $iw_pid $reader_pid; do kill "$p" 2> /dev/null || true; done
  wait 2> /dev/null || true
  if [[ -n $remove_work ]]; then rm -rf -- "$work"; fi
}
trap cleanup EXIT

wait_for() { # FILE PATTERN SECONDS WHAT
  local deadline=$((SECONDS + $3))
  until grep -q -- "$2" "$1" 2> /dev/null; do
    if ((SECONDS >= deadline)); then echo "latency-vs-inotifywait: $4 did not start within $3 s:" >&2; tail -n 20 "$1" >&2; exit 1; fi
    sleep 0.05
  done
}

load_before=$(cut -d' ' -f1-3 /proc/loadavg)

# inotifywait into a reader that stamps each read with the time it arrived (inotifywait's own %T has
# whole seconds only).
mkfifo "$work/iw.fifo"
python3 -c '
import os, sys, time
out = open(sys.argv[1], "w")
rest = b""
while True:
    chunk = os.read(0, 65536)
    if not chunk:
        break
    t = time.time_ns()
    *lines, rest = (rest + chunk).split(b"\n")
    for line in lines:
        out.write("%d %s\n" % (t, line.decode(errors="replace")))
    out.flush()
' "$work/inotifywait.log" < "$work/iw.fifo" &
reader_pid=$!
stdbuf=(); command -v stdbuf > /dev/null && stdbuf=(stdbuf -oL)
"${stdbuf[@]}" inotifywait -m -r -e moved_to,create,close_write --format '%w%f' "$root" > "$work/iw.fifo" 2> "$work/inotifywait.err" &
iw_pid=$!
wait_for "$work/inotifywait.err" "Watches established" 10 inotifywait

CKPT_WARDEN_LOG_LEVEL=DEBUG CKPT_WARDEN_LOG_PATTERN='%epoch %-5level %logger{0}: %msg%n' \
  "$warden" run --config "$conf" > "$work/agent.log" 2>&1 &
agent_pid=$!
wait_for "$work/agent.log" "agent started" 30 "the agent"
sleep 1   # let the startup settle (class loading of the first pass is not what is measured)

# Write each file outside the root, then rename it in; record the time just before the rename.
python3 - "$stage" "$root/run-000" "$N" "$INTERVAL_MS" "$work/created.log" <<'PY'
import io, os, pickle, sys, time, zipfile
stage, run, n, interval_ms, log = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), sys.argv[5]
with open(log, "w") as out:
    for i in range(n):
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w", zipfile.ZIP_STORED) as z:
            z.writestr("archive/data.pkl", pickle.dumps(
                {"epoch": i, "global_step": (i + 1) * 10, "optimizer_states": [{}]}, protocol=2))
            z.writestr("archive/version", b"3\n")
        name = "epoch=%d-step=%d.ckpt" % (i, (i + 1) * 10)
        tmp = os.path.join(stage, name)
        with open(tmp, "wb") as f:
            f.write(buf.getvalue())
        t = time.time_ns()
        os.rename(tmp, os.path.join(run, name))
        out.write("%d %s\n" % (t, os.path.join(run, name)))
        out.flush()
        time.sleep(max(0.0, interval_ms / 1000 - (time.time_ns() - t) / 1e9))
PY

# Wait for the agent to register the last one (or give up after 15 s and report what it saw).
deadline=$((SECONDS + 15))
until [[ $(grep -c ' registered ' "$work/agent.log" || true) -ge $N ]] || ((SECONDS >= deadline)); do sleep 0.1; done
sleep 0.5
load_after=$(cut -d' ' -f1-3 /proc/loadavg)
kill "$agent_pid" "$iw_pid" 2> /dev/null || true
wait "$agent_pid" "$iw_pid" "$reader_pid" 2> /dev/null || true
agent_pid=; iw_pid=; reader_pid=

echo "latency-vs-inotifywait: $N Lightning .ckpt files renamed into a watched root, one every $INTERVAL_MS ms"
echo "machine: $(nproc) cores, $(uname -sr), $(java -version 2>&1 | head -n 1), $(inotifywait --help 2>&1 | head -n 1)"
echo "load average before/after: $load_before / $load_after (other work on the machine adds noise)"
python3 - "$work/created.log" "$work/agent.log" "$work/inotifywait.log" "$N" "$GOAL_MS" <<'PY'
import re, sys
created_log, agent_log, iw_log, n, goal = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), float(sys.argv[5])
created = {}
for line in open(created_log):
    t, p = line.rstrip("\n").split(" ", 1)
    created[p] = int(t)

# The agent: `<epoch ms> DEBUG Reconciler: registered <path> (<state>...)`, and per pass
# `<epoch ms> DEBUG Agent: reconciled <root> (event@<when the pass was scheduled, ms>): ..., <ms> ms`.
agent, complete, passes, pending = {}, {}, [], []
reg = re.compile(r"^(\d+) DEBUG Reconciler: registered (.+?) \((\w+)")
rec = re.compile(r"^(\d+) DEBUG Agent: reconciled .* \((\w+)(?:@(\d+))?\): .*, (\d+) ms$")
for line in open(agent_log):
    m = reg.match(line)
    if m:
        if m.group(2) in created and m.group(3) == "complete" and m.group(2) not in complete:
            complete[m.group(2)] = int(m.group(1)) * 1_000_000
        if m.group(2) in created and m.group(2) not in agent:
            agent[m.group(2)] = (int(m.group(1)) * 1_000_000, m.group(3))
            pending.append(m.group(2))
        continue
    m = rec.match(line)
    if m and pending:
        passes.append((m.group(2), int(m.group(3)) if m.group(3) else None, int(m.group(1)), int(m.group(4)), pending))
        pending = []
iw = {}
for line in open(iw_log):
    t, p = line.rstrip("\n").split(" ", 1)
    if p in created and p not in iw:
        iw[p] = int(t)

def pct(xs, q):  # nearest rank
    xs = sorted(xs)
    return xs[max(0, min(len(xs) - 1, -(-len(xs) * q // 100) - 1))]

lat_a = [(agent[p][0] - created[p]) / 1e6 for p in created if p in agent]
lat_c = [(complete[p] - created[p]) / 1e6 for p in created if p in complete]
lat_i = [(iw[p] - created[p]) / 1e6 for p in created if p in iw]
print("agent saw %d of %d (states: %s); inotifywait saw %d of %d" % (
    len(lat_a), n, ", ".join(sorted({"%s %d" % (s, sum(1 for v in agent.values() if v[1] == s))
                                      for s in {v[1] for v in agent.values()}})) or "-", len(lat_i), n))
print("agent times are logback's event time in whole ms (truncated: up to 1 ms early); inotifywait's are ns")
print()
print("  latency ms                           p50      p90      p99      max")
for name, xs in (("inotifywait (line read)", lat_i), ("agent (first 'registered' line)", lat_a),
                 ("agent (registered complete)", lat_c)):
    if xs:
        print("  %-32s %8.1f %8.1f %8.1f %8.1f" % (name, pct(xs, 50), pct(xs, 90), pct(xs, 99), max(xs)))
writing = sum(1 for v in agent.values() if v[1] != "complete")
if writing:
    print("  (%d file(s) were first registered 'writing': renamed in after the pass had read the clock, so their"
          % writing)
    print("   mtime was newer than the pass's 'now'; a settle pass ~50 ms later registered them complete)")
if lat_a and lat_i:
    d = pct(lat_a, 99) - pct(lat_i, 99)
    print()
    print("  goal: agent p99 <= inotifywait p99 + %.0f ms: difference %.1f ms %s" % (
        goal, d, "PASS" if d <= goal and len(lat_a) == n else "MISS"))
# Where the agent's time goes: an event pass is scheduled at once when the last event pass ended more
# than a window ago (leading edge), else at the end of that window (3x the last event pass, 20-300 ms).
# `scheduled` is that start; the first file of the pass was renamed some time before it.
ev = [p for p in passes if p[0] == "event" and p[1] is not None]
if ev:
    waited, ran, per_pass = [], [], []
    for _, scheduled, logged, took, files in ev:
        first = min(files, key=lambda f: created[f])
        waited.append(scheduled - created[first] / 1e6)
        ran.append(agent[files[-1]][0] / 1e6 - scheduled)
        per_pass.append(len(files))
    print()
    print("  agent, per event pass (%d passes, %.1f files each on average):" % (len(ev), sum(per_pass) / len(ev)))
    print("    rename of its first file -> scheduled start (coalescing): p50 %.1f  p99 %.1f  max %.1f ms" % (
        pct(waited, 50), pct(waited, 99), max(waited)))
    print("    scheduled start -> last 'registered' line of the pass:   p50 %.1f  p99 %.1f  max %.1f ms" % (
        pct(ran, 50), pct(ran, 99), max(ran)))
    other = [p for p in passes if p[0] != "event"]
    if other:
        print("    %d file(s) registered by other passes: %s" % (sum(len(p[4]) for p in other),
                                                          ", ".join(sorted({p[0] for p in other}))))
PY
if [[ -z $remove_work ]]; then echo "logs: $work/agent.log $work/inotifywait.log $work/created.log"; fi
