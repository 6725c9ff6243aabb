#!/usr/bin/env bash
# Builds (once) a Debian 12 VM image whose kernel runs a pure cgroup v2 hierarchy, so the sandbox
# tests can run on a real v2 kernel even when the host is cgroup v1. See README.md beside this file.
#
# Usage: scripts/vm/image.sh        prints the image directory (vmlinuz, initrd.img, disk.img) on stdout
#
# Cached in ${IIDE_VM_CACHE:-~/.cache/interview-ide/vm}/img-<hash of this file and IIDE_VM_DISK_SIZE>:
# editing this file builds a new image (older ones are then deleted). A build happens in a temporary
# directory renamed into place only when complete, so a half-built image is never used.
# Needs root (debootstrap, chroot). Progress and timings go to stderr.
# Environment: IIDE_VM_CACHE, IIDE_VM_MIRROR (Debian mirror URL; default: the one apt uses),
# IIDE_VM_DISK_SIZE (default 2G).
set -euo pipefail

self=$(readlink -f "${BASH_SOURCE[0]}")
cache=${IIDE_VM_CACHE:-$HOME/.cache/interview-ide/vm}
suite=bookworm
disk_size=${IIDE_VM_DISK_SIZE:-2G}
key=$({ cat "$self"; echo "disk_size=$disk_size"; } | sha256sum | cut -c1-16)
dest=$cache/img-$key

