#!/usr/bin/env bash
# The core flow: a busybox image from the host's static busybox, a second layer on top of it, a look at
# the result, and a Containerfile built on it with `hod bud`. No network needed. Uses $HOD (default: this checkout's bin/hod) and $HOD_ROOT if set.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
hod() { "${HOD:-$here/../../bin/hod}" "$@"; }
busybox=$(command -v busybox || echo /bin/busybox)
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT

ctr=$(hod from scratch)
mnt=$(hod mount "$ctr")
mkdir -p "$mnt/bin" "$mnt/srv"
cp "$busybox" "$mnt/bin/"
ln -s busybox "$mnt/bin/sh"
hod config --entrypoint '["/bin/sh"]' --env PATH=/bin --label org.example.a=b --workingdir /srv "$ctr"
id1=$(hod commit "$ctr" busybox:1)
echo "busybox:1 is $id1" >&2

c2=$(hod from busybox:1)
m2=$(hod mount "$c2")
rm "$m2/bin/sh"
echo hi > "$m2/srv/x"
echo "hello from hod" > "$work/README.md"
mkdir -p "$work/pkg/etc" && echo 'greeting=hi' > "$work/pkg/etc/app.conf"
tar -czf "$work/some.tar.gz" -C "$work/pkg" .
hod copy "$c2" "$work/README.md" /srv/
hod add "$c2" "$work/some.tar.gz" /opt/
id2=$(hod commit --rm "$c2" busybox:2)
echo "busybox:2 is $id2" >&2

hod images
hod containers
hod inspect --format '{{.OCIv1.config.Entrypoint}} {{.OCIv1.config.WorkingDir}}' busybox:2
hod tag busybox:2 busybox:latest
hod rmi busybox:1

# run the image: a container from it, a command in it through runc (its own pid, hostname and mounts)
c3=$(hod from busybox:latest)
hod run "$c3" -- /bin/busybox sh -c 'b=/bin/busybox; $b cat README.md /opt/etc/app.conf; $b ls /bin; test ! -e /bin/sh && echo "/bin/sh is gone"; echo "pid $$ in $($b pwd) on $($b hostname)"'
hod rm "$c3" "$ctr" >/dev/null

# the same primitives driven by a Containerfile: a two-stage build on busybox:latest, then its CMD run
app=$(hod bud --build-arg GREETING=hi -t greeter:1 "$here/app")
echo "greeter:1 is $app" >&2
c4=$(hod from greeter:1)
hod run "$c4" -- /usr/local/bin/greet
hod rm "$c4" >/dev/null
