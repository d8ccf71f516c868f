#!/usr/bin/env bash
# scan-vs-find: time a cold `ckpt-warden scan` and a warm rescan against `find -printf` on the same
# synthetic tree, plus the launcher's start time (`--version`).
#
#   bench/scan-vs-find.sh [WORKDIR]
#
# WORKDIR defaults to a fresh mktemp directory that is removed at the end (a given WORKDIR is kept,
# and a tree already generated there with the same sizes is reused). Scale with the environment:
#   HF_DIRS=10000          Hugging Face checkpoint-N/ directories (100 per run directory)
#   LIGHTNING_FILES=10000  Lightning epoch=E-step=S.ckpt files (100 per run directory)
#   LIGHTNING_CONTENT=zip  zip: each .ckpt is a valid torch.save zip64 (pickle + a sparse tensor entry),
#                          so the cold scan reads what a real one costs; sparse: no bytes at all (judged
#                          corrupt: the header probe falls through every format sniffer)
#   REPEAT=3               timed repetitions per measurement (the median is reported)
#   CKPT_WARDEN=<repo>/bin/ckpt-warden  the launcher under test
# Every big file is sparse (truncate -s): the tree takes ~240 MiB of real disk whatever its
# logical size. Both sides run with a warm page cache: nothing here drops caches.
set -euo pipefail

HF_DIRS=${HF_DIRS:-10000}
LIGHTNING_FILES=${LIGHTNING_FILES:-10000}
LIGHTNING_CONTENT=${LIGHTNING_CONTENT:-zip}
REPEAT=${REPEAT:-3}
PER_RUN=100
case $LIGHTNING_CONTENT in zip | sparse) ;; *) echo "scan-vs-find: LIGHTNING_CONTENT must be zip or sparse" >&2; exit 2;; esac
HF_WEIGHTS_BYTES=$((500 * 1024 * 1024))           # model.safetensors, logical
HF_OPTIMIZER_BYTES=$((1000 * 1024 * 1024))        # optimizer.pt, logical
LIGHTNING_BYTES=$((7 * 1024 * 1024 * 1024))       # each .ckpt, logical

BENCH=scan-vs-find
. "$(dirname -- "$(readlink -f -- "${BASH_SOURCE[0]}")")/lib.sh"
need_tools python3 find truncate
need_launcher

workdir "$@"
remove_work_at_exit
tree=$work/tree
conf=$work/ckpt-warden.yaml
state=$work/state

# --- the tree -------------------------------------------------------------------------------------
stamp="$HF_DIRS $LIGHTNING_FILES $PER_RUN $HF_WEIGHTS_BYTES $HF_OPTIMIZER_BYTES $LIGHTNING_BYTES $LIGHTNING_CONTENT v2"
if [[ -f $work/.tree-done && "$(cat "$work/.tree-done")" == "$stamp" ]]; then
  echo "reusing the tree in $tree" >&2
else
  rm -rf -- "$tree" "$work/.tree-done"
  t0=$(date +%s%N)
  python3 - "$tree" "$HF_DIRS" "$LIGHTNING_FILES" "$PER_RUN" "$HF_WEIGHTS_BYTES" "$HF_OPTIMIZER_BYTES" \
      "$LIGHTNING_BYTES" "$LIGHTNING_CONTENT" <<'PY'
import json, os, pickle, struct, sys, time, zlib

tree, hf_dirs, pl_files, per_run, weights, optim, pl_bytes = sys.argv[1], *map(int, sys.argv[2:8])
lightning_zip = sys.argv[8] == "zip"
settled = time.time() - 3600  # an hour ago: older than any settle_time, so every save is settled
os.makedirs(tree)

def sparse(path, size, head=b""):
    with open(path, "wb") as f:
        f.write(head)
        f.truncate(size)

def safetensors_head(total):
    # 8-byte LE header length, then a JSON header whose one tensor's data_offsets end lands exactly on
    # the file's end. The header is space-padded to a fixed width so its length does not depend on the
    # digits of the offsets (trailing spaces are allowed by the format).
    width = 256
    data = total - 8 - width
    header = json.dumps({"__metadata__": {"format": "pt"},
                         "weight": {"dtype": "U8", "shape": [data], "data_offsets": [0, data]}},
                        separators=(",", ":")).encode()
    assert len(header) <= width
    return struct.pack("<Q", width) + header.ljust(width, b" ")

