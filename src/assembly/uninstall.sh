#!/usr/bin/env bash
# Removes what install.sh installed: the program files, the unit, the sysusers.d and tmpfiles.d
# entries. Keeps the configuration (/etc/ckpt-warden, unit drop-ins) and the state
# (/var/lib/ckpt-warden: registry and audit log) unless --purge. Install.sh copies this script into
# the prefix, so `/opt/ckpt-warden/uninstall.sh` works without the tarball.
#
#   uninstall.sh [--purge] [--prefix /opt/ckpt-warden] [--etc DIR] [--systemd-dir DIR] [--root DIR]
#
# --etc and --systemd-dir default to what the install recorded in <prefix>/.ckpt-warden-install.
set -euo pipefail

prog=uninstall.sh
prefix=/opt/ckpt-warden
etc=
unit_dir=
purge=0
root=
state=/var/lib/ckpt-warden   # the unit's StateDirectory=

die() { echo "$prog: $*" >&2; exit 2; }
synopsis="Usage: $prog [--purge] [--prefix DIR] [--etc DIR] [--systemd-dir DIR] [--root DIR]"
help() {
  cat <<EOF
$synopsis
Removes what install.sh installed: program files, the unit, the sysusers.d and tmpfiles.d entries.
Keeps the configuration and the state (/var/lib/ckpt-warden: registry and audit log) unless --purge.

  --purge            also remove the configuration directory and /var/lib/ckpt-warden
  --prefix DIR       where the program was installed. Default: /opt/ckpt-warden
  --etc DIR          configuration directory. Default: what the install recorded in the prefix
  --systemd-dir DIR  directory of the unit. Default: what the install recorded in the prefix
  --root DIR         staging root, like DESTDIR: remove below DIR; nothing is run on this host
  -h, --help         show this help and exit

Example:
  sudo /opt/ckpt-warden/uninstall.sh
EOF
  exit 0
}
usage() {
  echo "$synopsis" >&2
  echo "Try '$prog --help'." >&2
  exit 2
}

while (($#)); do
  case "$1" in
    --purge) purge=1; shift ;;
    --prefix) (($# > 1)) || usage; prefix=$2; shift 2 ;;
    --etc) (($# > 1)) || usage; etc=$2; shift 2 ;;
    --systemd-dir) (($# > 1)) || usage; unit_dir=$2; shift 2 ;;
    --root) (($# > 1)) || usage; root=$2; shift 2 ;;
    -h|--help) help ;;
    *) echo "$prog: unknown argument '$1'" >&2; usage ;;
  esac
done
[[ "$prefix" == /?* ]] || die "--prefix must be an absolute path other than /, got '$prefix'"
prefix=${prefix%/}
if [[ -n "$root" ]]; then
  [[ -d "$root" ]] || die "--root $root: not a directory"
  root=$(cd -- "$root" && pwd)
  [[ "$root" == / ]] && root=
fi

dest=$root$prefix
marker="$dest/.ckpt-warden-install"
recorded() { if [[ -f "$marker" ]]; then sed -n "s/^$1=//p" "$marker" | head -n 1; fi; }
if [[ -d "$dest" && ! -f "$marker" ]]; then
  die "$dest was not installed by ckpt-warden's install.sh (no .ckpt-warden-install): not removing it"
fi
etc=${etc:-$(recorded etc)}; etc=${etc:-/etc/ckpt-warden}
unit_dir=${unit_dir:-$(recorded unit_dir)}; unit_dir=${unit_dir:-/etc/systemd/system}
[[ "$etc" == /?* && "$unit_dir" == /?* ]] || die "--etc and --systemd-dir must be absolute paths other than /"
etc=${etc%/}; unit_dir=${unit_dir%/}

systemd_live=0
if [[ -z "$root" && -d /run/systemd/system ]]; then systemd_live=1; fi

unit="$root$unit_dir/ckpt-warden.service"
if ((systemd_live)) && [[ -e "$unit" ]]; then
  systemctl disable --now ckpt-warden.service || echo "$prog: could not stop ckpt-warden.service; removing it anyway" >&2
fi
removed=()
for f in "$unit" "$root/etc/sysusers.d/ckpt-warden.conf" "$root/etc/tmpfiles.d/ckpt-warden.conf"; do
  if [[ -e "$f" ]]; then rm -f -- "$f"; removed+=("${f#"$root"}"); fi
done
if [[ -d "$dest" ]]; then rm -rf -- "$dest"; removed+=("$prefix"); fi

kept=()
for d in "$etc" "$unit_dir/ckpt-warden.service.d" "$state"; do
  [[ -e "$root$d" ]] || continue
  if ((purge)); then rm -rf -- "$root$d"; removed+=("$d"); else kept+=("$d"); fi
done
if ((systemd_live)); then systemctl daemon-reload; fi

if ((${#removed[@]})); then printf 'removed %s\n' "${removed[@]}"; else echo "nothing installed at $prefix"; fi
if ((${#kept[@]})); then
  printf 'kept %s\n' "${kept[@]}"
  echo "(configuration and registry stay for a reinstall; 'uninstall.sh --purge' removes them)"
fi
if ((purge)) && getent passwd ckpt-warden >/dev/null 2>&1 && [[ -z "$root" ]]; then
  echo "kept the system user ckpt-warden (files it created in checkpoint roots stay owned by it); 'userdel ckpt-warden' removes it"
fi
