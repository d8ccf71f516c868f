#!/usr/bin/env bash
# rss-100k: resident memory of the running agent with a large registry, in its steady state: after the
# startup pass and after periodic full passes, which is what a long-running agent costs. Then the same
# for JVM flag variants, each started afresh on the same (existing) registry.
#
#   bench/rss-100k.sh [WORKDIR]
#
# The root holds N tiny valid .safetensors checkpoints, PER_RUN per run directory (~4 KiB of disk each).
# The agent runs with reconcile_interval PASS_S seconds; RSS (VmRSS, /proc/<pid>/status) is sampled when
# "agent started" is logged, then every second for PASSES x PASS_S seconds; the lowest sample is the
# steady state between passes, the highest a pass's peak. The registry is filled by an untimed first run.
# Environment:
#   N=100000 PER_RUN=1000 PASS_S=15 PASSES=3
#   VARIANTS='opts|env;opts|env'   extra runs, each "JAVA_OPTS|ENV=VALUE ..." (default: the launcher's flags only)
#   CKPT_WARDEN=<repo>/bin/ckpt-warden  the launcher under test
set -euo pipefail

N=${N:-100000}
PER_RUN=${PER_RUN:-1000}
PASS_S=${PASS_S:-15}
PASSES=${PASSES:-3}
GOAL_MIB=96

BENCH=rss-100k
. "$(dirname -- "$(readlink -f -- "${BASH_SOURCE[0]}")")/lib.sh"
need_launcher
workdir "$@"
agent_pid=
cleanup() {
  if [[ -n $agent_pid ]]; then kill "$agent_pid" 2> /dev/null || true; wait "$agent_pid" 2> /dev/null || true; fi
  if [[ -n $remove_work ]]; then rm -rf -- "$work"; fi
}
trap cleanup EXIT

tree=$work/tree
runs=$(((N + PER_RUN - 1) / PER_RUN))
if [[ ! -f $tree.done || "$(cat "$tree.done")" != "$runs $PER_RUN" ]]; then
  rm -rf -- "$tree"
  python3 - "$tree" "$runs" "$PER_RUN" <<'PY'
import json, os, struct, sys, time
tree, runs, per_run = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
header = json.dumps({"w": {"dtype": "U8", "shape": [1], "data_offsets": [0, 1]}}).encode()
content = struct.pack("<Q", len(header)) + header + b"\0"
old = time.time() - 3600
for r in range(runs):
    run = os.path.join(tree, "run-%04d" % r)
    os.makedirs(run)
    for i in range(per_run):
        p = os.path.join(run, "step_%d.safetensors" % ((i + 1) * 100))
        with open(p, "wb") as f:
            f.write(content)
        os.utime(p, (old, old))
    os.utime(run, (old, old))
PY
  echo "$runs $PER_RUN" > "$tree.done"
fi
conf=$work/agent.yaml
cat > "$conf" <<EOF
# written by bench/rss-100k.sh
agent:
  state_dir: $work/state
  reconcile_interval: ${PASS_S}s
  settle_time: 10s
  listen: 127.0.0.1:0
roots:
  - path: $tree
    layout: auto
EOF

rss_mib() { awk '/^VmRSS:/ {printf "%.1f", $2 / 1024}' "/proc/$1/status"; }
# run LABEL OPTS [ENV=VALUE...]: start ms, RSS at "agent started", then RSS sampled every second for
# PASSES x PASS_S seconds: the lowest sample (between passes), the median and the highest (inside a pass:
# the pass's transient memory); which of them a one-off sample shows depends on when it is taken.
run() {
  local label=$1 opts=$2 log=$work/agent-$1.log t0 samples=() rss0 threads
  shift 2
  rm -f -- "$log"
  t0=$(date +%s%N)
  env "$@" CKPT_WARDEN_JAVA_OPTS="$opts" "$warden" run --config "$conf" > "$log" 2>&1 &
  agent_pid=$!
  until grep -q 'agent started' "$log" 2> /dev/null; do
    kill -0 "$agent_pid" 2> /dev/null || { echo "  $label: the agent did not start: $(grep -m1 -E 'Exception|Error|ckpt-warden:' "$log")"; agent_pid=; return; }
    sleep 0.05
  done
  local start_ms=$((($(date +%s%N) - t0) / 1000000))
  rss0=$(rss_mib "$agent_pid")
  for ((i = 0; i < PASSES * PASS_S; i++)); do sleep 1; samples+=("$(rss_mib "$agent_pid")"); done
  threads=$(awk '/^Threads:/ {print $2}' "/proc/$agent_pid/status")
  kill "$agent_pid"; wait "$agent_pid" 2> /dev/null || true; agent_pid=
  ((${#samples[@]})) || return 0
  read -r lo med hi < <(printf '%s\n' "${samples[@]}" | sort -n | awk '{a[NR]=$1} END {print a[1], a[int((NR+1)/2)], a[NR]}')
  printf '  %-58s %7s %8s %8s %8s %8s %8s  %s\n' "${opts:-(launcher flags)}${*:+ $*}" "$start_ms" "$rss0" "$lo" "$med" "$hi" \
    "${samples[-1]}" "$threads thr"
}

echo "rss-100k: $N checkpoints in $runs run directories; reconcile_interval ${PASS_S}s, $PASSES periodic passes sampled"
echo "machine: $(nproc) cores, $(uname -sr), $(java -version 2>&1 | head -n 1)"
echo "load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "launcher's JVM flags: $(sed -n 's/^jvm=(\(.*\))$/\1/p' "$warden")"
if [[ ! -s $work/state/registry.db ]]; then
  echo "filling the registry (an untimed first run)..."
  PASSES=0 run fill "" > /dev/null
fi
printf '  %-58s %7s %8s %8s %8s %8s %8s\n' "variant (on top of the launcher's flags)" "start" "rss0" "min" "median" "max" "last MiB"
run base ""
n=0
IFS=';' read -r -a variants <<< "${VARIANTS:-}"
for v in "${variants[@]}"; do
  [[ -n $v ]] || continue
  # shellcheck disable=SC2086  # the env part is a word list on purpose
  run "v$((++n))" "${v%%|*}" ${v#*|}
done
echo "goal: <= $GOAL_MIB MiB resident with $N checkpoints registered (min = between passes, max = inside one)"
echo "load average at end: $(cut -d' ' -f1-3 /proc/loadavg)"
