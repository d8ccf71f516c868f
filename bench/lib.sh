# bench/lib.sh: the set-up and timing that the benchmark scripts share. Sourced, never run:
#
#   BENCH=scan-vs-find; . "$(dirname -- "$(readlink -f -- "${BASH_SOURCE[0]}")")/lib.sh"
#
# BENCH names the script: every message of these functions starts with it, as the scripts' own do.
# Functions that find a missing prerequisite exit 2 (the scripts' "cannot run here"); a failed timed
# command exits 1.

# The checkout this script lives in, and the launcher under test (CKPT_WARDEN overrides it).
repo=$(cd -- "$(dirname -- "$(readlink -f -- "${BASH_SOURCE[0]}")")/.." && pwd)
warden=${CKPT_WARDEN:-$repo/bin/ckpt-warden}

# need_tools TOOL...: each on PATH, or exit 2 naming the first one missing.
need_tools() {
  local tool
  for tool in "$@"; do
    command -v "$tool" > /dev/null || { echo "$BENCH: $tool not found on PATH" >&2; exit 2; }
  done
}

# need_launcher: $warden is executable and answers --version, or exit 2 saying to build first.
need_launcher() {
  [[ -x "$warden" ]] || { echo "$BENCH: launcher $warden not executable" >&2; exit 2; }
  if ! "$warden" --version > /dev/null 2>&1; then
    echo "$BENCH: '$warden --version' failed: build first (mvn -q -B package -DskipTests in $repo)" >&2
    exit 2
  fi
}

# workdir [DIR]: sets work to DIR (made if missing, kept at the end) or to a fresh mktemp directory; sets
# remove_work to 1 for the latter, empty for the former. Scripts without a cleanup of their own call
# remove_work_at_exit next.
workdir() {
  if [[ $# -ge 1 ]]; then
    work=$(mkdir -p -- "$1" && cd -- "$1" && pwd)
    remove_work=
  else
    work=$(mktemp -d "${TMPDIR:-/tmp}/$BENCH.XXXXXX")
    remove_work=1
  fi
}
remove_work_at_exit() {
  if [[ -n $remove_work ]]; then trap 'rm -rf -- "$work"' EXIT; fi
}

# need_free_kib DIR KIB: the file system holding DIR has KIB KiB free, or exit 2 with both in MiB.
need_free_kib() {
  local free_kib
  free_kib=$(df -Pk "$1" | awk 'NR == 2 {print $4}')
  if ((free_kib < $2)); then
    echo "$BENCH: $1 has $((free_kib / 1024)) MiB free, needs $(($2 / 1024)) MiB" >&2
    exit 2
  fi
}

# --- figures --------------------------------------------------------------------------------------
median() { printf '%s\n' "$@" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
# ratio A B: A / B to two places (B of 0 counts as 1: a side too fast to measure).
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.2f", a / (b > 0 ? b : 1)}'; }
per() { awk -v a="$1" -v n="$2" 'BEGIN {printf "%.3f", a / n}'; }
# verdict RATIO GOAL: PASS when RATIO is at most GOAL.
verdict() { awk -v r="$1" -v g="$2" 'BEGIN {print (r <= g) ? "PASS" : "MISS"}'; }
now_ns() { date +%s%N; }
ckpts_in() { find "$1" -name '*.ckpt' -type f | wc -l; }

# timed OUT ERR CMD...: runs CMD (stdout to OUT, stderr to ERR) and sets WALL and CPU (user + sys of the
# process and its children) in ms, and END (ns, just after CMD exited). CPU is the steadier figure on a
# shared machine. A failing CMD ends the script with its last lines of stderr.
timed() {
  local out=$1 err=$2 rc=0 real user sys
  shift 2
  { TIMEFORMAT='%3R %3U %3S'; time "$@" > "$out" 2> "$err"; } 2> "$work/.time" || rc=$?
  END=$(now_ns)
  if [[ $rc -ne 0 ]]; then echo "$BENCH: '$*' exited $rc:" >&2; tail -n 20 "$err" >&2; exit 1; fi
  read -r real user sys < <(tail -n 1 "$work/.time")
  WALL=$(awk -v r="$real" 'BEGIN {printf "%.0f", r * 1000}')
  CPU=$(awk -v u="$user" -v s="$sys" 'BEGIN {printf "%.0f", (u + s) * 1000}')
}