st_head = safetensors_head(weights)
config = json.dumps({"architectures": ["BertForMaskedLM"], "model_type": "bert", "hidden_size": 768}).encode()
dirs = []
for i in range(hf_dirs):
    run = os.path.join(tree, "hf-run-%03d" % (i // per_run))
    step = (i % per_run + 1) * 500
    ck = os.path.join(run, "checkpoint-%d" % step)
    os.makedirs(ck)
    state = {"global_step": step, "epoch": step / 1000.0, "max_steps": per_run * 500,
             "log_history": [{"loss": round(2.0 / (1 + step / 1000.0), 4), "step": step, "epoch": step / 1000.0},
                             {"eval_loss": round(2.1 / (1 + step / 1000.0), 4), "step": step, "epoch": step / 1000.0}]}
    with open(os.path.join(ck, "trainer_state.json"), "w") as f:
        json.dump(state, f)
    with open(os.path.join(ck, "config.json"), "wb") as f:
        f.write(config)
    sparse(os.path.join(ck, "model.safetensors"), weights, st_head)
    sparse(os.path.join(ck, "optimizer.pt"), optim)
    sparse(os.path.join(ck, "scheduler.pt"), 1064)
    sparse(os.path.join(ck, "rng_state.pth"), 14244)
    sparse(os.path.join(ck, "training_args.bin"), 5304)
    dirs.append(ck)
    dirs.append(run)
def torch_zip(path, data_bytes, obj):
    # A torch.save-style zip64 archive: archive/data.pkl (a protocol-2 pickle of the Lightning dict),
    # one stored tensor entry of data_bytes zeros left as a hole, then the small trailing entries and a
    # zip64 central directory. Only the first and last few KiB hold real bytes.
    pkl = pickle.dumps(obj, protocol=2)
    entries = [("archive/data.pkl", pkl, len(pkl)), ("archive/byteorder", b"little", 6),
               ("archive/data/0", None, data_bytes), ("archive/version", b"3\n", 2),
               ("archive/.data/serialization_id", b"1234567890123456789012345678901234567890", 40)]
    central, offset = [], 0
    with open(path, "wb") as f:
        for name, data, size in entries:
            n = name.encode()
            crc = zero_crc(size) if data is None else zlib.crc32(data)
            extra = struct.pack("<HHQQ", 1, 16, size, size)
            f.write(struct.pack("<IHHHHHIIIHH", 0x04034b50, 45, 0, 0, 0, 0x5821, crc, 0xFFFFFFFF, 0xFFFFFFFF,
                                len(n), len(extra)) + n + extra)
            if data is None:
                f.seek(size, os.SEEK_CUR)
            else:
                f.write(data)
            cextra = struct.pack("<HHQQQ", 1, 24, size, size, offset)
            central.append(struct.pack("<IHHHHHHIIIHHHHHII", 0x02014b50, 45, 45, 0, 0, 0, 0x5821, crc, 0xFFFFFFFF,
                                       0xFFFFFFFF, len(n), len(cextra), 0, 0, 0, 0, 0xFFFFFFFF) + n + cextra)
            offset = f.tell()
        cd = b"".join(central)
        f.write(cd)
        z64 = offset + len(cd)
        f.write(struct.pack("<IQHHIIQQQQ", 0x06064b50, 44, 45, 45, 0, 0, len(entries), len(entries), len(cd), offset))
        f.write(struct.pack("<IIQI", 0x07064b50, 0, z64, 1))
        f.write(struct.pack("<IHHHHIIH", 0x06054b50, 0, 0, 0xFFFF, 0xFFFF, 0xFFFFFFFF, 0xFFFFFFFF, 0))

crc_cache = {}
def zero_crc(size):
    if size not in crc_cache:
        block, crc, left = bytes(64 << 20), 0, size
        while left:
            crc = zlib.crc32(block[:min(left, len(block))], crc)
            left -= min(left, len(block))
        crc_cache[size] = crc
    return crc_cache[size]

for i in range(pl_files):
    run = os.path.join(tree, "pl-run-%03d" % (i // per_run))
    os.makedirs(run, exist_ok=True)
    epoch = i % per_run
    step = (epoch + 1) * 1000
    path = os.path.join(run, "epoch=%d-step=%d.ckpt" % (epoch, step))
    if lightning_zip:
        torch_zip(path, pl_bytes, {
            "epoch": epoch, "global_step": step, "pytorch-lightning_version": "2.4.0",
            "state_dict": {}, "loops": {}, "callbacks": {
                "ModelCheckpoint{'monitor': 'val_loss', 'mode': 'min'}": {
                    "monitor": "val_loss", "best_model_score": None, "best_model_path": ""}},
            "optimizer_states": [{"state": {}, "param_groups": [{"lr": 0.001, "params": [0]}]}],
            "lr_schedulers": [], "hparams_name": "kwargs", "hyper_parameters": {"lr": 0.001}})
    else:
        sparse(path, pl_bytes)
    dirs.append(run)
# Files first, directories after (creating a child touches its parent), deepest first.
for dirpath, dirnames, filenames in os.walk(tree):
    for n in filenames:
        os.utime(os.path.join(dirpath, n), (settled, settled))
for d in sorted(set(dirs) | {tree}, key=lambda p: -p.count(os.sep)):
    os.utime(d, (settled, settled))
PY
  echo "$stamp" > "$work/.tree-done"
  echo "generated $HF_DIRS HF checkpoint dirs + $LIGHTNING_FILES Lightning files in $(( ($(date +%s%N) - t0) / 1000000 )) ms" >&2
fi

cat > "$conf" <<EOF
# written by bench/scan-vs-find.sh
agent:
  state_dir: $state
  settle_time: 10s
roots:
  - path: $tree
    layout: auto
EOF

# --- timing ---------------------------------------------------------------------------------------
# median, ratio, verdict and timed (timed OUT ERR CMD...): bench/lib.sh.
# The in-process time of the one root from a --stats stderr file.
stats_ms() { sed -n 's/^scan .*, \([0-9.]*\) ms$/\1/p' "$1" | head -n 1; }
find_tree() { find "$tree" -printf '%s %T@ %p\n'; }

load_before=$(cut -d' ' -f1-3 /proc/loadavg)
# Warm the page cache and the JVM's class-data for both sides before anything is timed.
find_tree > /dev/null
"$warden" --version > /dev/null

find_w=(); find_c=(); ver_w=(); cold_w=(); cold_c=(); cold_in=(); warm_w=(); warm_c=(); warm_in=()
for ((r = 1; r <= REPEAT; r++)); do
  timed /dev/null /dev/null find_tree; find_w+=("$WALL"); find_c+=("$CPU")
  timed /dev/null /dev/null "$warden" --version; ver_w+=("$WALL")
  rm -rf -- "$state"
  timed /dev/null "$work/cold.err" "$warden" scan --config "$conf" --stats
  cold_w+=("$WALL"); cold_c+=("$CPU"); cold_in+=("$(stats_ms "$work/cold.err")")
  timed /dev/null "$work/warm.err" "$warden" scan --config "$conf" --stats
  warm_w+=("$WALL"); warm_c+=("$CPU"); warm_in+=("$(stats_ms "$work/warm.err")")
done
# Two more --version runs: start time is short and noisy, a median of REPEAT+2 is steadier.
for _ in 1 2; do timed /dev/null /dev/null "$warden" --version; ver_w+=("$WALL"); done
load_after=$(cut -d' ' -f1-3 /proc/loadavg)

find_ms=$(median "${find_w[@]}"); find_cpu=$(median "${find_c[@]}")
version_ms=$(median "${ver_w[@]}")
cold_ms=$(median "${cold_w[@]}"); cold_cpu=$(median "${cold_c[@]}"); cold_in_ms=$(median "${cold_in[@]}")
warm_ms=$(median "${warm_w[@]}"); warm_cpu=$(median "${warm_c[@]}"); warm_in_ms=$(median "${warm_in[@]}")
find_lines=$(find_tree | wc -l)

# What the scan saw (from the last cold and warm runs), and what the registry judged.
cold_line=$(grep '^scan ' "$work/cold.err" | head -n 1 | sed 's/^scan [^:]*: //')
warm_line=$(grep '^scan ' "$work/warm.err" | head -n 1 | sed 's/^scan [^:]*: //')
states=$("$warden" scan --config "$conf" --json 2>/dev/null | python3 -c '
import json, sys, collections
rows = json.load(sys.stdin)
rows = rows.get("checkpoints", rows) if isinstance(rows, dict) else rows
c = collections.Counter((r.get("framework"), r.get("state")) for r in rows)
print(", ".join("%s %s: %d" % (f, s, n) for (f, s), n in sorted(c.items(), key=str)))' || echo "(could not read --json)")

row() { printf '  %-24s %8s %8s %14s\n' "$@"; }
goal() { # label, wall ratio, in-process ratio, limit
  printf '  %-27s %6s %s   %6s %s\n' "$1" "$2" "$(verdict "$2" "$4")" "$3" "$(verdict "$3" "$4")"
}
echo "scan-vs-find: $HF_DIRS HF checkpoint dirs (7 files each) + $LIGHTNING_FILES Lightning .ckpt files; $find_lines paths"
echo "machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.1f GiB", $2 / 1048576}' /proc/meminfo), $(uname -sr), $(java -version 2>&1 | head -n 1)"
echo "load average before/after: $load_before / $load_after (other work on the machine inflates wall times)"
echo "warm page cache on both sides; median of $REPEAT runs ($((REPEAT + 2)) for --version)"
echo "wall = whole process incl. JVM start; cpu = user+sys; in-process = the --stats time (reconcile only)"
echo
row measurement "wall ms" "cpu ms" "in-process ms"
row "find -printf" "$find_ms" "$find_cpu" -
row "scan, cold (new state)" "$cold_ms" "$cold_cpu" "$cold_in_ms"
row "scan, warm rescan" "$warm_ms" "$warm_cpu" "$warm_in_ms"
row "ckpt-warden --version" "$version_ms" - -
echo
echo "  goal (ratio to find's wall)    wall ratio    in-process ratio"
goal "cold scan <= 3.0 x find" "$(ratio "$cold_ms" "$find_ms")" "$(ratio "$cold_in_ms" "$find_ms")" 3.0
goal "warm rescan <= 1.5 x find" "$(ratio "$warm_ms" "$find_ms")" "$(ratio "$warm_in_ms" "$find_ms")" 1.5
printf '  %-27s %6s %s\n' "--version <= 1000 ms" "$version_ms" "ms $(verdict "$version_ms" 1000)"
echo
echo "cold scan saw: $cold_line"
echo "warm scan saw: $warm_line"
echo "registry: $states"
if [[ $LIGHTNING_CONTENT == zip ]]; then
  echo "Lightning .ckpt files are valid torch zip64 archives (tiny pickle, sparse tensor data); HF saves"
  echo "carry a valid safetensors header; optimizer.pt and the other HF side files are sparse zeros."
else
  echo "Lightning .ckpt files are sparse with no bytes at all, so they are judged corrupt: that still"
  echo "exercises the header read (every format sniffer runs). HF saves carry a valid safetensors header."
fi

# --- optional: where the time goes ----------------------------------------------------------------
if [[ -n ${PHASES:-} ]]; then
  # The registry is filled (by the last warm scan): time the phases of a warm rescan in one JVM.
  echo
  echo "phases of a warm rescan (bench/ScanPhases.java, the launcher's JVM flags):"
  java -XX:+UseSerialGC -XX:TieredStopAtLevel=1 -Xss512k -XX:-UsePerfData \
    -cp "$repo/target/classes:$repo/target/lib/*" "$repo/bench/ScanPhases.java" "$conf" "${PHASES_ROUNDS:-5}" 2>/dev/null
fi
if [[ -n ${PROFILE:-} ]]; then
  # JFR method sampling every ms (Java and native frames) of one cold and one warm scan, with GC totals.
  jfc=$(find "$(dirname "$(dirname "$(readlink -f "$(command -v java)")")")/lib/jfr" -name profile.jfc | head -n 1)
  sed -e '/jdk.ExecutionSample"/,/<\/event>/ s/\(<setting name="period"[^>]*>\)[^<]*</\11 ms</' \
      -e '/jdk.NativeMethodSample"/,/<\/event>/ s/\(<setting name="period"[^>]*>\)[^<]*</\11 ms</' "$jfc" > "$work/1ms.jfc"
  for kind in cold warm; do
    if [[ $kind == cold ]]; then rm -rf -- "$state"; fi
    CKPT_WARDEN_JAVA_OPTS="${CKPT_WARDEN_JAVA_OPTS:-} -XX:StartFlightRecording=filename=$work/$kind.jfr,settings=$work/1ms.jfc -Xlog:gc:file=$work/$kind-gc.log" \
      "$warden" scan --config "$conf" --stats > /dev/null 2> "$work/$kind-prof.err"
    echo
    echo "=== profile, $kind scan: $(grep '^scan ' "$work/$kind-prof.err" | sed 's/^scan [^:]*: //')"
    awk '/Pause/ {gsub("ms", "", $NF); n++; s += $NF} END {printf "GC: %d pauses, %.0f ms in total\n", n, s}' "$work/$kind-gc.log"
    jfr print --json --stack-depth 96 --events jdk.ExecutionSample,jdk.NativeMethodSample "$work/$kind.jfr" \
      | python3 "$repo/bench/jfr-hot.py" "${PROFILE_TOP:-20}"
  done
  if [[ $# -ge 1 ]]; then echo "recordings kept: $work/cold.jfr $work/warm.jfr"; fi
fi
