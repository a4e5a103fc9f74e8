#!/usr/bin/env bash
# A stand-in for docker.io/library/node:20-bookworm-slim made with hod, for machines that cannot reach
# docker.io: Debian bookworm (minbase) plus this host's node at /usr/local/bin/node, committed as
# localhost/hod-base:bookworm (or $1). The Debian layer is the store's debian:bookworm when there is one
# (../debian-nginx.sh commits it), else it is debootstrapped here and committed under that name.
# Then, from the checkout's top:
#   npm run build && hod bud --build-arg BASE=localhost/hod-base:bookworm -f scripts/examples/k8s/Containerfile -t hod:latest .
# Needs root; debootstrap and Debian's mirror ($MIRROR) when there is no debian:bookworm. Uses $HOD, $HOD_ROOT.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
hod() { "${HOD:-$here/../../../bin/hod}" "$@"; }
say() { echo "build-base: $*" >&2; }
name=${1:-localhost/hod-base:bookworm}
mirror=${MIRROR:-http://deb.debian.org/debian}
node=$(command -v node) || { say "no node on this host to copy in"; exit 1; }
ctrs=()
trap '[ ${#ctrs[@]} -eq 0 ] || hod rm "${ctrs[@]}" >/dev/null 2>&1 || true' EXIT

if hod inspect --type image debian:bookworm >/dev/null 2>&1; then
  say "on the store's debian:bookworm"
  ctr=$(hod from debian:bookworm); ctrs+=("$ctr")
  mnt=$(hod mount "$ctr")
else
  say "debootstrap --variant=minbase bookworm ($mirror)"
  ctr=$(hod from scratch); ctrs+=("$ctr")
  mnt=$(hod mount "$ctr")
  log=$(mktemp)
  debootstrap --variant=minbase bookworm "$mnt" "$mirror" >"$log" 2>&1 \
    || { tail -n 30 "$log" >&2; rm -f "$log"; say "debootstrap failed (is $mirror reachable?)"; exit 1; }
  rm -f "$log"
  # as ../debian-nginx.sh: not the host's name, resolver or device nodes; no apt caches in later layers
  rm -f "$mnt/etc/hostname" "$mnt/etc/resolv.conf"
  rm -rf "$mnt"/dev/* "$mnt"/var/cache/apt/*.bin "$mnt"/var/cache/apt/archives/*.deb "$mnt"/var/lib/apt/lists/*
  printf '%s\n' 'APT::Keep-Downloaded-Packages "false";' 'Dir::Cache::pkgcache "";' 'Dir::Cache::srcpkgcache "";' \
    > "$mnt/etc/apt/apt.conf.d/90image-slim"
  hod config --cmd '["bash"]' --env PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin "$ctr"
  say "debian:bookworm is $(hod commit "$ctr" debian:bookworm)"
fi

# node is where node's own images keep it; what it links (libc, libstdc++, libgcc_s) minbase has (apt needs them)
version=$("$node" --version)
say "node $version from $node"
install -D -m 755 "$node" "$mnt/usr/local/bin/node"
# the proof that this node runs on bookworm's libraries, before anything is committed
got=$(hod run --network none "$ctr" -- /usr/local/bin/node -e 'process.stdout.write(process.version)') \
  || { say "the host's node does not run in bookworm (ldd $node: what it needs must be in the image)"; exit 1; }
[ "$got" = "$version" ] || { say "node in the image says $got"; exit 1; }
hod config --env "NODE_VERSION=${version#v}" --cmd '["node"]' "$ctr"
say "$name is $(hod commit "$ctr" "$name")"
