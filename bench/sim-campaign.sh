#!/usr/bin/env bash
# sim-campaign: the long in-process simulation campaign (issue 16). New seeds for MINUTES minutes, every
# kind of violation reported with its first seed, its shrunk schedule and the one line that replays it;
# then the figures: schedules explored, steps, faults injected by kind (and those that could not take
# effect here, with why).
#
#   bench/sim-campaign.sh [MINUTES]            # default 10
#
# Then cluster mode for CLUSTER_MINUTES more (two agents, one real PostgreSQL, A's connections cut mid-pass, a
# lease holder paused past its lease; fewer schedules a minute: a database each).
#
# Environment:
#   FIRST=<seed>     first seed (default: 1000 + the current epoch hour, so each run walks new seeds;
#                    the default test run covers seeds 1..16)
#   SHRINK=300       replays allowed to shrink each failing schedule
#   CLUSTER_MINUTES  minutes of cluster-mode schedules after those (default MINUTES/4; 0: the test run's 2 seeds)
#   CLOCK_BACK=true  the clock may jump backwards (also the default of the test run; false turns it off)
#   DROP_DAC=1       run the JVM as root without CAP_DAC_OVERRIDE/CAP_DAC_READ_SEARCH (setpriv), so that
#                    the "unreadable directory" fault (chmod 000) binds; mount still works (CAP_SYS_ADMIN
#                    kept) for the ENOSPC faults. DROP_DAC=0 keeps the capabilities.
# Runs offline (mvn -o) on the checkout it lives in; compile first if sources changed.
set -euo pipefail
cd "$(dirname "$0")/.."
MINUTES=${1:-10}
FIRST=${FIRST:-$((1000 + $(date +%s) / 3600))}
SHRINK=${SHRINK:-300}
DROP_DAC=${DROP_DAC:-1}
CLOCK_BACK=${CLOCK_BACK:-true}
CLUSTER_MINUTES=${CLUSTER_MINUTES:-$(awk "BEGIN { print $MINUTES / 4 }")}

wrap=()
if [[ $DROP_DAC == 1 && $(id -u) == 0 ]] && command -v setpriv > /dev/null; then
  wrap=(setpriv --bounding-set -dac_override,-dac_read_search --inh-caps -dac_override,-dac_read_search)
fi
log=$(mktemp -t sim-campaign.XXXXXX.log)
echo "sim-campaign: $MINUTES min (then $CLUSTER_MINUTES min in cluster mode) from seed $FIRST${wrap:+ (without CAP_DAC_OVERRIDE)}; full log $log" >&2
set +e
"${wrap[@]}" mvn -o -B -Dtest=SimulationCampaignTest -Dsurefire.failIfNoSpecifiedTests=false \
  -Dsim.minutes="$MINUTES" -Dsim.first="$FIRST" -Dsim.shrink="$SHRINK" -Dsim.clockBack="$CLOCK_BACK" \
  -Dsim.cluster.minutes="$CLUSTER_MINUTES" -Dsim.cluster.first="$FIRST" test > "$log" 2>&1
rc=$?
set -e
# The figures, then each violation (first seed, shrunk schedule, replay line).
sed -n '/^simulation campaign/,/^end of simulation campaign/p' "$log"
grep -q '^simulation campaign' "$log" || tail -40 "$log"
exit $rc
