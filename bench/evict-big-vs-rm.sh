#!/usr/bin/env bash
# evict-big-vs-rm: time one `ckpt-warden enforce` pass that evicts COUNT big Lightning checkpoints (256 MiB
# each, really allocated: not sparse) against `rm -rf` of the same files in an identical tree, in the same run.
#
#   bench/evict-big-vs-rm.sh [WORKDIR]
#
# WORKDIR defaults to a fresh mktemp directory removed at the end (a given WORKDIR is kept; its trees are
# rebuilt for every timed side anyway, since both sides delete them). Scale with the environment:
#   COUNT=20           checkpoints evicted per pass (one run directory of COUNT+1; keep_last 1 keeps the newest)
#   MIB=256            size of each checkpoint in MiB
#   CONTENT=fallocate  fallocate: every block allocated with fallocate(2) (unwritten extents; nothing in the
#                      page cache); write: every byte written (zeros) and flushed, so the page cache also holds
#                      them and unlinking drops those pages too (slow to build on a busy disk: COUNT x MIB x 2
#                      per repetition)
#   REPEAT=3           timed repetitions of each side (the median is reported)
#   CKPT_WARDEN=<repo>/bin/ckpt-warden  the launcher under test
# A sparse file would be cheating for rm (unlinking a hole frees nothing), so the generator checks that
# every file has all its blocks allocated. Each file is a valid torch.save zip64 archive (a Lightning dict
# with optimizer state, then one stored tensor entry filling the rest), an hour and more old, so settled.
# Both sides start from a tree just built and flushed with `sync`.
set -euo pipefail

COUNT=${COUNT:-20}
MIB=${MIB:-256}
CONTENT=${CONTENT:-fallocate}
REPEAT=${REPEAT:-3}
GOAL=1.05
case $CONTENT in fallocate | write) ;; *) echo "evict-big-vs-rm: CONTENT must be fallocate or write" >&2; exit 2;; esac
BENCH=evict-big-vs-rm
. "$(dirname -- "$(readlink -f -- "${BASH_SOURCE[0]}")")/lib.sh"

need_tools python3 xargs rm sync
need_launcher

workdir "$@"
remove_work_at_exit
tree=$work/tree           # the agent's root
copy=$work/copy           # rm's side
state=$work/state
conf=$work/ckpt-warden.yaml
evict_list=$work/evict.list   # NUL-separated paths relative to the tree: what keep_last 1 evicts
need_free_kib "$work" $(( (COUNT + 1) * MIB * 1024 + 65536 ))

# build DIR: COUNT+1 checkpoints of MIB MiB in DIR/pl-run-000, every block allocated, then sync.
build() {
  rm -rf -- "$1"
  python3 - "$1" "$COUNT" "$MIB" "$CONTENT" "$evict_list" <<'PY'
import os, pickle, struct, sys, time, zlib

root, count, mib, content, evict_list = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4], sys.argv[5]
size = mib << 20
run = os.path.join(root, "pl-run-000")
os.makedirs(run)
start = time.time() - 3600 - (count + 1) * 60  # the newest save is an hour old: settled under any settle_time
BLOCK = 8 << 20

