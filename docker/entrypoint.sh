#!/bin/bash
# Entry point of the interview-ide image: prepares what the workspace sandbox (bubblewrap) needs
# from the container, then runs the command (the server) with the fewest privileges it works with.
#
# The container is started with the capabilities CHOWN, DAC_OVERRIDE, FOWNER, SETUID, SETGID,
# KILL, SYS_ADMIN and SETPCAP and the seccomp profile docker/seccomp.json (see
# docker-compose.yml). SYS_ADMIN is used here only:
#  - to mount a second, unmasked procfs at /run/iide/proc. Docker masks parts of /proc
#    (/proc/kcore, /proc/sys, ...), and the kernel lets an unprivileged user namespace (which is
#    what bubblewrap makes for every sandbox) mount a new procfs only if a fully visible one
#    exists in the mount namespace. It is mounted with subset=pid: processes only;
#  - to make the server's own cgroup v1 subtrees writable (memory, pids, cpu), so each sandbox
#    gets its own memory/process/CPU limits instead of resource limits alone.
# Then SYS_ADMIN and SETPCAP are removed from the capability bounding set: the server and
# everything it starts can never hold them.
set -euo pipefail

warn() { echo "docker-entrypoint: $*" >&2; }

# An empty variable means "not set": docker-compose.yml passes every setting as ${NAME:-}, and
# the server would otherwise read an empty value as a (wrong) value.
for name in $(compgen -e); do
  [ -n "${!name}" ] || unset "$name"
done

has_cap() { # has_cap <number>: the capability is in this process's effective set
  local eff
  eff="$(awk '/^CapEff:/ {print $2}' /proc/self/status)"
  (( (16#$eff >> $1) & 1 ))
}
CAP_SYS_ADMIN=21

if [ "$(id -u)" = 0 ]; then
  # Data folders: the sandboxes run as uids of their own and must traverse them.
  mkdir -p /data /data/workspaces /data/runs
  chmod o+x /data /data/workspaces
  # The slim image has no sandbox: nothing to prepare, and no privileges to keep.
  command -v bwrap >/dev/null || exec "$@"
  drop=()
  if has_cap $CAP_SYS_ADMIN; then
    mkdir -p /run/iide/proc
    chmod 0700 /run/iide
    if ! mountpoint -q /run/iide/proc; then
      # subset=pid (Linux 5.8+): the processes only, none of the host-wide files Docker masks
      # (/proc/sys, /proc/sysrq-trigger, /proc/kcore, ...); it still counts as fully visible.
      mount -t proc -o nosuid,nodev,noexec,subset=pid proc /run/iide/proc 2>/dev/null \
        || { warn "this kernel has no procfs subset=pid: the unmasked procfs at /run/iide/proc is a full one";
             mount -t proc -o nosuid,nodev,noexec proc /run/iide/proc; } \
        || warn "could not mount an unmasked procfs (AppArmor? run with --security-opt apparmor=unconfined)"
    fi
    # cgroup v2 (the container has a cgroup namespace of its own, Docker's default on such
    # hosts): its own subtree becomes writable; the server puts itself in a leaf and each
    # sandbox in a group below (the container's own limits above stay out of reach).
    if [ -e /sys/fs/cgroup/cgroup.controllers ]; then
      mount -o remount,rw /sys/fs/cgroup 2>/dev/null \
        || warn "could not make the container's cgroup (v2) writable: sandboxes will not start"
    fi
    # cgroup v1: only the server's own subtree (interview-ide) becomes writable, not the
    # container's own limits above it.
    for c in memory pids cpu cpu,cpuacct cpuacct; do
      d="/sys/fs/cgroup/$c"
      [ -d "$d" ] && [ ! -L "$d" ] && mountpoint -q "$d" || continue
      [ -e "$d/cgroup.procs" ] || continue
      mount -o remount,bind,rw "$d" 2>/dev/null || continue
      for sub in interview-ide; do
        mkdir -p "$d/$sub"
        mountpoint -q "$d/$sub" || mount --bind "$d/$sub" "$d/$sub"
      done
      mount -o remount,bind,ro "$d"
    done
    drop=(setpriv --bounding-set -sys_admin,-setpcap --)
  fi
  # A sandbox as the server will make them, as an unprivileged uid: say at once when the
  # container does not allow it (workspace sessions and server-side runs would fail).
  if ! "${drop[@]}" setpriv --reuid=65534 --regid=65534 --clear-groups \
      bwrap --unshare-all --die-with-parent --ro-bind /usr /usr --symlink usr/bin /bin \
        --symlink usr/lib /lib --symlink usr/lib64 /lib64 --proc /proc --dev /dev --tmpfs /tmp \
        /usr/bin/true 2>/tmp/bwrap-check.err; then
    warn "the workspace sandbox (bubblewrap) cannot run in this container: $(cat /tmp/bwrap-check.err)"
    warn "workspace sessions and server-side code runs will fail; pads work. The container needs"
    warn "cap_add SYS_ADMIN and SETPCAP (dropped again before the server starts), the seccomp"
    warn "profile docker/seccomp.json, on AppArmor hosts apparmor=unconfined, and a kernel that"
    warn "allows unprivileged user namespaces (see docs/DEPLOY.md)."
  fi
  rm -f /tmp/bwrap-check.err
  exec "${drop[@]}" "$@"
fi
exec "$@"
