#!/usr/bin/env bash
# Makes sure the real peers the tests run against are on this machine, then starts each once.
# Missing pieces are installed with apt-get when running as root; otherwise the exact command is
# printed and nothing runs. A peer that is installed but cannot start fails here, by name, instead
# of later inside a test. Run by `npm test` before anything else.
set -euo pipefail

PYTHON=/usr/bin/python3 # the python3 on PATH may be a build that cannot see apt packages
packages=()
[ -x /usr/sbin/mosquitto ] || packages+=(mosquitto)
[ -x /usr/bin/influxd ] || packages+=(influxdb)
[ -x /usr/bin/victoria-metrics ] || packages+=(victoria-metrics)
command -v socat >/dev/null || packages+=(socat)
# The console's browser tests drive Debian's chromium with playwright-core (no browser download).
[ -x /usr/bin/chromium ] || packages+=(chromium)
# A CJK font, so the Chinese view's screenshots show characters (a plant's operator PC has one).
[ -f /usr/share/fonts/truetype/wqy/wqy-microhei.ttc ] || packages+=(fonts-wqy-microhei)
# The edge-install test checks the systemd unit with systemd-analyze and strips the bundled node.
[ -x /usr/bin/systemd-analyze ] || packages+=(systemd)
command -v strip >/dev/null || packages+=(binutils)
command -v unshare >/dev/null || packages+=(util-linux)
# pymodbus' server imports serial and serial_asyncio, which apt only *recommends*.
"$PYTHON" -c 'import pymodbus' 2>/dev/null || packages+=(python3-pymodbus)
"$PYTHON" -c 'import serial' 2>/dev/null || packages+=(python3-serial)
"$PYTHON" -c 'import serial_asyncio' 2>/dev/null || packages+=(python3-serial-asyncio)

if [ ${#packages[@]} -gt 0 ]; then
  install=(apt-get install -y -qq --no-install-recommends "${packages[@]}")
  if [ "$(id -u)" -ne 0 ]; then
    echo "test peers missing: ${packages[*]}" >&2
    echo "install them, then run the tests again:" >&2
    echo "  sudo apt-get update && sudo ${install[*]}" >&2
    exit 1
  fi
  echo "test peers: installing ${packages[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  "${install[@]}" >/dev/null
fi

dir=$(mktemp -d)
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$dir"
}
trap cleanup EXIT

free_port() {
  local port
  while :; do
    port=$((20000 + RANDOM % 30000))
    (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null || { echo "$port"; return; }
  done
}

# Waits until the peer accepts connections on its port, or fails naming it with its last output.
expect_listening() {
  local name=$1 port=$2 pid=$3 log=$4
  for _ in $(seq 1 100); do
    if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then return 0; fi
    if ! kill -0 "$pid" 2>/dev/null; then break; fi
    sleep 0.1
  done
  echo "test peer $name did not start:" >&2
  tail -n 5 "$log" >&2
  exit 1
}

failed=()
"$PYTHON" -c 'from pymodbus.server import StartAsyncTcpServer' 2>"$dir/pymodbus.log" ||
  { echo "test peer pymodbus cannot load its server:" >&2; tail -n 3 "$dir/pymodbus.log" >&2; failed+=(pymodbus); }
socat -V >/dev/null 2>&1 || failed+=(socat)
# The same flags as test/helpers/browser.ts; an empty page's DOM proves it starts headless here.
timeout 30 /usr/bin/chromium --headless --no-sandbox --disable-gpu --disable-background-networking \
  --disable-component-update --disable-sync --no-first-run --user-data-dir="$dir/chromium" \
  --dump-dom 'data:text/html,<p>ready</p>' 2>"$dir/chromium.log" | grep -q '<p>ready</p>' ||
  { echo "test peer chromium cannot render a page headless:" >&2; tail -n 3 "$dir/chromium.log" >&2; failed+=(chromium); }
[ ${#failed[@]} -eq 0 ] || { echo "test peers unusable: ${failed[*]}" >&2; exit 1; }

port=$(free_port)
printf 'listener %s 127.0.0.1\nallow_anonymous true\npersistence false\n' "$port" >"$dir/mosquitto.conf"
/usr/sbin/mosquitto -c "$dir/mosquitto.conf" >"$dir/mosquitto.log" 2>&1 &
pids+=($!)
expect_listening mosquitto "$port" $! "$dir/mosquitto.log"

port=$(free_port)
/usr/bin/victoria-metrics -storageDataPath="$dir/vm" -httpListenAddr="127.0.0.1:$port" -loggerLevel=ERROR \
  >"$dir/vm.log" 2>&1 &
pids+=($!)
expect_listening victoria-metrics "$port" $! "$dir/vm.log"

port=$(free_port)
cat >"$dir/influxdb.conf" <<CONF
reporting-disabled = true
bind-address = "127.0.0.1:$(free_port)"
[meta]
  dir = "$dir/influx/meta"
[data]
  dir = "$dir/influx/data"
  wal-dir = "$dir/influx/wal"
[http]
  bind-address = "127.0.0.1:$port"
  log-enabled = false
[monitor]
  store-enabled = false
CONF
/usr/bin/influxd run -config "$dir/influxdb.conf" >"$dir/influxd.log" 2>&1 &
pids+=($!)
expect_listening influxd "$port" $! "$dir/influxd.log"

echo "test peers: mosquitto, pymodbus, socat, chromium, influxd and victoria-metrics ready"
