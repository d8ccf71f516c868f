#!/usr/bin/env bash
# mutation: PIT on one package (issue 16), bounded in time; not part of the test run.
#
#   bench/mutation.sh policy|enforce [MINUTES]     # default 60; the run is killed after MINUTES
#
# Environment:
#   CLASSES='dev.ckptwarden.enforce.Protection*,...'  mutate only these (PIT globs, comma-separated)
#   TESTS='dev.ckptwarden.enforce.*'                  run only these test classes (default: the package's)
#   THREADS=2                                         minion threads (the machine is shared: 1 or 2)
# The test classes the pom's profile excludes (real processes, mounts) never run. Report:
# target/pit-reports/index.html (and mutations.csv); the last lines printed are PIT's figures.
# Runs offline (mvn -o) on the checkout it lives in.
set -euo pipefail
cd "$(dirname "$0")/.."
PKG=${1:?usage: bench/mutation.sh policy|enforce [MINUTES]}
MINUTES=${2:-60}
CLASSES=${CLASSES:-dev.ckptwarden.$PKG.*}
TESTS=${TESTS:-dev.ckptwarden.$PKG.*}
THREADS=${THREADS:-2}
log=$(mktemp -t mutation.XXXXXX.log)
start=$(date +%s)
status=0
timeout --kill-after=30s "${MINUTES}m" mvn -o -B -P mutation test-compile org.pitest:pitest-maven:mutationCoverage \
  -Dpit.classes="$CLASSES" -Dpit.tests="$TESTS" -Dpit.threads="$THREADS" > "$log" 2>&1 || status=$?
echo "mutation $PKG: $(( ($(date +%s) - start) / 60 )) min, exit $status, log $log"
if [[ $status == 124 ]]; then
  echo "stopped after $MINUTES min: no report (narrow CLASSES, or give more minutes)"
fi
grep -a -E '>> (Generated|Line Coverage|Ran|Mutations with no coverage|Test strength)' "$log" || true
exit "$status"
