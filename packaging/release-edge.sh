#!/bin/sh
# Makes the edge release of the gateway for this machine's architecture, with no network access:
#   dist/release/jjj-gateway-<version>-linux-<arch>.tar.gz
# holding the built gateway, its production node_modules with the native modules as built here, the
# Node.js binary they were built against, install.sh, the systemd unit and the README.
#
#   npm run release:edge [-- --version V] [-- --out DIR] [-- --skip-build]
#
# --skip-build uses the dist/ already built (as `npm test` builds it before the tests run).
set -eu

repo=$(cd "$(dirname "$0")/.." && pwd)
out="$repo/dist/release"
version=""
build=yes
while [ $# -gt 0 ]; do
  case "$1" in
    --version) version=${2:?--version needs a value}; shift 2 ;;
    --out) out=${2:?--out needs a directory}; shift 2 ;;
    --skip-build) build=no; shift ;;
    *) echo "release-edge: unknown option $1 (--version V, --out DIR, --skip-build)" >&2; exit 2 ;;
  esac
done

node_bin=$(command -v node)
node_bin=$(readlink -f "$node_bin")
if ldd "$node_bin" | grep -q libnode; then
  echo "release-edge: $node_bin needs libnode (Debian's nodejs package): build with an official Node.js binary (nodejs.org or NodeSource), which runs on its own" >&2
  exit 1
fi
[ -n "$version" ] || version=$(node -p "require('$repo/package.json').version")
case "$version" in
  *[!A-Za-z0-9.+-]* | "") echo "release-edge: version \"$version\" may hold only letters, digits, . + -" >&2; exit 2 ;;
esac
arch=$(node -p 'process.arch')
name="jjj-gateway-$version-linux-$arch"

if [ "$build" = yes ]; then (cd "$repo" && npm run -s build); fi
[ -f "$repo/dist/gateway/cli.js" ] || { echo "release-edge: $repo/dist/gateway/cli.js is missing: build first" >&2; exit 1; }

mkdir -p "$out"
out=$(cd "$out" && pwd)
stage=$(mktemp -d "$out/.stage.XXXXXX")
trap 'rm -rf "$stage"' EXIT
release="$stage/$name"
mkdir -p "$release/dist" "$release/bin" "$release/node/bin"

# The gateway and the adapters it dispatches to: nothing of the collector, the seeds or the benches.
cp -R "$repo/dist/gateway" "$repo/dist/adapters" "$release/dist/"
chmod 755 "$release/dist/gateway/cli.js"
node "$repo/packaging/runtime-package.mjs" "$repo/package.json" "$version" "$release/package.json" \
  "$release/dist/gateway" "$release/dist/adapters"

# Production node_modules without the registry: copy the installed tree (native modules already built
# for this Node.js) and let npm drop what the release's package.json does not need, offline.
cp "$repo/package-lock.json" "$release/"
cp -R "$(readlink -f "$repo/node_modules")" "$release/node_modules"
(cd "$release" && npm prune --omit=dev --offline --no-audit --no-fund --loglevel=error)
rm "$release/package-lock.json"
find "$release/node_modules" -depth -type d -empty -delete
# Build leftovers and other platforms' binaries; only the loadable addon of this platform stays.
sqlite="$release/node_modules/better-sqlite3"
rm -rf "$sqlite/deps" "$sqlite/src" "$sqlite/build/Release/obj" "$sqlite/build/Release/obj.target" \
  "$sqlite/build/Release/sqlite3.a" "$sqlite/build/Release/test_extension.node" "$sqlite/build/deps"
for prebuild in "$release/node_modules/@serialport/bindings-cpp/prebuilds/"*; do
  [ "$(basename "$prebuild")" = "linux-$arch" ] || rm -rf "$prebuild"
done

# The Node.js the native modules were built against, so the box needs none (and no ABI can differ).
cp "$node_bin" "$release/node/bin/node"
# Debug symbols are 2.5 MB of an official binary; without binutils' strip they stay, nothing else changes.
strip --strip-debug "$release/node/bin/node" 2>/dev/null || true
node_license=""
for candidate in "$(dirname "$node_bin")/../share/doc/node/LICENSE" /usr/share/doc/nodejs/LICENSE; do
  if [ -f "$candidate" ]; then node_license=$candidate; break; fi
done
[ -n "$node_license" ] || { echo "release-edge: Node.js's LICENSE not found next to $node_bin" >&2; exit 1; }
cp "$node_license" "$release/node/LICENSE"

packaging="$repo/packaging"
cp "$packaging/install.sh" "$packaging/jjj-gateway.service" "$packaging/README.md" \
  "$packaging/gateway.yaml.example" "$packaging/gateway.env.example" "$packaging/check-runtime.mjs" "$release/"
cp "$packaging/jjj-gateway" "$release/bin/jjj-gateway"
chmod 755 "$release/install.sh" "$release/bin/jjj-gateway"
echo "$version" > "$release/VERSION"

"$release/node/bin/node" "$release/check-runtime.mjs"
"$release/bin/jjj-gateway" --version > /dev/null

artefact="$out/$name.tar.gz"
tar -C "$stage" -czf "$artefact.tmp" "$name"
mv "$artefact.tmp" "$artefact"
echo "$artefact: $(du -k "$artefact" | cut -f1) KiB ($(du -sk "$release" | cut -f1) KiB unpacked)"
