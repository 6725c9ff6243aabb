//! The seccomp filter of every sandbox, handed to bubblewrap (`--seccomp FD`), which loads it
//! last, right before the candidate's program runs.
//!
//! Modelled on Docker's default profile, as a deny list: the calls that profile refuses to a
//! container without capabilities, and which no interview's program needs, fail with EPERM:
//! kernel keyrings, bpf, perf events, userfaultfd, io_uring (a large, often-exploited surface),
//! every mount and namespace call (with `--disable-userns` it is the second lock on nested user
//! namespaces), kexec, modules, clocks, swap, reboot, the kernel log, quotas, and file handles
//! (`open_by_handle_at` escapes bind mounts). `clone` with a namespace flag is refused too;
//! `clone3`, whose flags sit in memory a filter cannot read, answers ENOSYS, so libc falls back
//! to `clone` (what Docker does). Everything else is allowed: compilers, the JVM, Go, Node,
//! code-server and the exercises' apps keep working.

use std::collections::BTreeMap;
use std::io::Write;
use std::os::fd::OwnedFd;
use std::sync::OnceLock;

use seccompiler::{
    BpfProgram, SeccompAction, SeccompCmpArgLen, SeccompCmpOp, SeccompCondition, SeccompFilter,
    SeccompRule, TargetArch,
};

/// Refused with EPERM whatever their arguments.
const DENIED: &[i64] = &[
    libc::SYS_add_key,
    libc::SYS_request_key,
    libc::SYS_keyctl,
    libc::SYS_bpf,
    libc::SYS_perf_event_open,
    libc::SYS_userfaultfd,
    libc::SYS_io_uring_setup,
    libc::SYS_io_uring_enter,
    libc::SYS_io_uring_register,
    libc::SYS_mount,
    libc::SYS_umount2,
    libc::SYS_pivot_root,
    libc::SYS_move_mount,
    libc::SYS_open_tree,
    libc::SYS_fsopen,
    libc::SYS_fsconfig,
    libc::SYS_fsmount,
    libc::SYS_fspick,
    libc::SYS_mount_setattr,
    libc::SYS_unshare,
    libc::SYS_setns,
    libc::SYS_kexec_load,
    libc::SYS_kexec_file_load,
    libc::SYS_init_module,
    libc::SYS_finit_module,
    libc::SYS_delete_module,
    libc::SYS_clock_settime,
    libc::SYS_clock_adjtime,
    libc::SYS_settimeofday,
    libc::SYS_adjtimex,
    libc::SYS_acct,
    libc::SYS_swapon,
    libc::SYS_swapoff,
    libc::SYS_reboot,
    libc::SYS_syslog,
    libc::SYS_quotactl,
    libc::SYS_name_to_handle_at,
    libc::SYS_open_by_handle_at,
    libc::SYS_lookup_dcookie,
    libc::SYS_vhangup,
    libc::SYS_fanotify_init,
    #[cfg(target_arch = "x86_64")]
    libc::SYS_iopl,
    #[cfg(target_arch = "x86_64")]
    libc::SYS_ioperm,
    #[cfg(target_arch = "x86_64")]
    libc::SYS_uselib,
    #[cfg(target_arch = "x86_64")]
    libc::SYS_ustat,
    #[cfg(target_arch = "x86_64")]
    libc::SYS_sysfs,
];

/// Namespace flags `clone` may not be given.
const NAMESPACE_FLAGS: &[i32] = &[
    libc::CLONE_NEWUSER,
    libc::CLONE_NEWNS,
    libc::CLONE_NEWNET,
    libc::CLONE_NEWPID,
    libc::CLONE_NEWIPC,
    libc::CLONE_NEWUTS,
    libc::CLONE_NEWCGROUP,
    libc::CLONE_NEWTIME,
];

#[cfg(target_arch = "x86_64")]
const ARCH: TargetArch = TargetArch::x86_64;
#[cfg(target_arch = "aarch64")]
const ARCH: TargetArch = TargetArch::aarch64;
#[cfg(target_arch = "riscv64")]
const ARCH: TargetArch = TargetArch::riscv64;

/// The two programs: EPERM for the deny list and namespace flags, ENOSYS for clone3 (one
/// program has one action for what it matches; bwrap loads both and the kernel runs both).
fn programs() -> Result<[BpfProgram; 2], seccompiler::Error> {
    let mut rules: BTreeMap<i64, Vec<SeccompRule>> =
        DENIED.iter().map(|&nr| (nr, vec![])).collect();
    // `clone`'s flags: the first argument on x86_64 and arm64 alike.
    let clone_rules = NAMESPACE_FLAGS
        .iter()
        .map(|&flag| {
            SeccompRule::new(vec![SeccompCondition::new(
                0,
                SeccompCmpArgLen::Qword,
                SeccompCmpOp::MaskedEq(flag as u64),
                flag as u64,
            )?])
        })
        .collect::<Result<Vec<_>, _>>()?;
    rules.insert(libc::SYS_clone, clone_rules);
    let deny = SeccompFilter::new(
        rules,
        SeccompAction::Allow,
        SeccompAction::Errno(libc::EPERM as u32),
        ARCH,
    )?;
    let clone3 = SeccompFilter::new(
        BTreeMap::from([(libc::SYS_clone3, vec![])]),
        SeccompAction::Allow,
        SeccompAction::Errno(libc::ENOSYS as u32),
        ARCH,
    )?;
    Ok([deny.try_into()?, clone3.try_into()?])
}

static PROGRAMS: OnceLock<Result<[Vec<u8>; 2], String>> = OnceLock::new();

/// The programs as bytes, the form bwrap reads (`struct sock_filter` in native order).
fn program_bytes() -> Result<&'static [Vec<u8>; 2], String> {
    PROGRAMS
        .get_or_init(|| {
            let encode = |program: &BpfProgram| {
                let mut out = Vec::with_capacity(program.len() * 8);
                for ins in program {
                    out.extend_from_slice(&ins.code.to_ne_bytes());
                    out.push(ins.jt);
                    out.push(ins.jf);
                    out.extend_from_slice(&ins.k.to_ne_bytes());
                }
                out
            };
            let [deny, clone3] = programs().map_err(|e| e.to_string())?;
            Ok([encode(&deny), encode(&clone3)])
        })
        .as_ref()
        .map_err(Clone::clone)
}

/// Pipes holding the programs, read ends returned (close-on-exec; the pre-exec step clears that
/// for the child). Pipes per sandbox: an fd shared between two bwraps would share its offset.
pub fn program_pipes() -> std::io::Result<Vec<OwnedFd>> {
    let programs = program_bytes().map_err(std::io::Error::other)?;
    programs
        .iter()
        .map(|bytes| {
            let (read, write) = rustix::pipe::pipe_with(rustix::pipe::PipeFlags::CLOEXEC)?;
            // A few hundred bytes: far below a pipe's buffer, so this never blocks.
            std::fs::File::from(write).write_all(bytes)?;
            Ok(read)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_filter_compiles() {
        let [deny, clone3] = super::program_bytes().unwrap();
        assert!(deny.len() > 8 * 40 && deny.len() % 8 == 0);
        assert!(!clone3.is_empty() && clone3.len() % 8 == 0);
    }
}
