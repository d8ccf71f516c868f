#!/usr/bin/env bash
# enforce-vs-rm: time one `ckpt-warden enforce` pass that evicts N Lightning checkpoints against
# `rm -f` of the same files in an identical copy of the tree, in the same run.
#
#   bench/enforce-vs-rm.sh [WORKDIR]
#
# WORKDIR defaults to a fresh mktemp directory removed at the end (a given WORKDIR is kept, and its
# template tree reused when the sizes match). Scale with the environment:
#   RUNS=50          run directories
#   PER_RUN=101      epoch=E-step=S.ckpt files per run; keep_last 1 evicts PER_RUN-1 of each run
#   REPEAT=3         timed repetitions of each side (the median is reported)
#   PROFILE=1        one more enforce pass under JFR (method samples every ms, Java and native) and one
#                    under `strace -c -f`: where the time goes
#   CKPT_WARDEN=<repo>/bin/ckpt-warden  the launcher under test
# Each .ckpt is a small valid torch.save zip (archive/data.pkl with a Lightning dict that carries
# optimizer state, so every one is resumable), ~600 bytes; mtimes are an hour and more old. Before
# each timed side the tree is restored from the template with `cp -a` and `sync` runs, so neither side
# pays for flushing the copy. Page cache warm on both sides.
set -euo pipefail

RUNS=${RUNS:-50}
PER_RUN=${PER_RUN:-101}
REPEAT=${REPEAT:-3}
GOAL=1.3

BENCH=enforce-vs-rm
. "$(dirname -- "$(readlink -f -- "${BASH_SOURCE[0]}")")/lib.sh"
need_tools python3 xargs cp sync
need_launcher
if ((PER_RUN < 2)); then echo "enforce-vs-rm: PER_RUN must be at least 2" >&2; exit 2; fi

workdir "$@"
remove_work_at_exit
template=$work/template   # never touched after generation
tree=$work/tree           # the agent's root: restored from the template before each enforce
copy=$work/copy           # rm's side: restored from the template before each rm
state=$work/state
conf=$work/ckpt-warden.yaml
evict_list=$work/evict.list   # NUL-separated paths relative to the tree: what keep_last 1 evicts
evictions=$((RUNS * (PER_RUN - 1)))

# --- the template tree ------------------------------------------------------------------------------
stamp="$RUNS $PER_RUN v1"
if [[ -f $work/.template-done && "$(cat "$work/.template-done")" == "$stamp" ]]; then
  echo "reusing the template in $template" >&2
else
  rm -rf -- "$template" "$work/.template-done"
  python3 - "$template" "$RUNS" "$PER_RUN" "$evict_list" <<'PY'
import io, os, pickle, sys, time, zipfile

template, runs, per_run, evict_list = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
# One torch.save-style zip (stored entries under archive/) serves as the content of every file.
buf = io.BytesIO()
with zipfile.ZipFile(buf, "w", zipfile.ZIP_STORED) as z:
    z.writestr("archive/data.pkl", pickle.dumps(
        {"epoch": 0, "global_step": 0, "pytorch-lightning_version": "2.4.0", "state_dict": {},
         "optimizer_states": [{}], "lr_schedulers": []}, protocol=2))
    z.writestr("archive/byteorder", b"little")
    z.writestr("archive/version", b"3\n")
content = buf.getvalue()
start = time.time() - 3600 - per_run * 60  # the newest save is an hour old: settled under any settle_time
evict = []
os.makedirs(template)
for r in range(runs):
    run = os.path.join(template, "pl-run-%03d" % r)
    os.makedirs(run)
    for e in range(per_run):
        name = "epoch=%d-step=%d.ckpt" % (e, (e + 1) * 100)
        path = os.path.join(run, name)
        with open(path, "wb") as f:
            f.write(content)
        t = start + e * 60  # one save a minute, in step order
        os.utime(path, (t, t))
        if e < per_run - 1:
            evict.append(os.path.join("pl-run-%03d" % r, name))
    os.utime(run, (start + per_run * 60,) * 2)
os.utime(template, (start + per_run * 60,) * 2)
with open(evict_list, "wb") as f:
    f.write(b"".join(p.encode() + b"\0" for p in evict))
PY
  echo "$stamp" > "$work/.template-done"
fi

cat > "$conf" <<EOF
# written by bench/enforce-vs-rm.sh
agent:
  state_dir: $state
  settle_time: 10s
roots:
  - path: $tree
    layout: lightning
    retention:
      keep_last: 1
EOF

