#!/usr/bin/env bash
# Boots the Debian 12 VM from image.sh (a real cgroup v2 kernel) and runs SHARE_DIR/run-in-vm in it.
#
# Usage: scripts/vm/run.sh SHARE_DIR
#
# SHARE_DIR is exported read-only to the guest at /mnt/host; run-in-vm runs there as root in a
# systemd unit with Delegate=yes. Its output (stdout and stderr together) is streamed to this
# script's stdout as it comes; the script exits with run-in-vm's exit code.
# Exit codes of the harness itself: 2 usage, 124 timeout, 125 VM failed (no exit code reported).
# Environment: IIDE_VM_TIMEOUT (s, default 900), IIDE_VM_CPUS (2), IIDE_VM_MEM (MiB, 2048),
# IIDE_VM_ACCEL (auto|tcg|kvm), IIDE_VM_TMPDIR (run dir incl. disk overlay; default $TMPDIR or /tmp),
# IIDE_VM_CONSOLE_LOG (keep the guest console log at this path), IIDE_VM_APPEND (extra kernel args),
# IIDE_VM_QEMU_EXTRA (extra QEMU arguments, split on spaces), IIDE_VM_QUIET=1 (no progress lines on
# stderr), IIDE_VM_CACHE (see image.sh).
set -euo pipefail

log() { [[ ${IIDE_VM_QUIET:-0} == 1 ]] || printf '[vm] %s\n' "$*" >&2; }
die() { printf '[vm] error: %s\n' "$1" >&2; exit "${2:-125}"; }

if [[ $# -ne 1 || $1 == -h || $1 == --help ]]; then
    sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "${BASH_SOURCE[0]}" >&2
    exit 2
fi
[[ -d $1 ]] || die "SHARE_DIR '$1' is not a directory" 2
share=$(readlink -f "$1")
[[ -f $share/run-in-vm && -x $share/run-in-vm ]] || die "$share/run-in-vm is missing or not executable" 2

here=$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")
timeout=${IIDE_VM_TIMEOUT:-900}
[[ $timeout =~ ^[0-9]+$ && $timeout -gt 0 ]] || die "IIDE_VM_TIMEOUT must be a positive number of seconds" 2

since() { awk -v a="$1" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f", b - a }'; }

# The timeout covers everything, the image build included (SECONDS counts from this script's start).
t_start=$EPOCHREALTIME
st=0
img=$(timeout "$timeout" "$here/image.sh") || st=$?
((st != 124)) || die "timed out after ${timeout}s while building the image (IIDE_VM_TIMEOUT)" 124
((st == 0)) || die "image.sh failed (exit $st)"
[[ -f $img/ready ]] || die "image.sh did not produce an image"

command -v qemu-system-x86_64 >/dev/null || die "qemu-system-x86_64 not found (image.sh installs it as root)"

# PVM ("kvm_pvm") exposes /dev/kvm but runs only PVM-patched guest kernels: a stock Debian kernel
# aborts or crawls there, so only a real KVM is used; otherwise multi-threaded TCG.
accel=${IIDE_VM_ACCEL:-auto}
if [[ $accel == auto ]]; then
    if [[ ! -d /sys/module/kvm_pvm && -c /dev/kvm && -r /dev/kvm && -w /dev/kvm ]]; then
        accel=kvm
    else
        accel=tcg
    fi
fi
case $accel in
    kvm) accel_args=(-accel kvm -cpu host) ;;
    tcg) accel_args=(-accel 'tcg,thread=multi' -cpu max) ;;
    *) die "IIDE_VM_ACCEL must be auto, tcg or kvm" 2 ;;
esac

# The run dir also holds QEMU's snapshot=on overlay (QEMU puts it in $TMPDIR).
rundir=$(mktemp -d "${IIDE_VM_TMPDIR:-${TMPDIR:-/tmp}}/iide-vm.XXXXXX")
console=${IIDE_VM_CONSOLE_LOG:-$rundir/console.log}
out=$rundir/ttyS1.log
: >"$console"
: >"$out"

