#!/bin/sh
# Installs (or upgrades to) the jjj-iiot edge gateway of this release folder. Run as root from the
# unpacked release; needs no network. Running it twice changes nothing the first run made.
#
#   sudo ./install.sh [--config FILE] [--env FILE] [--root DIR]
#
#   --config FILE  the site's gateway.yaml, installed as /etc/jjj-gateway/gateway.yaml unless one is
#                  there already (an upgrade never replaces the operator's config)
#   --env FILE     the values its ${NAME}s read, installed as /etc/jjj-gateway/gateway.env (0600),
#                  unless one is there already
#   --root DIR     install into DIR as if it were / (for tests and image builds): users and groups go
#                  into DIR/etc/passwd and DIR/etc/group, and systemctl is not called
#
# Layout: /opt/jjj-gateway/<version> with /opt/jjj-gateway/current pointing at it, /usr/local/bin/
# jjj-gateway, /etc/jjj-gateway/, /etc/systemd/system/jjj-gateway.service, and the state (boot counter,
# outbox, OPC UA PKI) in /var/lib/jjj-gateway, which an upgrade leaves alone.
set -eu

service_user=jjj-gateway
release=$(cd "$(dirname "$0")" && pwd)
root=""
config=""
env_file=""

say() { echo "install.sh: $*"; }
die() { echo "install.sh: $*" >&2; exit 1; }

while [ $# -gt 0 ]; do
  case "$1" in
    --root) root=${2:?--root needs a directory}; shift 2 ;;
    --config) config=${2:?--config needs a file}; shift 2 ;;
    --env) env_file=${2:?--env needs a file}; shift 2 ;;
    -h | --help) awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"; exit 0 ;;
    *) echo "install.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
  esac
done
for tool in useradd groupadd usermod; do
  command -v "$tool" > /dev/null || die "$tool is missing (Debian's passwd package)"
done
[ "$(id -u)" -eq 0 ] || die "run as root (it creates a system user and writes /opt, /etc and /var/lib)"
[ -z "$config" ] || [ -f "$config" ] || die "--config $config: no such file"
[ -z "$env_file" ] || [ -f "$env_file" ] || die "--env $env_file: no such file"
if [ -n "$root" ]; then
  [ -d "$root" ] || die "--root $root: no such directory"
  root=$(cd "$root" && pwd)
fi
[ -f "$release/VERSION" ] && [ -x "$release/node/bin/node" ] || die "$release is not an unpacked jjj-gateway release"
version=$(cat "$release/VERSION")

# Before anything changes: this box runs the release's Node.js and loads its native modules.
"$release/node/bin/node" "$release/check-runtime.mjs" || die "this release does not run on this machine ($(uname -m))"

# useradd and friends write into --root's /etc with --prefix.
in_root() {
  tool=$1
  shift
  if [ -n "$root" ]; then "$tool" --prefix "$root" "$@"; else "$tool" "$@"; fi
}
has_entry() { grep -q "^$1:" "$root/etc/$2"; }
field_of() { grep "^$1:" "$root/etc/$2" | cut -d: -f"$3"; }

mkdir -p "$root/etc"
touch "$root/etc/passwd" "$root/etc/group"
has_entry dialout group || in_root groupadd --system dialout
has_entry "$service_user" group || in_root groupadd --system "$service_user"
if ! has_entry "$service_user" passwd; then
  nologin=/usr/sbin/nologin
  [ -x "$nologin" ] || nologin=/sbin/nologin
  in_root useradd --system --gid "$service_user" --groups dialout --no-create-home \
    --home-dir /var/lib/jjj-gateway --shell "$nologin" --comment "jjj-iiot edge gateway" "$service_user"
fi
# An older install's user, or one made by hand, still gets the serial ports.
case ",$(field_of dialout group 4)," in
  *",$service_user,"*) ;;
  *) in_root usermod --append --groups dialout "$service_user" ;;
esac
uid=$(field_of "$service_user" passwd 3)
gid=$(field_of "$service_user" group 3)

# The release: copied beside the others, then `current` switched to it in one step.
opt="$root/opt/jjj-gateway"
mkdir -p "$opt"
rm -rf "$opt/.$version.new"
cp -R "$release" "$opt/.$version.new"
chown -R 0:0 "$opt/.$version.new"
if [ -d "$opt/$version" ]; then
  rm -rf "$opt/.$version.old"
  mv "$opt/$version" "$opt/.$version.old"
fi
mv "$opt/.$version.new" "$opt/$version"
rm -rf "$opt/.$version.old"
ln -sfn "$version" "$opt/.current.new"
mv -T "$opt/.current.new" "$opt/current"
mkdir -p "$root/usr/local/bin"
ln -sfn /opt/jjj-gateway/current/bin/jjj-gateway "$root/usr/local/bin/jjj-gateway"

# Configuration: the operator's files are never replaced; their modes are set on every run.
etc="$root/etc/jjj-gateway"
mkdir -p "$etc"
chown "0:$gid" "$etc"
chmod 750 "$etc"
cp "$release/gateway.yaml.example" "$release/gateway.env.example" "$etc/"
chmod 644 "$etc/gateway.yaml.example" "$etc/gateway.env.example"
if [ -n "$config" ]; then
  if [ -e "$etc/gateway.yaml" ]; then
    say "kept the existing $etc/gateway.yaml ($config not installed: edit the existing file)"
  else
    cp "$config" "$etc/gateway.yaml"
  fi
fi
if [ -e "$etc/gateway.yaml" ]; then
  chown "0:$gid" "$etc/gateway.yaml"
  chmod 640 "$etc/gateway.yaml"
fi
if [ -n "$env_file" ]; then
  if [ -e "$etc/gateway.env" ]; then
    say "kept the existing $etc/gateway.env ($env_file not installed: edit the existing file)"
  else
    cp "$env_file" "$etc/gateway.env"
  fi
fi
if [ -e "$etc/gateway.env" ]; then
  chown 0:0 "$etc/gateway.env"
  chmod 600 "$etc/gateway.env"
fi

# State: systemd makes StateDirectory= itself; made here too so its owner is right before the first start.
state="$root/var/lib/jjj-gateway"
mkdir -p "$state"
chown "$uid:$gid" "$state"
chmod 750 "$state"

mkdir -p "$root/etc/systemd/system"
cp "$release/jjj-gateway.service" "$root/etc/systemd/system/jjj-gateway.service"
chmod 644 "$root/etc/systemd/system/jjj-gateway.service"

say "jjj-gateway $version installed in /opt/jjj-gateway/$version, /opt/jjj-gateway/current points at it"
if [ -n "$root" ]; then
  say "scratch root $root: systemctl not called"
  exit 0
fi
systemctl daemon-reload
if [ -e "$etc/gateway.yaml" ]; then
  systemctl enable jjj-gateway.service
  # A restart starts a stopped gateway and moves a running one to the new version.
  systemctl restart jjj-gateway.service
  say "jjj-gateway.service (re)started: journalctl -u jjj-gateway -f"
else
  say "next: write $etc/gateway.yaml (see gateway.yaml.example there) and gateway.env, then"
  say "  systemctl enable --now jjj-gateway.service"
fi
