#!/usr/bin/env bash
# Installs ckpt-warden from an unpacked release tarball (run it from anywhere; it installs the tree
# it sits in). Running it again, or with a newer tarball, upgrades in place; a configuration that
# exists is never overwritten.
#
#   install.sh [--prefix /opt/ckpt-warden] [--etc /etc/ckpt-warden] [--systemd-dir /etc/systemd/system]
#              [--no-systemd] [--root DIR]
#
# --root DIR installs below DIR (like DESTDIR: paths inside the files stay /opt/..., /etc/...) and
# runs nothing on the host. systemd-sysusers, systemd-tmpfiles and daemon-reload run only when
# installing to / on a host where systemd is running.
set -euo pipefail

prog=install.sh
prefix=/opt/ckpt-warden
etc=/etc/ckpt-warden
unit_dir=/etc/systemd/system
with_systemd=1
root=

die() { echo "$prog: $*" >&2; exit 2; }
synopsis="Usage: $prog [--prefix DIR] [--etc DIR] [--systemd-dir DIR] [--no-systemd] [--root DIR]"
help() {
  cat <<EOF
$synopsis
Installs the ckpt-warden release this script sits in (an unpacked tarball); running it again, or
from a newer tarball, upgrades in place. An existing configuration is never overwritten.

  --prefix DIR       program files (bin/, lib/, uninstall.sh); ckpt-warden's own directory,
                     replaced whole on upgrade. Default: /opt/ckpt-warden
  --etc DIR          configuration directory; ckpt-warden.yaml is installed only where none
                     exists. Default: /etc/ckpt-warden
  --systemd-dir DIR  where the unit ckpt-warden.service goes. Default: /etc/systemd/system
  --no-systemd       install no unit, sysusers.d or tmpfiles.d files and run no systemd tool
  --root DIR         staging root, like DESTDIR: files go below DIR, but the paths written
                     into them stay /opt/..., /etc/...; nothing is run on this host (no
                     systemd-sysusers, systemd-tmpfiles or daemon-reload). For images and packages.
  -h, --help         show this help and exit

Without --root, on a host where systemd runs, it creates the ckpt-warden user and
/var/lib/ckpt-warden and reloads systemd; then 'systemctl enable --now ckpt-warden'.

Example:
  sudo ./install.sh
  ./install.sh --root /tmp/image --prefix /srv/ckpt-warden
EOF
  exit 0
}
usage() {
  echo "$synopsis" >&2
  echo "Try '$prog --help'." >&2
  exit 2
}
absolute() { [[ "$2" == /* ]] || die "$1 must be an absolute path, got '$2'"; }

while (($#)); do
  case "$1" in
    --prefix) (($# > 1)) || usage; prefix=$2; shift 2 ;;
    --etc) (($# > 1)) || usage; etc=$2; shift 2 ;;
    --systemd-dir) (($# > 1)) || usage; unit_dir=$2; shift 2 ;;
    --no-systemd) with_systemd=0; shift ;;
    --root) (($# > 1)) || usage; root=$2; shift 2 ;;
    -h|--help) help ;;
    *) echo "$prog: unknown argument '$1'" >&2; usage ;;
  esac
done
absolute --prefix "$prefix"; absolute --etc "$etc"; absolute --systemd-dir "$unit_dir"
prefix=${prefix%/}; etc=${etc%/}; unit_dir=${unit_dir%/}
[[ -n "$prefix" && -n "$etc" ]] || die "--prefix and --etc must not be /"
if [[ -n "$root" ]]; then
  [[ -d "$root" ]] || die "--root $root: not a directory"
  root=$(cd -- "$root" && pwd)
  [[ "$root" == / ]] && root=
fi

src=$(cd -- "$(dirname -- "$(readlink -f -- "${BASH_SOURCE[0]}")")" && pwd)
jar=$(compgen -G "$src/lib/ckpt-warden-*.jar" | head -n 1 || true)
[[ -x "$src/bin/ckpt-warden" && -n "$jar" ]] \
  || die "$src is not an unpacked release (bin/ckpt-warden and lib/ckpt-warden-*.jar missing); build one with 'mvn package' and unpack target/ckpt-warden-*.tar.gz"
version=$(basename -- "$jar" .jar); version=${version#ckpt-warden-}

dest=$root$prefix
[[ "$src" == "$dest" ]] && die "$src is the install target itself: unpack the tarball elsewhere (e.g. /tmp) and run its install.sh"
marker=.ckpt-warden-install   # in the prefix: what was installed where, for upgrades and uninstall.sh
# The prefix is replaced wholesale on upgrade (old jars must not stay on the class path), so it must
# be ckpt-warden's own directory, never a shared one such as /usr/local.
if [[ -d "$dest" && ! -f "$dest/$marker" ]] && [[ -n "$(ls -A -- "$dest")" ]]; then
  die "$dest exists, is not empty and was not installed by ckpt-warden; choose an empty --prefix such as /opt/ckpt-warden"
fi

systemd_live=0
if ((with_systemd)) && [[ -z "$root" && -d /run/systemd/system ]]; then systemd_live=1; fi

# 1. Program files: staged beside the prefix, then swapped in, so a failed copy leaves the old install.
mkdir -p -- "$(dirname -- "$dest")"
stage=$(mktemp -d "$dest.new.XXXXXX")
trap 'rm -rf -- "$stage"' EXIT
cp -R -- "$src/bin" "$src/lib" "$stage/"
mkdir -p "$stage/conf"
cp -- "$src/conf/logback.xml" "$src/conf/logback-json.xml" "$stage/conf/"
cp -R -- "$src/systemd" "$stage/"
[[ -d "$src/grafana" ]] && cp -R -- "$src/grafana" "$stage/"
cp -- "$src/README.md" "$src/uninstall.sh" "$stage/"
cat > "$stage/$marker" <<EOF
version=$version
prefix=$prefix
etc=$etc
unit_dir=$unit_dir
systemd=$with_systemd
EOF
chmod -R u=rwX,go=rX "$stage"
chmod 0755 "$stage/bin/ckpt-warden" "$stage/uninstall.sh"
if [[ -e "$dest" ]]; then
  old="$dest.old.$$"
  mv -- "$dest" "$old"
  mv -- "$stage" "$dest"
  rm -rf -- "$old"
  echo "upgraded $dest to $version"
else
  mv -- "$stage" "$dest"
  echo "installed $version in $dest"
fi
trap - EXIT

# 1b. The class-data archive (AppCDS) for this JVM and these jars, at their installed paths: the tarball
# cannot ship one (an archive is valid only for the exact class path and JVM build that dumped it). The
# launcher maps lib/ckpt-warden.jsa when it is there; a JVM that cannot use it (a JDK upgraded since:
# re-run install.sh) ignores it silently. Training run: the agent's own start on the demo tree, up to
# /healthz 200 and a /metrics scrape, as in the build (cds-train.sh, which also dumps it aside and renames
# it into place: a JVM crashes on a cut-short archive that matches its class path, so an install killed
# while the JVM writes it must not leave one where every start maps it). A scan, as trained before, left
# out ~1,900 classes that only the agent loads (bench/README.md, "JVM flags").
cds=$(mktemp -d)
if bash "$src/cds-train.sh" "$dest/bin/ckpt-warden" "$dest/lib/ckpt-warden.jsa" "$cds/train" 2> "$cds/err"; then
  chmod 0644 "$dest/lib/ckpt-warden.jsa"
  echo "dumped the class-data archive $prefix/lib/ckpt-warden.jsa (faster starts)"
else
  rm -f -- "$dest/lib/ckpt-warden.jsa" "$dest/lib/.ckpt-warden.jsa.part"
  echo "no class-data archive (this JVM could not dump one: $(head -n 1 "$cds/err")): starts take longer, nothing else changes"
fi
rm -rf -- "$cds"

# 2. The service user and state directory (before the configuration, which is group-readable by it).
if ((with_systemd)); then
  install -D -m 0644 "$src/systemd/ckpt-warden.sysusers" "$root/etc/sysusers.d/ckpt-warden.conf"
  install -D -m 0644 "$src/systemd/ckpt-warden.tmpfiles" "$root/etc/tmpfiles.d/ckpt-warden.conf"
  if ((systemd_live)); then
    systemd-sysusers ckpt-warden.conf
    systemd-tmpfiles --create ckpt-warden.conf
  fi
fi

# 3. Configuration: installed only where none exists; a user's file is never touched.
mkdir -p -- "$root$etc"
conf="$root$etc/ckpt-warden.yaml"
if [[ ! -e "$conf" ]]; then
  if [[ -z "$root" ]] && getent group ckpt-warden >/dev/null 2>&1; then
    # 0640: registry_url may carry a database password.
    install -m 0640 -g ckpt-warden "$src/conf/ckpt-warden.yaml" "$conf"
  else
    install -m 0644 "$src/conf/ckpt-warden.yaml" "$conf"
  fi
  echo "installed the example configuration $etc/ckpt-warden.yaml: add your checkpoint roots"
elif cmp -s -- "$src/conf/ckpt-warden.yaml" "$conf"; then
  echo "kept $etc/ckpt-warden.yaml (same as this release's example)"
else
  install -m 0644 "$src/conf/ckpt-warden.yaml" "$conf.new"
  echo "kept your $etc/ckpt-warden.yaml; this release's example is beside it as ckpt-warden.yaml.new"
fi

# 4. The unit, with the paths this install uses.
if ((with_systemd)); then
  mkdir -p -- "$root$unit_dir"
  sed -e "s#/opt/ckpt-warden#$prefix#g" -e "s#/etc/ckpt-warden#$etc#g" \
    "$src/systemd/ckpt-warden.service" > "$root$unit_dir/ckpt-warden.service.tmp"
  chmod 0644 "$root$unit_dir/ckpt-warden.service.tmp"
  mv -- "$root$unit_dir/ckpt-warden.service.tmp" "$root$unit_dir/ckpt-warden.service"
  echo "installed $unit_dir/ckpt-warden.service"
  if ((systemd_live)); then
    systemctl daemon-reload
    if systemctl is-active --quiet ckpt-warden; then
      echo "ckpt-warden is running the previous version: 'systemctl restart ckpt-warden' to switch"
    else
      echo "next: check the roots in $etc/ckpt-warden.yaml, give user ckpt-warden access to them, then"
      echo "  systemctl enable --now ckpt-warden"
    fi
  elif [[ -z "$root" ]]; then
    echo "systemd is not running here: on the target, run systemd-sysusers, systemd-tmpfiles --create"
    echo "  and systemctl daemon-reload, then systemctl enable --now ckpt-warden"
  fi
fi
