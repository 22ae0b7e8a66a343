#!/usr/bin/env bash
# Builds dist/gateway_<version>_<arch>.deb from this repo: a self-contained publish under /usr/lib/gateway (no .NET
# needed on the target), /usr/bin/gateway, the systemd unit, and /etc/gateway/gateway.toml as a conffile.
#   bash deploy/deb/build.sh [OUTDIR]        (make deb)
set -euo pipefail
repo=$(cd "$(dirname "$0")/../.." && pwd)
out=${1:-$repo/dist}
arch=$(dpkg --print-architecture)
case "$arch" in amd64) rid=linux-x64 ;; arm64) rid=linux-arm64 ;; *) echo "build.sh: no .NET runtime id for $arch" >&2; exit 2 ;; esac
stage=$(mktemp -d)
trap 'rm -rf "$stage" "$stage.artifacts"' EXIT

# A clean build of its own (--artifacts-path): nothing in the checkout's bin/ and obj/ is read or overwritten.
dotnet publish "$repo/src/Gateway/Gateway.csproj" -c Release -r "$rid" --self-contained --nologo -v quiet \
  -p:DebugType=none --artifacts-path "$stage.artifacts" -o "$stage/usr/lib/gateway"
version=$("$stage/usr/lib/gateway/gateway" version | sed -E 's/^gateway ([^ ]+) \(commit ([^,]+),.*/\1+\2/; s/\+unknown$//')

install -d "$stage/usr/bin" "$stage/etc/gateway" "$stage/lib/systemd/system" "$stage/DEBIAN" "$stage/usr/share/doc/gateway"
ln -s ../lib/gateway/gateway "$stage/usr/bin/gateway"
install -m 0644 "$repo/gateway.toml" "$stage/etc/gateway/gateway.toml"
cp -r "$repo/lists" "$stage/etc/gateway/lists"
sed 's#^ExecStart=.*#ExecStart=/usr/bin/gateway serve --config /etc/gateway/gateway.toml#' "$repo/deploy/gateway.service" \
  > "$stage/lib/systemd/system/gateway.service"
install -m 0644 "$repo/README.md" "$stage/usr/share/doc/gateway/README.md"
find "$stage/etc/gateway" -type f | sed "s#^$stage##" > "$stage/DEBIAN/conffiles"
size=$(du -sk "$stage" | cut -f1)
cat > "$stage/DEBIAN/control" <<CONTROL
Package: gateway
Version: $version
Architecture: $arch
Maintainer: Gateway developers <gateway@localhost>
Installed-Size: $size
Depends: libc6, libgcc-s1, libstdc++6, zlib1g, libicu72 | libicu-dev
Section: net
Priority: optional
Description: message-filter reverse proxy for chat servers
 Gateway sits in front of Matrix homeservers, Lemmy, BareRTC, Session open group
 servers and JSON chat APIs; it applies server ACLs, IP blocks and keyword/regex
 filters per message and forwards, censors, drops or rejects, with webhook reports.
CONTROL
mkdir -p "$out"
deb="$out/gateway_${version}_${arch}.deb"
dpkg-deb --root-owner-group --build "$stage" "$deb" >/dev/null
echo "$deb"
