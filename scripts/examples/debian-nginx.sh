#!/usr/bin/env bash
# A real distribution from nothing: Debian bookworm (minbase) debootstrapped into a `hod from scratch`
# container's mount and committed as debian:bookworm, nginx-light installed over `hod run`'s private network,
# committed as nginx:bookworm, then that image run on the host's network while curl fetches its page.
# Needs root, debootstrap and Debian's mirror ($MIRROR, default deb.debian.org). Uses $HOD (default: this
# checkout's bin/hod), $HOD_ROOT if set, and $PORT if set (else the first free one from 8080).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
hod_bin=${HOD:-$here/../../bin/hod}
hod() { "$hod_bin" "$@"; }
say() { echo "debian-nginx: $*" >&2; }
mirror=${MIRROR:-http://deb.debian.org/debian}
work=$(mktemp -d)
ctrs=()
cleanup() {
  [ -z "${server:-}" ] || kill "$server" 2>/dev/null || true
  [ ${#ctrs[@]} -eq 0 ] || hod rm "${ctrs[@]}" >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT

say "debootstrap --variant=minbase bookworm into a scratch container ($mirror)"
ctr=$(hod from scratch); ctrs+=("$ctr")
mnt=$(hod mount "$ctr")
debootstrap --variant=minbase bookworm "$mnt" "$mirror" >"$work/debootstrap.log" 2>&1 \
  || { tail -n 30 "$work/debootstrap.log" >&2; say "debootstrap failed (is $mirror reachable?)"; exit 1; }
# the host's name and resolver, which debootstrap copied in, are not the image's: `hod run` provides both;
# nor are device nodes, which runtimes make (and a rootless store could not unpack)
rm -f "$mnt/etc/hostname" "$mnt/etc/resolv.conf"
rm -rf "$mnt"/dev/* "$mnt"/var/cache/apt/*.bin "$mnt"/var/cache/apt/archives/*.deb "$mnt"/var/lib/apt/lists/*
# apt-get in a container of this image leaves no package files or caches in the layer it makes
printf '%s\n' 'APT::Keep-Downloaded-Packages "false";' 'Dir::Cache::pkgcache "";' 'Dir::Cache::srcpkgcache "";' \
  > "$mnt/etc/apt/apt.conf.d/90image-slim"
hod config --cmd '["bash"]' --env PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin "$ctr"
# the container goes on from the committed image: the next commit holds only what apt-get adds
base=$(hod commit "$ctr" debian:bookworm)
say "debian:bookworm is $base"

say "apt-get install nginx-light, over the private network"
hod run "$ctr" -- sh -c 'apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends nginx-light >/dev/null && rm -rf /var/lib/apt/lists/*'
echo "served by nginx from a Debian image hod built" > "$mnt/var/www/html/index.html"
hod config --cmd '["nginx","-g","daemon off;"]' --port 80 --stop-signal SIGQUIT --label org.example.made-by=hod "$ctr"
img=$(hod commit "$ctr" nginx:bookworm)
say "nginx:bookworm is $img"

# a free port on the host's loopback: nothing answers there yet
port=${PORT:-}
if [ -z "$port" ]; then
  for p in $(seq 8080 8180); do
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then port=$p; break; fi
  done
  [ -n "$port" ] || { say "no free port in 8080-8180"; exit 1; }
fi
# the image listens on 80; on the host's network this run listens where it was told to
printf 'server {\n  listen 127.0.0.1:%s;\n  root /var/www/html;\n}\n' "$port" > "$work/site.conf"

say "hod run --network host nginx:bookworm, serving on 127.0.0.1:$port"
run=$(hod from nginx:bookworm); ctrs+=("$run")
# bin/hod itself in the background (not the shell function): the signal below must reach hod, which passes it on
"$hod_bin" run --network host -v "$work/site.conf:/etc/nginx/sites-enabled/default:ro" "$run" -- nginx -g 'daemon off;' &
server=$!
page=
for _ in $(seq 1 300); do
  if page=$(curl -fsS "http://127.0.0.1:$port/" 2>/dev/null); then break; fi
  kill -0 "$server" 2>/dev/null || { say "nginx exited before it answered"; exit 1; }
  sleep 0.1
done
[ -n "$page" ] || { say "nothing answered on 127.0.0.1:$port"; exit 1; }
echo "$page"

say "stopping nginx"
kill -TERM "$server"
status=0; wait "$server" || status=$?
server=
say "hod run exited $status"
# gone: nothing listens on the port, and the runtime keeps no container for it
if curl -fsS "http://127.0.0.1:$port/" >/dev/null 2>&1; then say "something still answers on $port"; exit 1; fi
runc_id="hod-$(hod inspect --type container --format '{{.ContainerID}}' "$run" | cut -c1-12)"
if runc --root /run/hod-runc list -q 2>/dev/null | grep -q "^$runc_id"; then say "runc still has $runc_id"; exit 1; fi
say "the run's container is gone"
