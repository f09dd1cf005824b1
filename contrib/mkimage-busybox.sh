#!/bin/sh
# Makes a busybox base image tarball from the host's busybox-static (Debian package busybox-static),
# for `berth import` / `docker import`. Never downloads anything.
#
#   contrib/mkimage-busybox.sh OUT.tar [SRC:DEST ...]
#
# Each SRC:DEST copies a host file into the image at DEST (the tests add their own static helpers this way).
set -eu
out=${1:?usage: $0 OUT.tar [SRC:DEST ...]}
shift
busybox=$(command -v busybox || true)
[ -n "$busybox" ] || { echo "busybox not found: apt-get install busybox-static" >&2; exit 1; }
if LC_ALL=C ldd "$busybox" 2>&1 | grep -q '=>'; then
  echo "$busybox is not statically linked: apt-get install busybox-static" >&2; exit 1
fi
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
mkdir -p "$dir/bin" "$dir/etc" "$dir/root" "$dir/tmp" "$dir/mnt" "$dir/var/tmp" "$dir/home" "$dir/proc" "$dir/sys" "$dir/dev" \
         "$dir/usr/bin" "$dir/usr/sbin" "$dir/sbin"
chmod 1777 "$dir/tmp" "$dir/var/tmp"
chmod 700 "$dir/root"
cp "$busybox" "$dir/bin/busybox"
chmod 755 "$dir/bin/busybox"
for applet in $("$dir/bin/busybox" --list); do
  [ "$applet" = busybox ] && continue
  ln -sf busybox "$dir/bin/$applet"
done
cat > "$dir/etc/passwd" <<'P'
root:x:0:0:root:/root:/bin/sh
daemon:x:1:1:daemon:/usr/sbin:/bin/false
bin:x:2:2:bin:/bin:/bin/false
nobody:x:65534:65534:nobody:/nonexistent:/bin/false
P
cat > "$dir/etc/group" <<'G'
root:x:0:
daemon:x:1:
bin:x:2:
tty:x:5:
wheel:x:10:root
nogroup:x:65534:
G
echo 'hosts: files dns' > "$dir/etc/nsswitch.conf"
for extra in "$@"; do
  src=${extra%%:*} dest=${extra#*:}
  case "$dest" in /*) ;; *) echo "bad extra file $extra: DEST must be absolute" >&2; exit 2 ;; esac
  [ -f "$src" ] || { echo "extra file $src not found" >&2; exit 2; }
  mkdir -p "$dir$(dirname "$dest")"
  cp "$src" "$dir$dest"
done
tar --numeric-owner --owner=0 --group=0 -C "$dir" -cf "$out" .
echo "$out"