def torch_zip(path, total, obj):
    # archive/data.pkl, archive/byteorder, one stored tensor entry sized so that the file is `total` bytes,
    # archive/version, then a zip64 central directory. The tensor bytes are zeros, allocated or written.
    pkl = pickle.dumps(obj, protocol=2)
    small = [("archive/data.pkl", pkl), ("archive/byteorder", b"little")]
    tail = [("archive/version", b"3\n")]
    def local(n, size):
        return 30 + len(n) + 20
    def central(n):
        return 46 + len(n) + 28
    names = [n for n, _ in small] + ["archive/data/0"] + [n for n, _ in tail]
    fixed = sum(local(n.encode(), 0) for n in names) + sum(len(d) for _, d in small + tail)
    fixed += sum(central(n.encode()) for n in names) + 56 + 20 + 22
    data_bytes = total - fixed
    assert data_bytes > 0
    entries = small + [("archive/data/0", None)] + tail
    cd, offset = [], 0
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    try:
        for name, data in entries:
            n = name.encode()
            sz = data_bytes if data is None else len(data)
            crc = zero_crc(sz) if data is None else zlib.crc32(data)
            os.write(fd, struct.pack("<IHHHHHIIIHH", 0x04034b50, 45, 0, 0, 0, 0x5821, crc, 0xFFFFFFFF, 0xFFFFFFFF,
                                     len(n), 20) + n + struct.pack("<HHQQ", 1, 16, sz, sz))
            if data is None:
                pos = os.lseek(fd, 0, os.SEEK_CUR)
                if content == "write":
                    zero, left = bytes(BLOCK), sz
                    while left:
                        left -= os.write(fd, zero[:min(left, BLOCK)])
                else:
                    os.posix_fallocate(fd, pos, sz)
                    os.lseek(fd, pos + sz, os.SEEK_SET)
            else:
                os.write(fd, data)
            cd.append(struct.pack("<IHHHHHHIIIHHHHHII", 0x02014b50, 45, 45, 0, 0, 0, 0x5821, crc, 0xFFFFFFFF,
                                  0xFFFFFFFF, len(n), 28, 0, 0, 0, 0, 0xFFFFFFFF) + n
                      + struct.pack("<HHQQQ", 1, 24, sz, sz, offset))
            offset = os.lseek(fd, 0, os.SEEK_CUR)
        blob = b"".join(cd)
        os.write(fd, blob)
        z64 = offset + len(blob)
        os.write(fd, struct.pack("<IQHHIIQQQQ", 0x06064b50, 44, 45, 45, 0, 0, len(entries), len(entries), len(blob), offset))
        os.write(fd, struct.pack("<IIQI", 0x07064b50, 0, z64, 1))
        os.write(fd, struct.pack("<IHHHHIIH", 0x06054b50, 0, 0, 0xFFFF, 0xFFFF, 0xFFFFFFFF, 0xFFFFFFFF, 0))
    finally:
        os.close(fd)
    st = os.stat(path)
    assert st.st_size == total, (path, st.st_size, total)
    # Not sparse: every byte has its block (ext4 may round up to whole blocks).
    assert st.st_blocks * 512 >= total - 4096, "%s is sparse: %d of %d bytes allocated" % (path, st.st_blocks * 512, total)

crc_cache = {}
def zero_crc(size):
    if size not in crc_cache:
        block, crc, left = bytes(BLOCK), 0, size
        while left:
            crc = zlib.crc32(block[:min(left, BLOCK)], crc)
            left -= min(left, BLOCK)
        crc_cache[size] = crc
    return crc_cache[size]

evict = []
for e in range(count + 1):
    name = "epoch=%d-step=%d.ckpt" % (e, (e + 1) * 100)
    path = os.path.join(run, name)
    torch_zip(path, size, {"epoch": e, "global_step": (e + 1) * 100, "pytorch-lightning_version": "2.4.0",
                           "state_dict": {}, "optimizer_states": [{}], "lr_schedulers": []})
    t = start + e * 60  # one save a minute, in step order
    os.utime(path, (t, t))
    if e < count:
        evict.append(os.path.join("pl-run-000", name))
os.utime(run, (start + (count + 1) * 60,) * 2)
os.utime(root, (start + (count + 1) * 60,) * 2)
with open(evict_list, "wb") as f:
    f.write(b"".join(p.encode() + b"\0" for p in evict))
PY
  sync
}

cat > "$conf" <<EOF
# written by bench/evict-big-vs-rm.sh
agent:
  state_dir: $state
  settle_time: 10s
roots:
  - path: $tree
    layout: lightning
    retention:
      keep_last: 1
EOF

# median, ratio, verdict, now_ns, ckpts_in and timed (which sets END too): bench/lib.sh.
# The first audit `begin` line's time (ns since the epoch) and the number of audit lines.
audit_first_ns() {
  python3 - "$state/audit.jsonl" <<'PY'
import datetime, json, sys
t = [json.loads(l)["time"] for l in open(sys.argv[1]) if l.strip()]
s = t[0].rstrip("Z")
base, _, frac = s.partition(".")
d = datetime.datetime.fromisoformat(base).replace(tzinfo=datetime.timezone.utc)
print(int(d.timestamp()) * 10**9 + int((frac + "000000000")[:9]), len(t))
PY
}

load_before=$(cut -d' ' -f1-3 /proc/loadavg)
"$warden" --version > /dev/null   # warm the JVM's class data and the page cache of the jars