# --- helpers (median, ratio, per, verdict, now_ns, ckpts_in, timed: bench/lib.sh) ---------------------
# A fresh tree and registry that knows every checkpoint (the untimed cold scan), flushed to disk.
prepare_tree() {
  rm -rf -- "$tree" "$state"
  cp -a -- "$template" "$tree"
  "$warden" scan --config "$conf" > /dev/null 2> "$work/scan.err" \
    || { echo "enforce-vs-rm: cold scan failed:" >&2; cat "$work/scan.err" >&2; exit 1; }
  sync
}
# The span of the eviction loop: first audit begin line to last end line, in ms; the number of lines; and
# the first begin line's time in ns since the epoch (for the span to the process's exit, purges included).
audit_span_ms() {
  python3 - "$state/audit.jsonl" <<'PY'
import datetime, json, sys
t = [json.loads(l)["time"] for l in open(sys.argv[1]) if l.strip()]
def ms(s):  # ISO-8601 UTC with up to nanoseconds, as Instant.toString writes it
    s = s.rstrip("Z")
    base, _, frac = s.partition(".")
    d = datetime.datetime.fromisoformat(base).replace(tzinfo=datetime.timezone.utc)
    return d.timestamp() * 1000 + (float("0." + frac) * 1000 if frac else 0)
s = t[0].rstrip("Z")
base, _, frac = s.partition(".")
first_ns = int(datetime.datetime.fromisoformat(base).replace(tzinfo=datetime.timezone.utc).timestamp()) * 10**9 \
    + int((frac + "000000000")[:9])
print("%.0f" % (ms(t[-1]) - ms(t[0])), len(t), first_ns)
PY
}
in_process_ms() { sed -n 's/^scan .*, \([0-9.]*\) ms$/\1/p' "$1" | head -n 1; }

load_before=$(cut -d' ' -f1-3 /proc/loadavg)
"$warden" --version > /dev/null   # warm the JVM's class data and the page cache of the jars

enf_w=(); enf_c=(); span=(); toexit=(); warm=(); rm_w=(); rm_c=(); rmsync_w=(); ver_w=()
for ((r = 1; r <= REPEAT; r++)); do
  timed /dev/null /dev/null "$warden" --version; ver_w+=("$WALL")

  prepare_tree
  # The reconcile that `enforce` starts with, timed alone on the same state (it changes nothing).
  "$warden" scan --config "$conf" --stats > /dev/null 2> "$work/warm.err"; warm+=("$(in_process_ms "$work/warm.err")")
  sync
  timed "$work/enforce.out" "$work/enforce.err" "$warden" enforce --config "$conf"
  enf_w+=("$WALL"); enf_c+=("$CPU")
  left=$(ckpts_in "$tree")
  if [[ $left -ne $RUNS ]]; then
    echo "enforce-vs-rm: enforce left $left checkpoints, expected $RUNS:" >&2; tail -n 5 "$work/enforce.out" >&2; exit 1
  fi
  read -r s lines first < <(audit_span_ms)
  if [[ $lines -ne $((2 * evictions)) ]]; then
    echo "enforce-vs-rm: audit log has $lines lines, expected $((2 * evictions))" >&2; exit 1
  fi
  span+=("$s"); toexit+=("$(( (END - first) / 1000000 ))")

  rm -rf -- "$copy"
  cp -a -- "$template" "$copy"
  sync
  (cd "$copy" && timed /dev/null "$work/rm.err" xargs -0 rm -f -- < "$evict_list"; echo "$WALL $CPU" > "$work/.rm")
  read -r w c < "$work/.rm"; rm_w+=("$w"); rm_c+=("$c")
  left=$(ckpts_in "$copy")
  [[ $left -eq $RUNS ]] || { echo "enforce-vs-rm: rm left $left checkpoints, expected $RUNS" >&2; exit 1; }
  # What making rm's result durable costs (the agent's audit log and trash manifests are): one sync of
  # the file system afterwards. Shared machine: this also flushes other work's dirty pages.
  timed /dev/null /dev/null sync -f "$copy"; rmsync_w+=("$WALL")
done
load_after=$(cut -d' ' -f1-3 /proc/loadavg)

enf_ms=$(median "${enf_w[@]}"); enf_cpu=$(median "${enf_c[@]}"); span_ms=$(median "${span[@]}")
toexit_ms=$(median "${toexit[@]}")
warm_ms=$(median "${warm[@]}"); ver_ms=$(median "${ver_w[@]}")
rm_ms=$(median "${rm_w[@]}"); rm_cpu=$(median "${rm_c[@]}"); rmsync_ms=$(median "${rmsync_w[@]}")
# rm measured under a ms: the ratio would divide by 0
(( rm_ms > 0 )) || rm_ms=1
summary=$(grep -E '^root ' "$work/enforce.out" | tail -n 1)

