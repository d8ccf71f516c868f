#!/usr/bin/env bash
# offload-throughput: ckpt-warden's offload against the plain tools, on the same bytes, in one run.
#
#   bench/offload-throughput.sh [WORKDIR]
#
#   SFTP: an OpenSSH sshd started here on a loopback port (key auth, its own host key and config in
#         WORKDIR) serves both sides: the Offloader (Commons VFS + JSch) and `scp` (OpenSSH's scp, which
#         speaks SFTP to the same sftp-server since 9.0). Rounds alternate scp and offload.
#   S3:   S3Proxy (filesystem store in WORKDIR) started in-process by bench/OffloadThroughput.java; the
#         Offloader vs a plain AWS SDK v2 PutObject per file (RequestBody.fromFile, same HTTP client), a plain
#         SDK v2 multipart upload (8 MiB parts in sequence) and `aws s3 cp --recursive` when the aws CLI is
#         installed.
#
# The data: LIGHTNING=4 Lightning-style files of FILE_MIB=256 MiB of random bytes (one checkpoint each)
# and one Hugging Face checkpoint-500/ (model.safetensors 256 MiB, optimizer.pt 128 MiB, small JSONs).
# Offload runs with verify: size (the bytes are still hashed while streaming) and with verify: sha256
# (everything read back from the target and hashed: about twice the traffic, by design); the ratio
# goal (>= 0.9x the plain tool's throughput) is judged on verify: size, the sha256 figure is printed
# beside it. ROUNDS=3 rounds each; the best round of each is compared. CONCURRENCY=2 (offload.concurrency).
#
# Needs: a built checkout (mvn -q -B -o compile), Maven offline for the test classpath (S3Proxy),
# /usr/sbin/sshd (Debian: apt-get install openssh-server; installed here when running as root), scp.
# WORKDIR defaults to a mktemp directory removed at the end; the data takes ~1.4 GiB, the targets as much.
set -euo pipefail

LIGHTNING=${LIGHTNING:-4}
FILE_MIB=${FILE_MIB:-256}
HF_MODEL_MIB=${HF_MODEL_MIB:-256}
HF_OPTIMIZER_MIB=${HF_OPTIMIZER_MIB:-128}
ROUNDS=${ROUNDS:-3}
CONCURRENCY=${CONCURRENCY:-2}

BENCH=offload-throughput
. "$(dirname -- "$(readlink -f -- "${BASH_SOURCE[0]}")")/lib.sh"
if [[ ! -x /usr/sbin/sshd ]]; then
  if [[ $(id -u) -eq 0 ]] && command -v apt-get >/dev/null; then
    echo "offload-throughput: installing openssh-server (for sshd)" >&2
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq openssh-server >/dev/null
  else
    echo "offload-throughput: /usr/sbin/sshd not found (apt-get install openssh-server)" >&2
    exit 2
  fi
fi
need_tools scp ssh-keygen java mvn
[[ -d $repo/target/classes/dev ]] || { echo "offload-throughput: build first (mvn -q -B -o compile in $repo)" >&2; exit 2; }

workdir "$@"
sshd_pid=
cleanup() {
  if [[ -n $sshd_pid ]]; then kill "$sshd_pid" 2>/dev/null || true; fi
  if [[ -n $remove_work ]]; then rm -rf -- "$work"; fi
}
trap cleanup EXIT

# --- data -----------------------------------------------------------------------------------------
data=$work/data
stamp="$LIGHTNING $FILE_MIB $HF_MODEL_MIB $HF_OPTIMIZER_MIB v1"
names=()
for ((i = 0; i < LIGHTNING; i++)); do names+=("epoch=$i-step=$(((i + 1) * 1000)).ckpt"); done
names+=("checkpoint-500")
if [[ ! -f $work/.data-done || "$(cat "$work/.data-done")" != "$stamp" ]]; then
  rm -rf -- "$data"; mkdir -p "$data/checkpoint-500"
  for ((i = 0; i < LIGHTNING; i++)); do head -c $((FILE_MIB << 20)) /dev/urandom > "$data/${names[i]}"; done
  head -c $((HF_MODEL_MIB << 20)) /dev/urandom > "$data/checkpoint-500/model.safetensors"
  head -c $((HF_OPTIMIZER_MIB << 20)) /dev/urandom > "$data/checkpoint-500/optimizer.pt"
  echo '{"global_step": 500, "epoch": 1.0, "log_history": []}' > "$data/checkpoint-500/trainer_state.json"
  echo '{"model_type": "bench"}' > "$data/checkpoint-500/config.json"
  echo "$stamp" > "$work/.data-done"
