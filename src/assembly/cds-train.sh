#!/usr/bin/env bash
# Dumps ckpt-warden's class-data archive (AppCDS) from a training run of the agent: the build
# (pom.xml, "class-data archive") and install.sh both call it.
#
#   cds-train.sh LAUNCHER ARCHIVE WORKDIR
#
# The training run is the agent itself (`run`) on the demo tree, up to its first /healthz 200 and one
# /metrics scrape, then a clean stop (SIGTERM); then a `scan` of that tree. Both list the classes they
# load (-XX:DumpLoadedClassList); with the JDK's own list (lib/classlist, what its default archive holds)
# they make one static archive (-Xshare:dump through the launcher: its java, its class path), which the
# launcher maps instead of the JDK's default archive. A scan alone, as trained before, left out what only
# the agent loads (Logback's configurator, Micrometer, Quartz, the HTTP server: ~1,900 classes). A dynamic
# archive (-XX:ArchiveClassesAtExit), as dumped before, cannot hold picocli's classes (class file version
# 49: "Old class has been linked") nor the JDK's pre-generated method-handle forms: every start parsed and
# verified ~170 picocli classes from its jar. Measured with bench/idle-agent.sh and bench/start-ready.sh
# (bench/README.md, "JVM flags").
# Exit status 0 with ARCHIVE written, 1 otherwise (the caller decides whether that is fatal).
set -euo pipefail

launcher=$1 archive=$2 work=$3
# Dumped aside and renamed into place: a JVM crashes on a cut-short archive that matches its class path,
# so a build or install killed while the JVM writes it must not leave one where every start maps it.
part="$(dirname -- "$archive")/.$(basename -- "$archive").part"
list=$work/classes.list
rm -rf -- "$work/tree" "$work/state" "$archive" "$part" "$list" "$list".*
mkdir -p -- "$work"
"$launcher" demo --dir "$work/tree" > "$work/demo.out" 2>&1
cat > "$work/agent.yaml" <<EOF
# written by cds-train.sh: the training run for the class-data archive
agent:
  state_dir: $work/state
  settle_time: 10s
  listen: 127.0.0.1:0
roots:
  - path: $work/tree
    layout: auto
EOF
log=$work/agent.out
: > "$log"   # there before the agent opens it: the sed below, under set -e, must find it
# Not systemd's agent, even when the installer runs under a unit: no READY=1 or watchdog for it.
unset NOTIFY_SOCKET WATCHDOG_USEC WATCHDOG_PID
CKPT_WARDEN_JAVA_OPTS="-XX:DumpLoadedClassList=$list.agent -Xshare:off" \
  "$launcher" run --config "$work/agent.yaml" > "$log" 2>&1 &
pid=$!
stop() { kill -TERM "$pid" 2> /dev/null || true; wait "$pid" 2> /dev/null || true; }
trap stop EXIT
# HTTP/1.0 GET through bash's /dev/tcp (no curl on every host); prints the status code.
get() {
  local code
  exec 3<> "/dev/tcp/127.0.0.1/$1" || return 1
  printf 'GET %s HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n' "$2" >&3
  read -r _ code _ <&3 || true
  cat <&3 > /dev/null || true
  exec 3<&-
  echo "${code:-0}"
}
port=
for ((i = 0; i < 6000; i++)); do # 10 minutes: a build on a loaded machine starts slowly
  kill -0 "$pid" 2> /dev/null || { echo "cds-train.sh: the training agent exited: $(tail -n 3 "$log")" >&2; exit 1; }
  [[ -n $port ]] || port=$(sed -n 's/.*serving .* on 127\.0\.0\.1:\([0-9]*\)$/\1/p' "$log")
  if [[ -n $port ]] && [[ $(get "$port" /healthz) == 200 ]]; then
    get "$port" /metrics > /dev/null
    # The JDK the launcher runs, for its class list.
    jdk_list=$(readlink -f -- "/proc/$pid/exe" || true)
    jdk_list=${jdk_list%/bin/*}/lib/classlist
    trap - EXIT
    stop
    [[ -s $list.agent ]] || { echo "cds-train.sh: the training agent listed no classes in $list.agent" >&2; exit 1; }
    CKPT_WARDEN_JAVA_OPTS="-XX:DumpLoadedClassList=$list.scan -Xshare:off" \
      "$launcher" scan --config "$work/agent.yaml" > "$work/scan.out" 2>&1 \
      || { echo "cds-train.sh: the training scan failed: $(tail -n 3 "$work/scan.out")" >&2; exit 1; }
    [[ -r $jdk_list ]] || jdk_list=
    awk '!seen[$0]++' ${jdk_list:+"$jdk_list"} "$list.agent" "$list.scan" > "$list"
    if ! CKPT_WARDEN_JAVA_OPTS="-Xshare:dump -XX:SharedClassListFile=$list -XX:SharedArchiveFile=$part -Xlog:cds=off" \
        "$launcher" > "$work/dump.out" 2>&1 || [[ ! -s $part ]]; then
      echo "cds-train.sh: the JVM wrote no archive at $part: $(tail -n 3 "$work/dump.out")" >&2
      rm -f -- "$part"
      exit 1
    fi
    mv -f -- "$part" "$archive"
    exit 0
  fi
  sleep 0.1
done
echo "cds-train.sh: the training agent did not answer /healthz 200 within 10 minutes: $(tail -n 3 "$log")" >&2
exit 1
