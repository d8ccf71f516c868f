#!/usr/bin/env bash
# idle-agent: what the running agent costs when nothing happens: CPU share of one core and resident
# memory between passes, and the time from process start to "agent started"; then the same for a few
# JVM flag variants, and resident memory with a large registry.
#
#   bench/idle-agent.sh [WORKDIR]
#
# The root holds RUNS x PER_RUN small Lightning checkpoints (valid torch zips, an hour old); the agent
# runs with reconcile_interval 5m, so no periodic pass falls inside the window. CPU comes from
# /proc/<pid>/stat (utime + stime of every thread, in clock ticks), memory from VmRSS in
# /proc/<pid>/status; the start time from the launch (date +%s%N just before the launcher runs, the JVM
# start included) to the time logback stamps on the "agent started" line (%epoch, ms).
# Environment:
#   RUNS=100 PER_RUN=10      the idle tree
#   IDLE_SECONDS=60          the measured idle window of the baseline
#   VARIANT_SECONDS=30       the window of each JVM flag variant (VARIANTS=0 skips them)
#   BIG=100000               checkpoints in the large-registry measurement (BIG=0 skips it); tiny valid
#                            .safetensors files, 1000 per run directory, ~4 KiB of disk each
#   NMT=1                    one more baseline start with -XX:NativeMemoryTracking=summary: RSS by JVM area
#   CKPT_WARDEN=<repo>/bin/ckpt-warden  the launcher under test
set -euo pipefail

RUNS=${RUNS:-100}
PER_RUN=${PER_RUN:-10}
IDLE_SECONDS=${IDLE_SECONDS:-60}
VARIANT_SECONDS=${VARIANT_SECONDS:-30}
VARIANTS=${VARIANTS:-1}
BIG=${BIG:-100000}
GOAL_CPU=0.5
GOAL_START_MS=1000

repo=$(cd -- "$(dirname -- "$(readlink -f -- "${BASH_SOURCE[0]}")")/.." && pwd)
warden=${CKPT_WARDEN:-$repo/bin/ckpt-warden}
command -v python3 > /dev/null || { echo "idle-agent: python3 not found on PATH" >&2; exit 2; }
if ! "$warden" --version > /dev/null 2>&1; then
  echo "idle-agent: '$warden --version' failed: build first (mvn -q -B package -DskipTests in $repo)" >&2
  exit 2
fi
hz=$(getconf CLK_TCK)