fi
total=$(du -sb "$data" | cut -f1)
find "$data" -type f -exec cat {} + > /dev/null   # warm page cache for both sides

# --- classpath ------------------------------------------------------------------------------------
cp_file=$work/classpath.txt
if [[ ! -s $cp_file ]]; then
  (cd "$repo" && mvn -q -B -o dependency:build-classpath -Dmdep.includeScope=test -Dmdep.outputFile="$cp_file") >&2
fi
cp="$repo/target/classes:$(cat "$cp_file")"
# BENCH_JAVA_OPTS: JVM flags of the offloading JVM (e.g. the launcher's, to measure what the agent runs with)
bench_java() { java ${BENCH_JAVA_OPTS:-} -cp "$cp" "$repo/bench/OffloadThroughput.java" "$@"; }

# --- sshd -----------------------------------------------------------------------------------------
ssh_dir=$work/ssh
mkdir -p "$ssh_dir"
[[ -f $ssh_dir/host_key ]] || ssh-keygen -q -t ed25519 -N '' -f "$ssh_dir/host_key"
[[ -f $ssh_dir/id_client ]] || ssh-keygen -q -t ecdsa -b 256 -m PEM -N '' -f "$ssh_dir/id_client"
cp "$ssh_dir/id_client.pub" "$ssh_dir/authorized_keys"
chmod 600 "$ssh_dir/authorized_keys"
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
cat > "$ssh_dir/sshd_config" <<EOF
ListenAddress 127.0.0.1:$port
HostKey $ssh_dir/host_key
PidFile $ssh_dir/sshd.pid
AuthorizedKeysFile $ssh_dir/authorized_keys
PasswordAuthentication no
KbdInteractiveAuthentication no
PubkeyAuthentication yes
PermitRootLogin prohibit-password
StrictModes no
UsePAM no
Subsystem sftp /usr/lib/openssh/sftp-server
EOF
mkdir -p /run/sshd
/usr/sbin/sshd -D -e -f "$ssh_dir/sshd_config" 2> "$ssh_dir/sshd.log" &
sshd_pid=$!
echo "[127.0.0.1]:$port $(cut -d' ' -f1,2 "$ssh_dir/host_key.pub")" > "$ssh_dir/known_hosts"
user=$(id -un)
ssh_opts=(-P "$port" -i "$ssh_dir/id_client" -o UserKnownHostsFile="$ssh_dir/known_hosts" -o StrictHostKeyChecking=yes
  -o BatchMode=yes -o IdentitiesOnly=yes)
remote=$work/remote
for _ in $(seq 50); do scp -q "${ssh_opts[@]}" "$work/.data-done" "$user@127.0.0.1:$work/.probe" 2>/dev/null && break; sleep 0.1; done

now_s() { date +%s.%N; }
mib_s() { awk -v b="$1" -v s="$2" 'BEGIN {printf "%.1f", b / 1048576 / s}'; }
best() { sort -g | head -1; }

load_before=$(cut -d' ' -f1-3 /proc/loadavg)
echo "offload-throughput: $LIGHTNING x $FILE_MIB MiB files + checkpoint-500/ ($((HF_MODEL_MIB + HF_OPTIMIZER_MIB)) MiB): $total bytes; concurrency $CONCURRENCY; $ROUNDS rounds" >&2