qemu_pid=
tail_pid=
# kill -0 is no test of life here: an exited QEMU stays a zombie until this shell reaps it.
qemu_running() {
    local _pid _comm state
    [[ -n $qemu_pid ]] || return 1
    read -r _pid _comm state _ 2>/dev/null <"/proc/$qemu_pid/stat" || return 1
    [[ $state != Z ]]
}
cleanup() {
    local _
    if qemu_running; then
        kill -TERM "$qemu_pid" 2>/dev/null || true
        for _ in 1 2 3 4 5 6 7 8 9 10; do
            qemu_running || break
            sleep 0.2
        done
        kill -KILL "$qemu_pid" 2>/dev/null || true
    fi
    [[ -z $tail_pid ]] || kill "$tail_pid" 2>/dev/null || true
    rm -rf "$rundir"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM HUP

show_console_tail() {
    printf '[vm] --- last lines of the guest console (ttyS0) ---\n' >&2
    tail -n "${1:-40}" "$console" | tr -d '\r' >&2 || true
    if [[ -s $rundir/qemu.log ]]; then
        printf '[vm] --- QEMU messages ---\n' >&2
        tail -n 20 "$rundir/qemu.log" >&2 || true
    fi
}

# QEMU option values escape "," by doubling it.
qe() { printf '%s' "${1//,/,,}"; }

append="root=/dev/vda rw console=ttyS0 systemd.unified_cgroup_hierarchy=1 cgroup_no_v1=all quiet"
# panic=-1 + -no-reboot: a guest kernel panic ends QEMU at once instead of hanging until the timeout.
append+=" panic=-1 ${IIDE_VM_APPEND:-}"

# Extra QEMU arguments, split on whitespace (no globbing).
read -r -a extra <<<"${IIDE_VM_QEMU_EXTRA:-}"

# --pdeathsig: even if this script is SIGKILLed (e.g. by a CI timeout) QEMU does not outlive it.
TMPDIR=$rundir setpriv --pdeathsig KILL -- qemu-system-x86_64 \
    -nodefaults -no-user-config -display none -no-reboot \
    "${accel_args[@]}" \
    -smp "${IIDE_VM_CPUS:-2}" -m "${IIDE_VM_MEM:-2048}" \
    -kernel "$(qe "$img/vmlinuz")" -initrd "$(qe "$img/initrd.img")" -append "$append" \
    -drive "file=$(qe "$img/disk.img"),format=raw,if=virtio,snapshot=on,cache=unsafe" \
    -fsdev "local,id=hostshare,path=$(qe "$share"),security_model=none,readonly=on,multidevs=remap" \
    -device virtio-9p-pci,fsdev=hostshare,mount_tag=host \
    -nic none \
    -serial "file:$(qe "$console")" \
    -serial "file:$(qe "$out")" \
    "${extra[@]}" \
    </dev/null >"$rundir/qemu.log" 2>&1 &
qemu_pid=$!
t_qemu=$EPOCHREALTIME
log "QEMU started (accel $accel, ${IIDE_VM_CPUS:-2} vCPUs, ${IIDE_VM_MEM:-2048} MiB; timeout ${timeout}s)"

# Follow the guest's ttyS1 as QEMU writes it (tail -F follows by inotify: lines arrive at once).
# tail --pid cannot notice QEMU's end (a zombie child counts as alive), so the loop polls
# qemu_running itself.
exec 3< <(exec setpriv --pdeathsig TERM -- tail -n +1 -F "$out" 2>/dev/null)
tail_pid=$!

code=
first_output=
partial=
exit_re='^(.*)IIDE-VM-EXIT ([0-9]+)$'

# One complete line from ttyS1. Returns 1 once the exit marker has been seen.
handle_line() {
    local line=${1%$'\r'}
    if [[ $line == IIDE-VM-START ]]; then
        log "guest runner started $(since "$t_qemu") s after QEMU start"
    elif [[ $line =~ $exit_re ]]; then
        # The test's last line may lack a newline; the marker then ends that line.
        [[ -z ${BASH_REMATCH[1]} ]] || printf '%s\n' "${BASH_REMATCH[1]}"
        code=${BASH_REMATCH[2]}
        return 1
    else
        if [[ -z $first_output ]]; then
            first_output=$(since "$t_qemu")
            log "first output line $first_output s after QEMU start"
        fi
        printf '%s\n' "$line"
    fi
}

timed_out() {
    [[ -z $partial ]] || printf '%s\n' "$partial"
    printf '[vm] error: timed out after %s s (IIDE_VM_TIMEOUT=%s); killing QEMU\n' "$(since "$t_start")" "$timeout" >&2
    show_console_tail 40
    exit 124
}

deadline=$timeout
qemu_gone_at=
while :; do
    ((SECONDS < deadline)) || timed_out
    line=
    st=0
    IFS= read -r -t 1 -u 3 line || st=$?
    if ((st == 0)); then
        line=$partial$line
        partial=
        handle_line "$line" || break
        continue
    fi
    # On a timeout read keeps what it got of an unfinished line: keep it for the next read.
    partial+=$line
    ((st > 128)) || break # tail itself ended: nothing more can come
    if ! qemu_running; then
        # Give tail a moment to deliver what QEMU wrote last, then stop.
        if [[ -z $qemu_gone_at ]]; then
            qemu_gone_at=$SECONDS
        elif ((SECONDS - qemu_gone_at >= 2)); then
            break
        fi
    fi
done

if [[ -z $code ]]; then
    [[ -z $partial ]] || printf '%s\n' "$partial"
    qst=0
    ! qemu_running || kill -TERM "$qemu_pid" 2>/dev/null || true
    wait "$qemu_pid" 2>/dev/null || qst=$?
    qemu_pid=
    printf '[vm] error: the VM stopped (QEMU exit %s) without reporting an exit code\n' "$qst" >&2
    show_console_tail 40
    exit 125
fi

# The guest powers itself off after the marker, but nothing on the disk snapshot matters: stop now.
log "run-in-vm exited $code; total $(since "$t_start") s (QEMU up $(since "$t_qemu") s)"
exit "$((code > 255 ? 255 : code))"