if [[ $# -ge 1 ]]; then
  work=$(mkdir -p -- "$1" && cd -- "$1" && pwd)
  remove_work=
else
  work=$(mktemp -d "${TMPDIR:-/tmp}/idle-agent.XXXXXX")
  remove_work=1
fi
agent_pid=
cleanup() {
  if [[ -n $agent_pid ]]; then kill "$agent_pid" 2> /dev/null || true; wait "$agent_pid" 2> /dev/null || true; fi
  if [[ -n $remove_work ]]; then rm -rf -- "$work"; fi
}
trap cleanup EXIT

# --- trees ------------------------------------------------------------------------------------------
make_tree() { # DIR RUNS PER_RUN KIND(zip|safetensors)
  local stamp="$2 $3 $4 v1"
  if [[ -f $1.done && "$(cat "$1.done")" == "$stamp" ]]; then return; fi
  rm -rf -- "$1" "$1.done"
  python3 - "$@" <<'PY'
import io, json, os, pickle, struct, sys, time, zipfile
tree, runs, per_run, kind = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
if kind == "zip":
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_STORED) as z:
        z.writestr("archive/data.pkl", pickle.dumps({"epoch": 0, "global_step": 0, "optimizer_states": [{}]}, protocol=2))
        z.writestr("archive/version", b"3\n")
    content, name = buf.getvalue(), lambda i: "epoch=%d-step=%d.ckpt" % (i, (i + 1) * 100)
else:
    header = json.dumps({"w": {"dtype": "U8", "shape": [1], "data_offsets": [0, 1]}}).encode()
    content, name = struct.pack("<Q", len(header)) + header + b"\0", lambda i: "step_%d.safetensors" % ((i + 1) * 100)
old = time.time() - 3600
os.makedirs(tree)
for r in range(runs):
    run = os.path.join(tree, "run-%04d" % r)
    os.makedirs(run)
    for i in range(per_run):
        p = os.path.join(run, name(i))
        with open(p, "wb") as f:
            f.write(content)
        os.utime(p, (old, old))
    os.utime(run, (old, old))
PY
  echo "$stamp" > "$1.done"
}
write_conf() { # FILE TREE STATE
  cat > "$1" <<EOF
# written by bench/idle-agent.sh
agent:
  state_dir: $3
  reconcile_interval: 5m
  settle_time: 10s
  listen: 127.0.0.1:0
roots:
  - path: $2
    layout: auto
EOF
}

# --- one agent ----------------------------------------------------------------------------------------
ticks() { sed 's/^.*) //' "/proc/$1/stat" | awk '{print $12 + $13}'; }   # utime + stime, all threads
rss_kib() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status"; }
threads() { awk '/^Threads:/ {print $2}' "/proc/$1/status"; }
# measure LABEL CONF WINDOW_S JAVA_OPTS [ENV=VALUE...]: starts the agent (on a fresh state directory
# unless KEEP_STATE is set), waits for "agent started", samples at once and after WINDOW_S, stops it.
# Sets START_MS CPU_PCT TICKS RSS0 RSS1 NTHREADS SERIES and keeps the log; returns 1 with FAILED set when
# the agent did not start (FAILED also when it died in main but the JVM stayed up: it is then stopped).
measure() {
  local label=$1 conf=$2 window=$3 opts=$4 log t0 t1 launch started deadline
  shift 4
  log=$work/agent-$label.log
  FAILED=
  [[ -n ${KEEP_STATE:-} ]] || rm -rf -- "$(sed -n 's/^  state_dir: //p' "$conf")"
  rm -f -- "$log"   # else the wait below could read the previous run's line before the redirect truncates it
  launch=$(date +%s%N)
  env "$@" CKPT_WARDEN_JAVA_OPTS="$opts" CKPT_WARDEN_LOG_PATTERN='%epoch %-5level %logger{0}: %msg%n' \
    "$warden" run --config "$conf" > "$log" 2>&1 &
  agent_pid=$!
  deadline=$((SECONDS + 600))
  until grep -q 'agent started' "$log" 2> /dev/null; do
    if ! kill -0 "$agent_pid" 2> /dev/null || ((SECONDS >= deadline)) \
        || grep -q '^Exception in thread "main"' "$log" 2> /dev/null; then
      FAILED=$(grep -m 1 -E 'Exception|Error|ckpt-warden:' "$log" 2> /dev/null || echo "no 'agent started' line")
      if kill -0 "$agent_pid" 2> /dev/null; then
        sleep 1
        if kill -0 "$agent_pid" 2> /dev/null; then FAILED="$FAILED (the JVM was still running afterwards)"; fi
        kill "$agent_pid" 2> /dev/null || true
      fi
      wait "$agent_pid" 2> /dev/null || true; agent_pid=
      return 1
    fi
    sleep 0.02
  done
  started=$(sed -n 's/^\([0-9]*\) INFO  Agent: agent started.*/\1/p' "$log")
  START_MS=$((started - launch / 1000000))
  t0=$(ticks "$agent_pid"); RSS0=$(rss_kib "$agent_pid")
  SERIES=()
  local step=$((window / 6)) s=0 prev=$t0 now
  ((step > 0)) || step=$window
  while ((s < window)); do
    sleep "$step"; s=$((s + step))
    now=$(ticks "$agent_pid"); SERIES+=("$s s: +$((now - prev)) ticks, $(($(rss_kib "$agent_pid") / 1024)) MiB"); prev=$now
  done
  t1=$(ticks "$agent_pid"); RSS1=$(rss_kib "$agent_pid"); NTHREADS=$(threads "$agent_pid")
  if [[ -n ${HEAP_INFO:-} ]]; then # after the samples: a full GC (GC.run) then shows the live heap
    jcmd "$agent_pid" GC.heap_info > "$work/heap-$label.txt" 2>&1 || true
    jcmd "$agent_pid" GC.run > /dev/null 2>&1 && jcmd "$agent_pid" GC.heap_info > "$work/heap-$label-gc.txt" 2>&1 || true
  fi
  if [[ -n ${NMT_OUT:-} ]]; then jcmd "$agent_pid" VM.native_memory summary > "$NMT_OUT" 2>&1 || true; fi
  kill "$agent_pid"; wait "$agent_pid" 2> /dev/null || true; agent_pid=
  CPU_PCT=$(awk -v d=$((t1 - t0)) -v hz="$hz" -v w="$window" 'BEGIN {printf "%.3f", d / hz / w * 100}')
  TICKS=$((t1 - t0))
}
# heap_line LABEL: used and committed of the generations in that run's jcmd GC.heap_info, and the
# used heap after a full GC (the live set).
heap_used() { sed -n 's/.* total \([0-9]*\)K, used \([0-9]*\)K.*/\1 \2/p' "$1" | awk '{t += $1; u += $2} END {if (NR) printf "%.1f %.1f\n", u / 1024, t / 1024}'; }
heap_line() {
  [[ -s $work/heap-$1.txt ]] || return 0
  local used committed live
  read -r used committed < <(heap_used "$work/heap-$1.txt")
  live=$( [[ -s $work/heap-$1-gc.txt ]] && heap_used "$work/heap-$1-gc.txt" | cut -d' ' -f1 || true)
  echo "  java heap (jcmd GC.heap_info, young + old): $used MiB used of $committed MiB committed; ${live:-?} MiB live after a full GC"
}
median() { printf '%s\n' "$@" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
verdict() { awk -v v="$1" -v g="$2" 'BEGIN {print (v <= g) ? "PASS" : "MISS"}'; }
mib() { awk -v k="$1" 'BEGIN {printf "%.1f", k / 1024}'; }

idle=$work/tree; make_tree "$idle" "$RUNS" "$PER_RUN" zip
write_conf "$work/idle.yaml" "$idle" "$work/state-idle"
load_before=$(cut -d' ' -f1-3 /proc/loadavg)
"$warden" --version > /dev/null   # page cache and class data warm for every start below
vstart=$(date +%s%N); "$warden" --version > /dev/null; version_ms=$((($(date +%s%N) - vstart) / 1000000))

echo "idle-agent: $((RUNS * PER_RUN)) Lightning checkpoints in $RUNS runs; reconcile_interval 5m; CLK_TCK $hz"
echo "machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.1f GiB", $2 / 1048576}' /proc/meminfo), $(uname -sr), $(java -version 2>&1 | head -n 1)"
echo "load average at start: $load_before (a shared machine: other work competes for the 2 cores)"
echo "launcher's JVM flags: $(sed -n 's/^jvm=(\(.*\))$/\1/p' "$warden")"
echo

HEAP_INFO=1 measure baseline "$work/idle.yaml" "$IDLE_SECONDS" "" \
  || { echo "idle-agent: the agent did not start: $FAILED" >&2; exit 1; }
base_cpu=$CPU_PCT; base_rss=$RSS1
echo "baseline, $IDLE_SECONDS s idle window from \"agent started\":"
echo "  cpu: $TICKS ticks = $CPU_PCT % of one core; rss: $(mib "$RSS0") MiB at start, $(mib "$RSS1") MiB after; $NTHREADS threads"
echo "  per $((IDLE_SECONDS / 6)) s: $(printf '%s; ' "${SERIES[@]}")"
starts=("$START_MS")
for _ in 1 2 3 4; do measure start "$work/idle.yaml" 1 ""; starts+=("$START_MS"); done
start_ms=$(median "${starts[@]}")
warm_starts=()
for _ in 1 2 3 4 5; do KEEP_STATE=1 measure start-warm "$work/idle.yaml" 1 ""; warm_starts+=("$START_MS"); done
warm_ms=$(median "${warm_starts[@]}")
echo "  start to \"agent started\" (launcher, JVM, config, registry, first pass over $((RUNS * PER_RUN)) checkpoints):"
echo "    new state directory (first pass inspects every checkpoint): median $start_ms ms of ${starts[*]}"
echo "    existing registry (a restart):                              median $warm_ms ms of ${warm_starts[*]}"
echo "    --version alone: $version_ms ms"
heap_line baseline
echo
printf '  %-40s %10s %s\n' "goal: idle cpu <= $GOAL_CPU % of one core" "$base_cpu %" "$(verdict "$base_cpu" "$GOAL_CPU")"
printf '  %-40s %10s %s\n' "target (ours): \"agent started\" <= 1 s" "$start_ms ms" "$(verdict "$start_ms" "$GOAL_START_MS") (new state)"
printf '  %-40s %10s %s\n' "" "$warm_ms ms" "$(verdict "$warm_ms" "$GOAL_START_MS") (restart)"

if [[ -n ${NMT:-} ]]; then
  NMT_OUT=$work/nmt.txt measure nmt "$work/idle.yaml" 5 "-XX:NativeMemoryTracking=summary"
  echo
  echo "native memory (baseline flags + -XX:NativeMemoryTracking=summary, which adds its own overhead), committed KiB:"
  echo "(committed is not resident: the heap is committed at its initial size, 1/64 of RAM, but only pages"
  echo " the program has touched count in RSS)"
  sed -n 's/^-  *\([A-Za-z ]*\) (reserved=[0-9]*KB, committed=\([0-9]*\)KB).*/\1 \2/p;s/^Total: reserved=[0-9]*KB, committed=\([0-9]*\)KB.*/Total \1/p' "$work/nmt.txt" \
    | awk '{k = $NF; $NF = ""; printf "%d %s\n", k, $0}' | sort -rn | awk '{k = $1; $1 = ""; printf "  %-28s %8d\n", $0, k}' | head -n 12
fi

if [[ $VARIANTS != 0 ]]; then
  echo
  echo "JVM flag variants (CKPT_WARDEN_JAVA_OPTS, on top of the launcher's), $VARIANT_SECONDS s idle window each:"
  printf '  %-64s %9s %9s %9s %8s %7s\n' "variant" "start ms" "rss0 MiB" "rss MiB" "cpu %" "threads"
  variant() { # LABEL OPTS [ENV=VALUE...]
    local label=$1 opts=$2
    shift 2
    if ! measure "v-$label" "$work/idle.yaml" "$VARIANT_SECONDS" "$opts" "$@"; then
      printf '  %-64s did not start: %s\n' "${opts:-(none)}${*:+ $*}" "$FAILED"
      return 0
    fi
    printf '  %-64s %9s %9s %9s %8s %7s\n' "${opts:-(none)}${*:+ $*}" "$START_MS" "$(mib "$RSS0")" "$(mib "$RSS1")" \
      "$CPU_PCT" "$NTHREADS"
  }
  variant none ""
  variant xmx64 "-Xmx64m"
  variant xss256 "-Xss256k"
  variant xmn8 "-Xmn8m"
  variant c1 "-XX:TieredStopAtLevel=1"
  variant codecache "-XX:ReservedCodeCacheSize=24m"
  variant arena "" MALLOC_ARENA_MAX=2
  # glibc keeps what C2's compiler arenas and other native work freed; trimming gives it back (JDK 17.0.9+).
  variant trim "-XX:TrimNativeHeapInterval=10000"
  variant arena-trim "-XX:TrimNativeHeapInterval=10000" MALLOC_ARENA_MAX=2
  variant arena-trim-xmn8 "-Xmn8m -XX:TrimNativeHeapInterval=10000" MALLOC_ARENA_MAX=2
  variant shareoff "-Xshare:off"
  # Application class-data sharing: one run dumps the classes it loaded at exit, the next maps them.
  measure "v-cds-dump" "$work/idle.yaml" 2 "-XX:ArchiveClassesAtExit=$work/app.jsa" || true
  if [[ -s $work/app.jsa ]]; then
    variant appcds "-XX:SharedArchiveFile=$work/app.jsa"
    variant combo "-Xmn16m -XX:SharedArchiveFile=$work/app.jsa"
  else
    echo "  (AppCDS: no archive was written at exit; skipped)"
  fi
fi

if [[ $BIG != 0 ]]; then
  big=$work/big; per=1000
  t=$(date +%s%N); make_tree "$big" $(((BIG + per - 1) / per)) "$per" safetensors
  echo
  echo "large registry: $BIG tiny valid .safetensors checkpoints in $(((BIG + per - 1) / per)) runs (tree ready in $((($(date +%s%N) - t) / 1000000)) ms)"
  write_conf "$work/big.yaml" "$big" "$work/state-big"
  HEAP_INFO=1 measure big "$work/big.yaml" "$VARIANT_SECONDS" "" \
    || { echo "idle-agent: the agent did not start on the large tree: $FAILED" >&2; exit 1; }
  echo "  start to \"agent started\" (includes the cold first pass): $START_MS ms"
  echo "  rss: $(mib "$RSS0") MiB at start, $(mib "$RSS1") MiB after $VARIANT_SECONDS s; cpu $CPU_PCT % of one core; $NTHREADS threads"
  heap_line big
  echo "  vs the $((RUNS * PER_RUN))-checkpoint baseline: +$(mib $((RSS1 - base_rss))) MiB"
  if KEEP_STATE=1 measure big-restart "$work/big.yaml" 5 ""; then
    echo "  restart with that registry (first pass a warm rescan): start $START_MS ms; rss $(mib "$RSS1") MiB"
  fi
  for opts in -Xmn16m -Xmx64m; do
    if measure "big$opts" "$work/big.yaml" "$VARIANT_SECONDS" "$opts"; then
      echo "  with $opts: start $START_MS ms; rss $(mib "$RSS0") / $(mib "$RSS1") MiB; cpu $CPU_PCT %"
    else
      echo "  with $opts: did not start: $FAILED"
    fi
  done
fi
echo
echo "load average at end: $(cut -d' ' -f1-3 /proc/loadavg)"
if [[ -z $remove_work ]]; then echo "logs: $work/agent-*.log"; fi
