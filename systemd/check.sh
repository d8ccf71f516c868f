#!/usr/bin/env bash
# Checks the release the way an operator uses it: unpacks target/ckpt-warden-<version>.tar.gz (built
# by `mvn package`; this script builds nothing), installs it into a temporary root with install.sh,
# runs the installed launcher, re-installs over an edited configuration, uninstalls, and verifies the
# unit with systemd-analyze. Exits non-zero on the first failure, naming it.
set -euo pipefail
cd "$(dirname -- "$0")/.."

fail() { echo "systemd/check.sh: FAILED: $*" >&2; exit 1; }
ok() { echo "systemd/check.sh: ok: $*"; }

# The newest tarball: after a version bump without `mvn clean`, target/ holds the old one too.
# shellcheck disable=SC2012  # our own file names: no spaces or newlines
tarball=$(ls -t target/ckpt-warden-*.tar.gz 2>/dev/null | head -n 1 || true)
[[ -n "$tarball" ]] || fail "no target/ckpt-warden-*.tar.gz: run 'mvn package' first"
version=${tarball#target/ckpt-warden-}; version=${version%.tar.gz}

tmp=$(mktemp -d)
trap 'rm -rf -- "$tmp"' EXIT

# 1. The tarball holds the installed layout the launcher expects.
mkdir "$tmp/unpacked"
tar xzf "$tarball" -C "$tmp/unpacked"
pkg=$tmp/unpacked/ckpt-warden-$version
for f in bin/ckpt-warden "lib/ckpt-warden-$version.jar" conf/ckpt-warden.yaml conf/logback.xml \
    systemd/ckpt-warden.service systemd/ckpt-warden.sysusers systemd/ckpt-warden.tmpfiles \
    install.sh uninstall.sh README.md; do
  [[ -e "$pkg/$f" ]] || fail "$tarball lacks ckpt-warden-$version/$f"
done
for f in bin/ckpt-warden install.sh uninstall.sh; do [[ -x "$pkg/$f" ]] || fail "$f is not executable in the tarball"; done
ok "$tarball ($(du -k "$tarball" | cut -f1) KiB) has the installed layout"

# 2. Install into a temporary root.
root=$tmp/root
mkdir "$root"
"$pkg/install.sh" --root "$root" > "$tmp/install1.log" || { cat "$tmp/install1.log"; fail "install.sh --root exited $?"; }
prefix=$root/opt/ckpt-warden
conf=$root/etc/ckpt-warden/ckpt-warden.yaml
unit=$root/etc/systemd/system/ckpt-warden.service
for f in "$prefix/bin/ckpt-warden" "$prefix/lib/ckpt-warden-$version.jar" "$prefix/conf/logback.xml" \
    "$prefix/uninstall.sh" "$conf" "$unit" "$root/etc/sysusers.d/ckpt-warden.conf" "$root/etc/tmpfiles.d/ckpt-warden.conf"; do
  [[ -e "$f" ]] || fail "install.sh did not install ${f#"$root"}"
done
grep -qx 'ExecStart=/opt/ckpt-warden/bin/ckpt-warden run --config /etc/ckpt-warden/ckpt-warden.yaml' "$unit" \
  || fail "installed unit does not start /opt/ckpt-warden/bin/ckpt-warden with /etc/ckpt-warden/ckpt-warden.yaml"
ok "install.sh --root installed program, configuration, unit, sysusers.d and tmpfiles.d files"
# The class-data archive dumped for the installed paths, and mapped by the installed launcher.
[[ -s "$prefix/lib/ckpt-warden.jsa" ]] || fail "install.sh dumped no class-data archive ($prefix/lib/ckpt-warden.jsa)"
# The archive is static (it replaces the JDK's own), so "shared objects file" is ours alone; the agent's own
# classes must be among what it maps, or it was dumped for other paths.
loaded=$(CKPT_WARDEN_JAVA_OPTS=-Xlog:class+load=info "$prefix/bin/ckpt-warden" --version)
mapped=$(grep -c 'source: shared objects file' <<<"$loaded" || true)
ours=$(grep -E '\] (dev\.ckptwarden|picocli)\.[^ ]* source: shared objects file' <<<"$loaded" | grep -c . || true)
((mapped > 100 && ours > 10)) || fail "the installed launcher mapped $mapped classes ($ours of ckpt-warden and picocli) from lib/ckpt-warden.jsa"
ok "install.sh dumped lib/ckpt-warden.jsa; the installed launcher maps $mapped classes from it"

# The sysusers.d and tmpfiles.d entries produce the user and the state directory.
if command -v systemd-sysusers >/dev/null && command -v systemd-tmpfiles >/dev/null; then
  systemd-sysusers --root="$root" ckpt-warden.conf 2>/dev/null
  grep -q '^ckpt-warden:x:[0-9]*:[0-9]*:.*:/var/lib/ckpt-warden:' "$root/etc/passwd" || fail "sysusers.d entry created no ckpt-warden user"
  systemd-tmpfiles --root="$root" --create ckpt-warden.conf
  [[ "$(stat -c '%a %U' "$root/var/lib/ckpt-warden" 2>/dev/null)" == 750* ]] || fail "tmpfiles.d entry did not create /var/lib/ckpt-warden mode 0750"
  ok "systemd-sysusers and systemd-tmpfiles (--root) create the user and /var/lib/ckpt-warden"
else
  echo "systemd/check.sh: skipped: systemd-sysusers/systemd-tmpfiles absent; creating the state directory by hand"
  mkdir -p "$root/var/lib/ckpt-warden"
fi

# 3. The installed launcher runs, and the installed example configuration is valid.
out=$("$prefix/bin/ckpt-warden" --version) || fail "installed launcher: --version exited $?"
# The version, then the commit it was built from when the build had a git checkout.
[[ "$out" == "ckpt-warden $version" || "$out" =~ ^"ckpt-warden $version ("[0-9a-f]+")"$ ]] \
  || fail "installed launcher printed '$out', expected 'ckpt-warden $version [(commit)]'"
"$prefix/bin/ckpt-warden" check-config "$conf" > "$tmp/check-config.out" \
  || { cat "$tmp/check-config.out"; fail "the installed example configuration is invalid"; }
ok "installed launcher: '$out'; check-config accepts ${conf#"$root"}"

# The installed tree does real work (all jars on the class path, SQLite's native library loads):
# the example configuration with its root and state moved into the temporary root.
"$prefix/bin/ckpt-warden" demo --dir "$root/data/checkpoints" > /dev/null
sed "s#/data/checkpoints#$root/data/checkpoints#" "$conf" > "$tmp/smoke.yaml"
CKPT_WARDEN_STATE_DIR=$root/var/lib/ckpt-warden "$prefix/bin/ckpt-warden" scan --json --config "$tmp/smoke.yaml" > "$tmp/scan.json" \
  || fail "installed launcher: scan exited $?"
grep -q '"framework" : "huggingface"' "$tmp/scan.json" || fail "installed launcher: scan found no Hugging Face checkpoint in the demo tree"
[[ -s "$root/var/lib/ckpt-warden/registry.db" ]] || fail "scan left no registry.db in the state directory"
ok "installed launcher scans the demo tree into /var/lib/ckpt-warden/registry.db"

# 4. Installing again is fine: an edited configuration is kept, stale jars of an older release go.
echo "# edited by the operator" >> "$conf"
cp "$conf" "$tmp/edited.yaml"
touch "$prefix/lib/ckpt-warden-0.0.1.jar"
"$pkg/install.sh" --root "$root" > "$tmp/install2.log" || { cat "$tmp/install2.log"; fail "second install.sh exited $?"; }
cmp -s "$conf" "$tmp/edited.yaml" || fail "a second install.sh overwrote the operator's configuration"
cmp -s "$conf.new" "$pkg/conf/ckpt-warden.yaml" || fail "a second install.sh did not put the new example beside it as ckpt-warden.yaml.new"
grep -q 'ckpt-warden.yaml.new' "$tmp/install2.log" || fail "install.sh did not say where the new example went"
[[ ! -e "$prefix/lib/ckpt-warden-0.0.1.jar" ]] || fail "an upgrade left an old jar on the class path"
"$prefix/bin/ckpt-warden" --version > /dev/null || fail "launcher broken after the second install"
"$pkg/install.sh" --root "$root" > /dev/null || fail "third install.sh exited $?"
ok "install.sh is idempotent, keeps an edited configuration (new example as .new), replaces old jars"

# A prefix that is not ckpt-warden's own is refused, not replaced.
mkdir -p "$root/usr/local/bin" && touch "$root/usr/local/bin/someone-elses-tool"
if "$pkg/install.sh" --root "$root" --prefix /usr/local > "$tmp/refused.log" 2>&1; then
  fail "install.sh --prefix /usr/local replaced a directory it does not own"
fi
[[ -e "$root/usr/local/bin/someone-elses-tool" ]] || fail "install.sh --prefix /usr/local removed a file it does not own"
ok "install.sh refuses a non-empty prefix it did not create: $(head -n 1 "$tmp/refused.log")"

# Other locations end up in the unit; uninstall.sh finds them from what install.sh recorded.
alt=$tmp/alt
mkdir "$alt"
"$pkg/install.sh" --root "$alt" --prefix /srv/ckpt-warden --etc /srv/etc --systemd-dir /usr/lib/systemd/system > /dev/null
grep -qx 'ExecStart=/srv/ckpt-warden/bin/ckpt-warden run --config /srv/etc/ckpt-warden.yaml' "$alt/usr/lib/systemd/system/ckpt-warden.service" \
  || fail "--prefix/--etc were not carried into the unit's ExecStart"
"$alt/srv/ckpt-warden/uninstall.sh" --root "$alt" --prefix /srv/ckpt-warden > /dev/null
[[ ! -e "$alt/usr/lib/systemd/system/ckpt-warden.service" && ! -e "$alt/srv/ckpt-warden" ]] \
  || fail "uninstall.sh left the program or unit of a --prefix/--systemd-dir install"
[[ -e "$alt/srv/etc/ckpt-warden.yaml" ]] || fail "uninstall.sh removed the configuration of a --etc install"
ok "--prefix, --etc and --systemd-dir reach the unit; uninstall.sh removes that install"

# 5. systemd-analyze: the unit as installed, with ExecStart pointing into the temporary root
#    (verify requires the program to exist; the rest of the file is unchanged).
if command -v systemd-analyze >/dev/null; then
  mkdir "$tmp/verify"
  sed "s#/opt/ckpt-warden#$prefix#g" "$unit" > "$tmp/verify/ckpt-warden.service"
  # verify exits 0 on unknown or unparsable settings, only printing them: any output is a failure.
  if ! systemd-analyze verify "$tmp/verify/ckpt-warden.service" > "$tmp/verify.out" 2>&1 || [[ -s "$tmp/verify.out" ]]; then
    cat "$tmp/verify.out" >&2
    fail "systemd-analyze verify rejects the unit"
  fi
  ok "systemd-analyze verify: no complaints ($(systemd-analyze --version | head -n 1))"
  # The exposure score, from the file alone (--offline needs no running systemd); above 2.0 means
  # hardening was lost.
  if systemd-analyze security --offline=true "$tmp/verify/ckpt-warden.service" > "$tmp/security.out" 2>&1; then
    score=$(sed -n 's/.*Overall exposure level for ckpt-warden.service: \([0-9.]*\).*/\1/p' "$tmp/security.out")
    systemd-analyze security --offline=true --threshold=20 "$tmp/verify/ckpt-warden.service" > /dev/null 2>&1 \
      || fail "systemd-analyze security: exposure $score is above 2.0"
    ok "systemd-analyze security --offline: exposure $score"
  else
    echo "systemd/check.sh: skipped: this systemd-analyze cannot score a unit file offline (needs systemd 250+)"
  fi
else
  echo "systemd/check.sh: skipped: systemd-analyze is not installed; the unit was not verified"
fi

# 6. Uninstall keeps configuration and state; --purge removes them.
"$prefix/uninstall.sh" --root "$root" > "$tmp/uninstall.log" || { cat "$tmp/uninstall.log"; fail "uninstall.sh exited $?"; }
for f in "$prefix" "$unit" "$root/etc/sysusers.d/ckpt-warden.conf" "$root/etc/tmpfiles.d/ckpt-warden.conf"; do
  [[ ! -e "$f" ]] || fail "uninstall.sh left ${f#"$root"}"
done
cmp -s "$conf" "$tmp/edited.yaml" || fail "uninstall.sh did not keep the configuration"
[[ -s "$root/var/lib/ckpt-warden/registry.db" ]] || fail "uninstall.sh did not keep the registry in /var/lib/ckpt-warden"
"$pkg/uninstall.sh" --root "$root" > /dev/null || fail "uninstall.sh of nothing installed exited $?"
"$pkg/uninstall.sh" --root "$root" --purge > /dev/null || fail "uninstall.sh --purge exited $?"
[[ ! -e "$root/etc/ckpt-warden" && ! -e "$root/var/lib/ckpt-warden" ]] || fail "uninstall.sh --purge left configuration or state"
ok "uninstall.sh removes program and unit, keeps configuration and registry; --purge removes them"

echo "systemd/check.sh: all release checks passed for ckpt-warden $version"