# --- SFTP vs scp ----------------------------------------------------------------------------------
declare -a t_scp t_size t_sha
for ((r = 1; r <= ROUNDS; r++)); do
  rm -rf -- "$remote"; mkdir -p "$remote/scp"
  t0=$(now_s)
  (cd "$data" && scp -q -r "${ssh_opts[@]}" "${names[@]}" "$user@127.0.0.1:$remote/scp/")
  t_scp+=("$(awk -v a="$t0" -v b="$(now_s)" 'BEGIN {print b - a}')")
  for verify in size sha256; do
    line=$(bench_java sftp "sftp://$user@127.0.0.1:$port$remote/offload-$verify" "$ssh_dir/id_client" \
      "$ssh_dir/known_hosts" "$verify" "$CONCURRENCY" "$data" "${names[@]}")
    [[ $line == offload* ]] || { echo "offload-throughput: unexpected output: $line" >&2; exit 3; }
    if [[ $verify == size ]]; then t_size+=("$(cut -d' ' -f2 <<<"$line")"); else t_sha+=("$(cut -d' ' -f2 <<<"$line")"); fi
  done
  echo "  sftp round $r: scp ${t_scp[-1]}s, offload(size) ${t_size[-1]}s, offload(sha256) ${t_sha[-1]}s" >&2
done
cmp -s "$data/checkpoint-500/optimizer.pt" "$remote/offload-size/bench/run/checkpoint-500/optimizer.pt" \
  || { echo "offload-throughput: the offloaded copy differs from the source" >&2; exit 3; }
rm -rf -- "$remote"

# --- S3 vs SDK / aws s3 cp ------------------------------------------------------------------------
s3_out=$work/s3.txt
bench_java s3 "$work/s3store" "$ROUNDS" "$CONCURRENCY" "$data" "${names[@]}" | tee "$s3_out" | sed 's/^/  s3 /' >&2
rm -rf -- "$work/s3store"
load_after=$(cut -d' ' -f1-3 /proc/loadavg)

# --- report ---------------------------------------------------------------------------------------
verdict() { awk -v r="$1" 'BEGIN {print (r >= 0.9) ? "PASS" : "MISS"}'; }
row() { # name seconds baseline_seconds
  local ratio; ratio=$(awk -v a="$2" -v b="$3" 'BEGIN {printf "%.2f", b / a}')
  printf '  %-28s %8.2f s %9s MiB/s   %5sx   %s\n' "$1" "$2" "$(mib_s "$total" "$2")" "$ratio" "${4:-}"
}
s_scp=$(printf '%s\n' "${t_scp[@]}" | best)
s_size=$(printf '%s\n' "${t_size[@]}" | best)
s_sha=$(printf '%s\n' "${t_sha[@]}" | best)
s3_best() { awk -v w="$1" '$1 == w {print $3}' "$s_out_file" | best; }
s_out_file=$s3_out
b_sdk=$(s3_best sdk-put); b_s3size=$(s3_best offload-size); b_s3sha=$(s3_best offload-sha256); b_aws=$(s3_best aws-s3-cp)
b_mpu=$(s3_best sdk-multipart)

echo "offload-throughput: $total bytes per copy, best of $ROUNDS rounds; load average before/after: $load_before / $load_after"
echo "  measurement                   seconds        rate   vs plain  goal >= 0.9x"
row "scp (OpenSSH)" "$s_scp" "$s_scp"
row "offload sftp, verify size" "$s_size" "$s_scp" "$(verdict "$(awk -v a="$s_size" -v b="$s_scp" 'BEGIN {print b / a}')")"
row "offload sftp, verify sha256" "$s_sha" "$s_scp" "(reads everything back)"
row "S3 SDK v2 PutObject" "$b_sdk" "$b_sdk"
row "offload s3, verify size" "$b_s3size" "$b_sdk" "$(verdict "$(awk -v a="$b_s3size" -v b="$b_sdk" 'BEGIN {print b / a}')")"
row "offload s3, verify sha256" "$b_s3sha" "$b_sdk" "(reads everything back)"
row "S3 SDK v2 multipart, 8 MiB" "$b_mpu" "$b_mpu" "(parts in sequence)"
row "offload s3 vs SDK multipart" "$b_s3size" "$b_mpu" "$(verdict "$(awk -v a="$b_s3size" -v b="$b_mpu" 'BEGIN {print b / a}')")"
if [[ -n $b_aws ]]; then
  row "aws s3 cp --recursive" "$b_aws" "$b_aws"
  row "offload s3 vs aws s3 cp" "$b_s3size" "$b_aws" "$(verdict "$(awk -v a="$b_s3size" -v b="$b_aws" 'BEGIN {print b / a}')")"
fi