enf_w=(); enf_c=(); evict_w=(); ver_w=(); rm_w=(); rm_c=()
for ((r = 1; r <= REPEAT; r++)); do
  timed /dev/null /dev/null "$warden" --version; ver_w+=("$WALL")

  rm -rf -- "$state"
  build "$tree"
  "$warden" scan --config "$conf" > /dev/null 2> "$work/scan.err" \
    || { echo "evict-big-vs-rm: cold scan failed:" >&2; cat "$work/scan.err" >&2; exit 1; }
  sync
  timed "$work/enforce.out" "$work/enforce.err" "$warden" enforce --config "$conf"
  enf_w+=("$WALL"); enf_c+=("$CPU")
  left=$(ckpts_in "$tree")
  [[ $left -eq 1 ]] || { echo "evict-big-vs-rm: enforce left $left checkpoints, expected 1:" >&2; cat "$work/enforce.out" >&2; exit 1; }
  trash_files=$(find "$tree/.ckpt-warden-trash" -type f ! -name .lock 2>/dev/null | wc -l)
  [[ $trash_files -eq 0 ]] || { echo "evict-big-vs-rm: $trash_files file(s) left in the trash: not purged" >&2; exit 1; }
  read -r first lines < <(audit_first_ns)
  [[ $lines -eq $((2 * COUNT)) ]] || { echo "evict-big-vs-rm: audit log has $lines lines, expected $((2 * COUNT))" >&2; exit 1; }
  evict_w+=("$(( (END - first) / 1000000 ))")

  build "$copy"
  (cd "$copy" && timed /dev/null "$work/rm.err" xargs -0 rm -rf -- < "$evict_list"; echo "$WALL $CPU" > "$work/.rm")
  read -r w c < "$work/.rm"; rm_w+=("$w"); rm_c+=("$c")
  left=$(ckpts_in "$copy")
  [[ $left -eq 1 ]] || { echo "evict-big-vs-rm: rm left $left checkpoints, expected 1" >&2; exit 1; }
done
load_after=$(cut -d' ' -f1-3 /proc/loadavg)
rm -rf -- "$tree" "$copy"

enf_ms=$(median "${enf_w[@]}"); enf_cpu=$(median "${enf_c[@]}"); evict_ms=$(median "${evict_w[@]}")
ver_ms=$(median "${ver_w[@]}"); rm_ms=$(median "${rm_w[@]}"); rm_cpu=$(median "${rm_c[@]}")
(( rm_ms > 0 )) || rm_ms=1
summary=$(grep -E '^root ' "$work/enforce.out" | tail -n 1 || true)

row() { printf '  %-48s %9s %9s\n' "$@"; }
echo "evict-big-vs-rm: $COUNT Lightning checkpoints of $MIB MiB evicted (keep_last 1 of $((COUNT + 1))), content: $CONTENT"
echo "machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.1f GiB", $2 / 1048576}' /proc/meminfo), $(uname -sr), $(java -version 2>&1 | head -n 1), $(df -T "$work" | awk 'NR == 2 {print $2}') at $work"
echo "load average before/after: $load_before / $load_after (other work on the machine inflates wall times)"
echo "median of $REPEAT runs; each side on a tree just built and flushed with sync"
echo
row measurement "wall ms" "cpu ms"
row "ckpt-warden enforce (whole process)" "$enf_ms" "$enf_cpu"
row "  of which: eviction (first audit begin to exit)" "$evict_ms" -
row "  of which: JVM start (--version)" "$ver_ms" -
row "rm -rf (same $COUNT files)" "$rm_ms" "$rm_cpu"
echo
printf '  %-52s %7s %s\n' "goal: eviction <= $GOAL x rm -rf" "$(ratio "$evict_ms" "$rm_ms")" \
  "$(verdict "$(ratio "$evict_ms" "$rm_ms")" "$GOAL")"
printf '  %-52s %7s\n' "       whole enforce process / rm -rf" "$(ratio "$enf_ms" "$rm_ms")"
echo "enforce said: $summary"
echo "each run (wall ms): enforce ${enf_w[*]}; eviction ${evict_w[*]}; rm ${rm_w[*]}"
echo "eviction = from the first audit begin line (after JVM start, registry open, reconcile and plan) until the"
echo "process exited: audit lines forced to disk, moves into the trash, registry, the purge, the printed table."