row() { printf '  %-40s %9s %9s %14s\n' "$@"; }
echo "enforce-vs-rm: $RUNS runs x $PER_RUN Lightning .ckpt files, keep_last 1: $evictions evictions per pass"
echo "machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.1f GiB", $2 / 1048576}' /proc/meminfo), $(uname -sr), $(java -version 2>&1 | head -n 1), $(df -T "$work" | awk 'NR == 2 {print $2}') at $work"
echo "load average before/after: $load_before / $load_after (other work on the machine inflates wall times)"
echo "median of $REPEAT runs; tree restored with cp -a and flushed with sync before each timed side"
echo
row measurement "wall ms" "cpu ms" "per eviction ms"
row "ckpt-warden enforce (one pass)" "$enf_ms" "$enf_cpu" "$(per "$enf_ms" "$evictions")"
row "  of which: eviction loop (audit span)" "$span_ms" - "$(per "$span_ms" "$evictions")"
row "  of which: first begin line to exit" "$toexit_ms" - "$(per "$toexit_ms" "$evictions")"
row "  of which: reconcile (warm, in-process)" "$warm_ms" - -
row "  of which: JVM start (--version)" "$ver_ms" - -
row "xargs rm -f (same $evictions files)" "$rm_ms" "$rm_cpu" "$(per "$rm_ms" "$evictions")"
row "  then sync -f (durable rm)" "$rmsync_ms" - -
echo
printf '  %-44s %7s %s\n' "goal: enforce <= $GOAL x rm (whole process)" "$(ratio "$enf_ms" "$rm_ms")" \
  "$(verdict "$(ratio "$enf_ms" "$rm_ms")" "$GOAL")"
printf '  %-44s %7s %s\n' "       eviction loop alone / rm" "$(ratio "$span_ms" "$rm_ms")" \
  "$(verdict "$(ratio "$span_ms" "$rm_ms")" "$GOAL")"
printf '  %-44s %7s %s\n' "       first begin line to exit / rm" "$(ratio "$toexit_ms" "$rm_ms")" \
  "$(verdict "$(ratio "$toexit_ms" "$rm_ms")" "$GOAL")"
printf '  %-44s %7s\n' "       enforce / (rm + sync -f)" "$(ratio "$enf_ms" "$((rm_ms + rmsync_ms))")"
echo "enforce said: $summary"
echo "each run (wall ms): enforce ${enf_w[*]}; eviction loop ${span[*]}; to exit ${toexit[*]}; rm ${rm_w[*]}"
echo "eviction loop = first audit begin line to last end line: the last batch's purge comes after it (and the purges of"
echo "earlier batches run beside later batches). 'first begin line to exit' adds that purge, the printed table and the JVM's"
echo "exit: with rm's unlinks of the same files, the like-for-like figure. rm unlinks one file at a time; the agent 8 at once."

# --- optional: where the time goes ------------------------------------------------------------------
if [[ -n ${PROFILE:-} ]]; then
  jfc=$(find "$(dirname "$(dirname "$(readlink -f "$(command -v java)")")")/lib/jfr" -name profile.jfc | head -n 1)
  sed -e '/jdk.ExecutionSample"/,/<\/event>/ s/\(<setting name="period"[^>]*>\)[^<]*</\11 ms</' \
      -e '/jdk.NativeMethodSample"/,/<\/event>/ s/\(<setting name="period"[^>]*>\)[^<]*</\11 ms</' "$jfc" > "$work/1ms.jfc"
  prepare_tree
  CKPT_WARDEN_JAVA_OPTS="${CKPT_WARDEN_JAVA_OPTS:-} -XX:StartFlightRecording=filename=$work/enforce.jfr,settings=$work/1ms.jfc -Xlog:gc:file=$work/enforce-gc.log" \
    "$warden" enforce --config "$conf" > /dev/null 2> "$work/prof.err"
  echo
  echo "=== profile, one enforce pass under JFR ($(read -r s _ < <(audit_span_ms); echo "eviction loop $s ms"))"
  awk '/Pause/ {gsub("ms", "", $NF); n++; s += $NF} END {printf "GC: %d pauses, %.0f ms in total\n", n, s}' "$work/enforce-gc.log"
  jfr print --json --stack-depth 96 --events jdk.ExecutionSample,jdk.NativeMethodSample "$work/enforce.jfr" \
    | python3 "$repo/bench/jfr-hot.py" "${PROFILE_TOP:-20}"
  if command -v strace > /dev/null; then
    prepare_tree
    # -w: wall time spent in each syscall (blocking fsyncs count), summed over all threads.
    strace -f -c -w -o "$work/strace.txt" "$warden" enforce --config "$conf" > /dev/null 2>&1
    echo
    echo "=== syscalls of one enforce pass (strace -f -c -w: wall time in each call; strace slows every call;"
    echo "    threads parked in futex/epoll waits left out), calls per eviction in the last column"
    awk -v n="$evictions" 'NR <= 2 {print; next}
      /futex|epoll|poll|nanosleep|wait4|restart_syscall|clock_nanosleep|total/ {next}
      $4 ~ /^[0-9]+$/ && $4 >= n / 2 {printf "%s %10.2f\n", $0, $4 / n}' "$work/strace.txt" | head -n 16
  fi
  if [[ $# -ge 1 ]]; then echo "recording kept: $work/enforce.jfr"; fi
fi