log() { printf '[vm-image] %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

# Fast path without any locking: a finished image is immutable.
if [[ -f $dest/ready ]]; then
    echo "$dest"
    exit 0
fi

[[ $(id -u) == 0 ]] || die "building the image needs root (debootstrap, chroot); run once as root"
mkdir -p "$cache"

# Serialise concurrent builders (e.g. two test jobs starting at once); the loser reuses the result.
exec 9>"$cache/.lock"
if ! flock -n 9; then
    log "another build holds $cache/.lock; waiting"
    flock 9
fi
if [[ -f $dest/ready ]]; then
    echo "$dest"
    exit 0
fi

t_start=$EPOCHREALTIME
t_phase=$t_start
phase_done() {
    local now=$EPOCHREALTIME
    log "$(awk -v a="$t_phase" -v b="$now" -v n="$1" 'BEGIN { printf "%-28s %6.1f s", n, b - a }')"
    t_phase=$now
}

# ---------------------------------------------------------------------------------------------
# Host tools. Another process may be running apt/dpkg already: DPkg::Lock::Timeout makes apt wait
# for the lock instead of failing, and the loop covers transient errors (e.g. stale package lists).
apt_install() {
    local i
    for i in 1 2 3; do
        if DEBIAN_FRONTEND=noninteractive apt-get install -y -q -o DPkg::Lock::Timeout=600 "$@" >&2; then
            return 0
        fi
        log "apt-get install $* failed (try $i); refreshing package lists and retrying"
        DEBIAN_FRONTEND=noninteractive apt-get update -q -o DPkg::Lock::Timeout=600 >&2 || true
        sleep 5
    done
    die "could not install: $*"
}
need=()
command -v qemu-system-x86_64 >/dev/null || need+=(qemu-system-x86)
command -v debootstrap >/dev/null || need+=(debootstrap)
command -v mkfs.ext4 >/dev/null || need+=(e2fsprogs)
if ((${#need[@]})); then
    log "installing ${need[*]}"
    apt_install "${need[@]}"
fi
phase_done "host packages"

# ---------------------------------------------------------------------------------------------
# Mirror: the one the host's apt already uses (only the package registries are reachable here).
find_mirror() {
    if [[ -n ${IIDE_VM_MIRROR:-} ]]; then
        echo "$IIDE_VM_MIRROR"
        return
    fi
    {
        apt-get indextargets --format '$(REPO_URI)' 2>/dev/null || true
        # deb822 .sources files ("URIs: ...") and one-line .list files ("deb [opts] URI suite ...")
        cat /etc/apt/sources.list.d/*.sources 2>/dev/null | sed -n 's/^URIs:[[:space:]]*//p' | tr ' ' '\n' || true
        cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null |
            sed -n 's/^deb[[:space:]]\+\(\[[^]]*\][[:space:]]\+\)\?\([^[:space:]]\+\).*/\2/p' || true
    } | awk '/^https?:\/\// && !/-security/ && /\/debian\/?$/ && !found { print; found = 1 }'
    # (awk reads all of its input: an early exit would SIGPIPE the producers and trip pipefail)
}
mirror=$(find_mirror)
[[ -n $mirror ]] || die "no Debian mirror found in apt's configuration; set IIDE_VM_MIRROR"
log "mirror: $mirror"

# ---------------------------------------------------------------------------------------------
work=$(mktemp -d "$cache/.build.XXXXXX")
root=$work/root
out=$work/out
mkdir -p "$root" "$out"

cleanup() {
    local rc=$? m
    # debootstrap or a failed chroot step can leave proc/sys/dev mounted inside the tree; never
    # rm -rf across a mount (it would delete the host's /dev entries).
    if [[ -d $work ]]; then
        for m in $(awk -v w="$work/" 'index($2, w) == 1 { print $2 }' /proc/mounts | sort -r); do
            umount -l "$m" 2>/dev/null || true
        done
        if awk -v w="$work/" 'index($2, w) == 1 { found = 1 } END { exit !found }' /proc/mounts; then
            log "mounts remain under $work; not deleting it"
        else
            rm -rf --one-file-system "$work"
        fi
    fi
    ((rc == 0)) || log "build failed (exit $rc)"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# initramfs: the Debian kernel has virtio and ext4 as modules. MODULES=list keeps the initrd small
# (~6 MB vs ~36 MB with MODULES=most), which matters because TCG unpacks it slowly. Seeding the
# config before debootstrap means the kernel's postinst builds the right initrd the first time.
# modules.d/ is read by mkinitramfs and is not a dpkg conffile (unlike /etc/initramfs-tools/modules).
# 9p is not needed for the root fs; it is included so an early mount of the share would work too.
mkdir -p "$root/etc/initramfs-tools/conf.d" "$root/usr/share/initramfs-tools/modules.d"
cat >"$root/etc/initramfs-tools/conf.d/iide-vm" <<'EOF'
MODULES=list
RESUME=none
# minbase has no zstd; saying so avoids a warning (the kernel unpacks gzip fine)
COMPRESS=gzip
EOF
cat >"$root/usr/share/initramfs-tools/modules.d/iide-vm" <<'EOF'
virtio_pci
virtio_blk
ext4
crc32c_generic
netfs
9pnet
9pnet_virtio
9p
EOF

log "debootstrap $suite (packages cached in $cache/debs)"
mkdir -p "$cache/debs"
debootstrap --variant=minbase --cache-dir="$cache/debs" \
    --include=linux-image-amd64,systemd-sysv,udev,bubblewrap,kmod,procps,curl,ca-certificates,e2fsprogs \
    "$suite" "$root" "$mirror" >"$work/debootstrap.log" 2>&1 || {
    tail -n 30 "$work/debootstrap.log" >&2
    [[ -f $root/debootstrap/debootstrap.log ]] && tail -n 30 "$root/debootstrap/debootstrap.log" >&2
    die "debootstrap failed"
}
phase_done "debootstrap"

kver=$(basename "$(ls -d "$root"/lib/modules/*/ | sort -V | tail -n1)")
[[ -n $kver && -f $root/boot/vmlinuz-$kver ]] || die "no kernel found in the image"
log "kernel $kver"

# Make sure the initrd really has the disk drivers (in case the seeded config was not honoured).
# (listing captured first: grep -q exiting early would SIGPIPE lsinitramfs and trip pipefail)
initrd_list=$(chroot "$root" lsinitramfs "/boot/initrd.img-$kver" 2>/dev/null || true)
if ! grep -q 'virtio_blk\.ko' <<<"$initrd_list"; then
    log "initrd lacks virtio_blk; regenerating"
    mount -t proc proc "$root/proc"
    chroot "$root" update-initramfs -c -k "$kver" >&2
    umount "$root/proc"
fi
phase_done "initramfs check"

# ---------------------------------------------------------------------------------------------
# Guest configuration.
echo iide-vm >"$root/etc/hostname"
printf '127.0.0.1 localhost\n127.0.1.1 iide-vm\n::1 localhost\n' >"$root/etc/hosts"
# No entry for / : the kernel mounts it rw from the command line, and an fstab entry would make
# systemd wait for udev to announce /dev/vda. /tmp is tmpfs so tests can write even though the
# share is read-only, without growing the disk overlay.
cat >"$root/etc/fstab" <<'EOF'
tmpfs  /tmp  tmpfs  rw,nosuid,nodev,mode=1777  0 0
EOF
mkdir -p "$root/mnt/host"

sysd=$root/etc/systemd/system
mkdir -p "$sysd/multi-user.target.wants" "$root/etc/systemd/journald.conf.d"
ln -sf /lib/systemd/system/multi-user.target "$sysd/default.target"
# Journal in RAM only: nothing persists across runs anyway (snapshot=on).
printf '[Journal]\nStorage=volatile\n' >"$root/etc/systemd/journald.conf.d/iide-vm.conf"

# Boot is slow under TCG (each unit costs ~0.5 s of emulated CPU): mask units that are useless in a
# throwaway, network-less VM (measured: ~5 s less to the test's start). ConditionNeedsUpdate units
# (ldconfig, hwdb, catalog) would otherwise run on every boot because the snapshot discards their
# stamp files; firstboot could prompt on the console. Root has no password, so no getty is useful.
for u in apt-daily.timer apt-daily-upgrade.timer dpkg-db-backup.timer e2scrub_all.timer \
    e2scrub_reap.service fstrim.timer systemd-timesyncd.service systemd-networkd-wait-online.service \
    systemd-firstboot.service ldconfig.service systemd-hwdb-update.service \
    systemd-journal-catalog-update.service systemd-update-done.service systemd-pstore.service \
    getty@tty1.service serial-getty@ttyS0.service getty-static.service \
    modprobe@drm.service modprobe@dm_mod.service modprobe@loop.service \
    sys-kernel-debug.mount sys-kernel-tracing.mount sys-kernel-config.mount \
    sys-fs-fuse-connections.mount dev-hugepages.mount proc-sys-fs-binfmt_misc.automount \
    systemd-sysusers.service systemd-update-utmp.service systemd-update-utmp-runlevel.service \
    systemd-random-seed.service systemd-journal-flush.service; do
    ln -sf /dev/null "$sysd/$u"
done

# The runner: mounts the share, runs the caller's program, reports its exit code on ttyS1.
mkdir -p "$root/usr/local/sbin"
cat >"$root/usr/local/sbin/iide-test" <<'EOF'
#!/bin/bash
# Runs /mnt/host/run-in-vm (provided by the host through the 9p share "host") with its output on
# this unit's stdout (/dev/ttyS1, read by scripts/vm/run.sh on the host), then reports the code.
set -u
# Raw: no "\n" -> "\r\n" translation, no echo of anything the host might send back.
stty -F /dev/ttyS1 raw -echo 2>/dev/null || true
echo "iide-test: starting" >/dev/console
printf 'IIDE-VM-START\n'
rc=0
# (bash builtins where possible: every exec costs ~0.1-0.3 s under TCG)
# The 9p modules are in the initrd and mount loads the virtio transport by alias; modprobe is only a
# fallback.
opts=trans=virtio,version=9p2000.L,ro,msize=262144
if ! mount -t 9p -o "$opts" host /mnt/host; then
    modprobe -a 9pnet_virtio 9p
    if ! mount -t 9p -o "$opts" host /mnt/host; then
        echo "iide-test: cannot mount the 9p share 'host'"
        rc=125
    fi
fi
if ((rc == 0)); then
    if [[ -x /mnt/host/run-in-vm ]]; then
        cgroup=
        while IFS= read -r l; do [[ $l == 0::* ]] && cgroup=/sys/fs/cgroup${l#0::}; done </proc/self/cgroup
        (cd /mnt/host && IIDE_VM_CGROUP=$cgroup exec /mnt/host/run-in-vm </dev/null)
        rc=$?
    else
        echo "iide-test: /mnt/host/run-in-vm is missing or not executable"
        rc=125
    fi
fi
printf 'IIDE-VM-EXIT %d\n' "$rc"
# Wait until the UART has sent everything before the unit ends and the machine powers off.
perl -MPOSIX -e 'POSIX::tcdrain(1)' 2>/dev/null || sleep 1
echo "iide-test: done, exit $rc" >/dev/console
exit 0
EOF
chmod 755 "$root/usr/local/sbin/iide-test"

# Delegate=yes hands the unit's cgroup subtree to the test (as a production unit would be set up);
# the test itself must follow v2's "no internal processes" rule. poweroff-force skips the orderly
# shutdown of other units: the disk is a throwaway snapshot.
cat >"$sysd/iide-test.service" <<'EOF'
[Unit]
Description=interview-ide VM test runner
After=local-fs.target systemd-udevd.service
SuccessAction=poweroff-force
FailureAction=poweroff-force

[Service]
Type=oneshot
Delegate=yes
ExecStart=/usr/local/sbin/iide-test
StandardInput=null
StandardOutput=file:/dev/ttyS1
StandardError=inherit
Environment=HOME=/root LANG=C.UTF-8 IIDE_VM=1
TimeoutStartSec=infinity

[Install]
WantedBy=multi-user.target
EOF
ln -sf ../iide-test.service "$sysd/multi-user.target.wants/iide-test.service"
phase_done "guest configuration"

# ---------------------------------------------------------------------------------------------
cp "$root/boot/vmlinuz-$kver" "$out/vmlinuz"
cp "$root/boot/initrd.img-$kver" "$out/initrd.img"
# Drop the apt lists and caches: they only enlarge the image.
rm -rf "$root"/var/cache/apt/*.bin "$root"/var/lib/apt/lists/* "$root"/var/cache/apt/archives/*.deb
# No loop mount needed: mke2fs copies the tree itself. Inode tables are initialised now, not by the
# guest's ext4lazyinit thread at boot (that would burn emulated CPU in every run).
truncate -s "$disk_size" "$out/disk.img"
mkfs.ext4 -q -F -L iide-root -d "$root" -E lazy_itable_init=0,lazy_journal_init=0 "$out/disk.img" >&2
phase_done "disk image"

cat >"$out/info" <<EOF
kernel=$kver
suite=$suite
built=$(date -u +%Y-%m-%dT%H:%M:%SZ)
script_sha256=$key
EOF
touch "$out/ready"
mv "$out" "$dest"

# Older images (built by earlier versions of this script) are no longer reachable.
for old in "$cache"/img-*; do
    [[ $old == "$dest" ]] || rm -rf "$old"
done
t_phase=$t_start
phase_done total
log "image ready: $dest"
echo "$dest"
