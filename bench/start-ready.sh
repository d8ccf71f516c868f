#!/usr/bin/env bash
# start-ready: time from launching the agent to its first 200 on /healthz (what systemd's READY=1 and a
# load balancer wait for), on a root of RUNS x PER_RUN small Lightning checkpoints with an existing
# registry (a restart). Also the process CPU time (user + sys, every thread) at that moment, which a
# loaded machine inflates far less than the wall time, and where the wall time went (the agent's log
# lines, ms after launch).
#
#   bench/start-ready.sh [WORKDIR]
#
# Environment:
#   RUNS=100 PER_RUN=10   the tree (1,000 checkpoints)
#   REPEAT=3              starts measured; the median is reported
#   CKPT_WARDEN=<repo>/bin/ckpt-warden   the launcher under test
#   CKPT_WARDEN_JAVA_OPTS  extra JVM flags for every start (a variant)
set -euo pipefail

RUNS=${RUNS:-100}
PER_RUN=${PER_RUN:-10}
REPEAT=${REPEAT:-3}
GOAL_MS=1000

repo=$(cd -- "$(dirname -- "$(readlink -f -- "${BASH_SOURCE[0]}")")/.." && pwd)
warden=${CKPT_WARDEN:-$repo/bin/ckpt-warden}
for tool in python3 curl; do
  command -v "$tool" > /dev/null || { echo "start-ready: $tool not found on PATH" >&2; exit 2; }
done
"$warden" --version > /dev/null 2>&1 || { echo "start-ready: '$warden --version' failed: build first (mvn -q -B -o package -DskipTests)" >&2; exit 2; }
hz=$(getconf CLK_TCK)
if [[ $# -ge 1 ]]; then
  work=$(mkdir -p -- "$1" && cd -- "$1" && pwd); remove_work=
else
  work=$(mktemp -d "${TMPDIR:-/tmp}/start-ready.XXXXXX"); remove_work=1
fi
agent_pid=
cleanup() {
  if [[ -n $agent_pid ]]; then kill "$agent_pid" 2> /dev/null || true; wait "$agent_pid" 2> /dev/null || true; fi
  if [[ -n $remove_work ]]; then rm -rf -- "$work"; fi
}
trap cleanup EXIT

tree=$work/tree
if [[ ! -f $tree.done || "$(cat "$tree.done")" != "$RUNS $PER_RUN" ]]; then
  rm -rf -- "$tree" "$work/state"
  python3 - "$tree" "$RUNS" "$PER_RUN" <<'PY'
import io, os, pickle, sys, time, zipfile
tree, runs, per_run = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
buf = io.BytesIO()
with zipfile.ZipFile(buf, "w", zipfile.ZIP_STORED) as z:
    z.writestr("archive/data.pkl", pickle.dumps({"epoch": 0, "global_step": 0, "optimizer_states": [{}]}, protocol=2))
    z.writestr("archive/version", b"3\n")
old = time.time() - 3600
for r in range(runs):
    run = os.path.join(tree, "run-%04d" % r)
    os.makedirs(run)
    for i in range(per_run):
        p = os.path.join(run, "epoch=%d-step=%d.ckpt" % (i, (i + 1) * 100))
        with open(p, "wb") as f:
            f.write(buf.getvalue())
        os.utime(p, (old, old))
    os.utime(run, (old, old))
PY
  echo "$RUNS $PER_RUN" > "$tree.done"
fi
conf=$work/agent.yaml
cat > "$conf" <<EOF
# written by bench/start-ready.sh
agent:
  state_dir: $work/state
  reconcile_interval: 5m
  settle_time: 10s
  listen: 127.0.0.1:0
roots:
  - path: $tree
    layout: auto
EOF

# start: launches the agent, waits for /healthz 200, sets READY_MS CPU_MS PHASES, stops it.
start() {
  local log=$work/agent.log launch port= code now
  : > "$log"   # there before the agent opens it: the sed below, under set -e, must find it
  launch=$(date +%s%N)
  CKPT_WARDEN_LOG_PATTERN='%epoch %-5level %logger{0}: %msg%n' "$warden" run --config "$conf" > "$log" 2>&1 &
  agent_pid=$!
  until [[ -n $port ]]; do
    kill -0 "$agent_pid" 2> /dev/null || { echo "start-ready: the agent exited: $(tail -n 3 "$log")" >&2; exit 1; }
    port=$(sed -n 's/.*serving .* on [0-9.]*:\([0-9]*\)$/\1/p' "$log")
    sleep 0.005
  done
  until code=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/healthz"); [[ $code == 200 ]]; do
    kill -0 "$agent_pid" 2> /dev/null || { echo "start-ready: the agent exited: $(tail -n 3 "$log")" >&2; exit 1; }
    sleep 0.005
  done
  now=$(date +%s%N)
  READY_MS=$(((now - launch) / 1000000))
  CPU_MS=$(($(sed 's/^.*) //' "/proc/$agent_pid/stat" | awk '{print $12 + $13}') * 1000 / hz))
  # The thread that runs main() (the launcher's first thread only waits for it): the start's critical path,
  # which other work on a loaded machine inflates far less than the wall time.
  MAIN_MS=0
  for task in /proc/"$agent_pid"/task/*; do
    if [[ ${task##*/} != "$agent_pid" && $(cat "$task/comm" 2> /dev/null) == java ]]; then
      MAIN_MS=$(($(sed 's/^.*) //' "$task/stat" | awk '{print $12 + $13}') * 1000 / hz))
      break
    fi
  done
  PHASES=$(awk -v l=$((launch / 1000000)) '$1 ~ /^[0-9]+$/ && !/stopping|stopped/ {
      t = $1; $1 = $2 = ""; sub(/^ +/, ""); printf "    +%5d ms  %s\n", t - l, $0 }' "$log")
  kill "$agent_pid" 2> /dev/null || true; wait "$agent_pid" 2> /dev/null || true; agent_pid=
}
median() { printf '%s\n' "$@" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

echo "start-ready: $((RUNS * PER_RUN)) Lightning checkpoints in $RUNS runs, existing registry; $(nproc) cores"
echo "extra JVM flags: ${CKPT_WARDEN_JAVA_OPTS:-(none)}"
if [[ ! -s $work/state/registry.db ]]; then start; echo "(registry filled by an untimed first start: $READY_MS ms)"; fi
"$warden" --version > /dev/null   # page cache warm
readies=() cpus=() mains=() loads=()
for ((i = 1; i <= REPEAT; i++)); do
  loads+=("$(cut -d' ' -f1 /proc/loadavg)")
  start
  readies+=("$READY_MS"); cpus+=("$CPU_MS"); mains+=("$MAIN_MS")
  echo "  start $i: ready $READY_MS ms, cpu $CPU_MS ms (main thread $MAIN_MS ms), load ${loads[-1]}"
done
echo "  where the last start's time went (log lines, ms after launch):"
echo "$PHASES"
ready=$(median "${readies[@]}")
printf '  %-44s %6s ms %s\n' "start to /healthz 200, median of $REPEAT" "$ready" \
  "$(awk -v v="$ready" -v g="$GOAL_MS" 'BEGIN {print (v <= g) ? "PASS" : "MISS"}') (goal <= $GOAL_MS ms; load ${loads[*]})"
printf '  %-44s %6s ms\n' "cpu (user + sys) at that moment, median" "$(median "${cpus[@]}")"
printf '  %-44s %6s ms\n' "cpu of the main thread at that moment, median" "$(median "${mains[@]}")"
