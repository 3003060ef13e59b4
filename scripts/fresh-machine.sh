#!/usr/bin/env bash
# `make test` on a bare Debian 12, as a new contributor's or CI's machine would run it:
# a root made with debootstrap (minbase, plus git, make and python3), this repository's
# committed HEAD cloned into it, then exactly `make test` as the README says. The root
# shares this machine's network and ports, so its database cluster gets a free port.
#
# This network re-signs TLS: the root is given the host's CA bundle for pip and npm,
# here only (the setup itself never points at a CA file). Takes 10-40 minutes.
#
#   sudo bash scripts/fresh-machine.sh            # a new root in /var/tmp, removed after
#   FRESH_ROOT=/var/tmp/deb12 KEEP=1 bash scripts/fresh-machine.sh
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
[ "$(id -u)" -eq 0 ] || { echo "run as root (debootstrap and chroot)" >&2; exit 2; }
root=${FRESH_ROOT:-$(mktemp -d /var/tmp/landplan-fresh.XXXXXX)}
chmod 755 "$root"  # mktemp makes it 700: no other user (postgres) could enter the root
mirror=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
started=$(date +%s)

cleanup() {
    for mount in dev/shm dev/pts dev sys proc; do
        mountpoint -q "$root/$mount" && umount -l "$root/$mount"
    done
    if [ -z "${KEEP:-}" ] && [ -z "${FRESH_ROOT:-}" ]; then rm -rf --one-file-system "$root"; fi
}
trap cleanup EXIT

command -v debootstrap >/dev/null || {
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends debootstrap
}
if [ ! -x "$root/usr/bin/python3" ]; then
    debootstrap --variant=minbase --include=git,make,python3,ca-certificates \
        bookworm "$root" "$mirror"
fi
# What a Debian 12 install's sources list holds: the release, its updates and security.
cat > "$root/etc/apt/sources.list" <<SOURCES
deb $mirror bookworm main
deb $mirror bookworm-updates main
deb http://deb.debian.org/debian-security bookworm-security main
SOURCES
cp /etc/ssl/certs/ca-certificates.crt "$root/usr/local/share/host-ca.crt"

mount -t proc proc "$root/proc"
mount --rbind /sys "$root/sys"
mount --bind /dev "$root/dev"
mount --bind /dev/pts "$root/dev/pts"
mount -t tmpfs -o size=2g tmpfs "$root/dev/shm"
cp /etc/resolv.conf "$root/etc/resolv.conf"

rm -rf "$root/root/landplan"
git clone -q "$repo" "$root/root/landplan"
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')

set +e
chroot "$root" /usr/bin/env -i HOME=/root LANG=C.UTF-8 CI=true \
    PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    PIP_CERT=/usr/local/share/host-ca.crt \
    npm_config_cafile=/usr/local/share/host-ca.crt \
    NODE_EXTRA_CA_CERTS=/usr/local/share/host-ca.crt \
    LANDPLAN_DB_PORT="$port" \
    bash -c 'cd /root/landplan && make test'
status=$?
set -e
echo "fresh Debian 12: make test exited $status after $(( ($(date +%s) - started) / 60 )) min"
exit $status
