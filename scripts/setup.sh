#!/usr/bin/env bash
# Installs everything hod and its tests need on a fresh Debian machine, then builds hod.
# Idempotent: a second run only checks. Needs root (apt-get).
set -euo pipefail
cd "$(dirname "$0")/.."

# System packages: the mount and archive tools hod calls, and the independent readers and oracle the tests
# use (umoci, skopeo, buildah, the distribution registry with htpasswd from apache2-utils, openssl for test
# certificates), busybox-static for the example images, attr for xattrs,
# runc and containers-common (its seccomp profile) for `hod run`, the CNI plugins and iptables for its
# private network (slirp4netns when rootless), debootstrap and curl for the Debian examples.
PKGS=(mount util-linux attr xz-utils bzip2 zstd busybox-static umoci skopeo buildah runc golang-github-containers-common uidmap fuse-overlayfs containernetworking-plugins iptables iproute2 slirp4netns libcap2-bin docker-registry apache2-utils openssl debootstrap curl)
missing=()
for p in "${PKGS[@]}"; do dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p"); done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
# Rootless runs reach the network through slirp4netns, which opens /dev/net/tun, and mount with fuse-overlayfs
# where kernel overlay is refused, which opens /dev/fuse: stock Debian makes both 0666 (udev), some VMs and
# containers leave them 0600.
for dev in /dev/net/tun /dev/fuse; do
  if [ -c "$dev" ] && [ "$(stat -c %a "$dev")" = 600 ]; then chmod 0666 "$dev"; fi
done
# The distribution registry package starts a service on install; tests start their own on loopback.
systemctl disable --now docker-registry >/dev/null 2>&1 || true

if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund --loglevel=error
fi
npm run build --silent
echo "setup: done" >&2
