//! Working as the invoking user while running as root under sudo.
//!
//! Under `sudo localca …`, everything in the user's home (the CA home, NSS databases, Firefox
//! profiles) is controlled by the user, who can plant symlinks there. Instead of checking every
//! path by hand, localca does that work *as the user*: [`AsUser::enter`] switches the process's
//! effective user and group ids (and supplementary groups) to the user's, so the kernel applies the
//! user's permissions to every file operation; dropping the guard switches back. The real and saved
//! user ids stay root's, so the user can neither signal nor trace the process meanwhile (the kernel
//! also marks it non-dumpable when the effective id changes).
//!
//! A program started while the switch is active (`certutil`) runs fully as the user: real, effective
//! and saved ids, no capabilities (see [`Cmd`](crate::runner::Cmd)). Otherwise its real uid 0 would
//! give it root's capabilities back, and `certutil` loads the PKCS#11 modules named in the user's
//! `pkcs11.txt`.
//!
//! On Linux the switch is per thread (credentials are per thread in the kernel; the raw system
//! calls are used so that other threads keep root's ids), elsewhere process-wide. It is re-entrant:
//! nested guards for the same user only count.

use std::io;

/// A user to act as: (uid, gid).
pub type User = (u32, u32);

/// While alive, the process works with the user's ids (see the module docs). A no-op guard when no
/// user is given or the process is not root.
#[must_use = "the switch ends when the guard is dropped"]
#[derive(Debug)]
pub struct AsUser {
    #[cfg_attr(not(unix), allow(dead_code))]
    active: bool,
}

#[cfg(unix)]
mod imp {
    use super::User;
    use std::cell::RefCell;
    use std::io;

    struct State {
        user: User,
        depth: usize,
        saved_egid: libc::gid_t,
        saved_groups: Vec<libc::gid_t>,
    }

    thread_local! {
        static STATE: RefCell<Option<State>> = const { RefCell::new(None) };
    }

    fn check(rc: libc::c_long) -> io::Result<()> {
        if rc == 0 {
            Ok(())
        } else {
            Err(io::Error::last_os_error())
        }
    }

    // On Linux, credentials belong to each thread and the raw system calls change only the
    // calling thread's (glibc's wrappers would change every thread's): other threads of a
    // program using the library keep working as root meanwhile. Threads and processes started
    // from the switched thread inherit its ids.
    #[cfg(target_os = "linux")]
    mod sys {
        pub fn setgroups(groups: &[libc::gid_t]) -> libc::c_long {
            // SAFETY: the pointer and length describe a valid slice.
            unsafe { libc::syscall(libc::SYS_setgroups, groups.len(), groups.as_ptr()) }
        }
        pub fn setegid(gid: libc::gid_t) -> libc::c_long {
            // SAFETY: plain system call; -1 leaves the real and saved ids.
            unsafe { libc::syscall(libc::SYS_setresgid, -1 as libc::c_int, gid, -1 as libc::c_int) }
        }
        pub fn seteuid(uid: libc::uid_t) -> libc::c_long {
            // SAFETY: plain system call; -1 leaves the real and saved ids.
            unsafe { libc::syscall(libc::SYS_setresuid, -1 as libc::c_int, uid, -1 as libc::c_int) }
        }
    }

    // Elsewhere the switch is process-wide.
    #[cfg(not(target_os = "linux"))]
    mod sys {
        pub fn setgroups(groups: &[libc::gid_t]) -> libc::c_long {
            // SAFETY: the pointer and length describe a valid slice.
            libc::c_long::from(unsafe { libc::setgroups(groups.len() as _, groups.as_ptr()) })
        }
        pub fn setegid(gid: libc::gid_t) -> libc::c_long {
            // SAFETY: plain system call.
            libc::c_long::from(unsafe { libc::setegid(gid) })
        }
        pub fn seteuid(uid: libc::uid_t) -> libc::c_long {
            // SAFETY: plain system call.
            libc::c_long::from(unsafe { libc::seteuid(uid) })
        }
    }

    fn groups() -> io::Result<Vec<libc::gid_t>> {
        // SAFETY: a null buffer with size 0 only asks for the count.
        let n = unsafe { libc::getgroups(0, std::ptr::null_mut()) };
        if n < 0 {
            return Err(io::Error::last_os_error());
        }
        let mut groups = vec![0; n as usize];
        // SAFETY: the buffer holds `n` entries.
        let n = unsafe { libc::getgroups(n, groups.as_mut_ptr()) };
        if n < 0 {
            return Err(io::Error::last_os_error());
        }
        groups.truncate(n as usize);
        Ok(groups)
    }

    pub fn enter(user: User) -> io::Result<bool> {
        STATE.with(|state| {
            let mut state = state.borrow_mut();
            if let Some(s) = state.as_mut() {
                if s.user != user {
                    return Err(io::Error::other("already working as another user"));
                }
                s.depth += 1;
                return Ok(true);
            }
            // SAFETY: geteuid and getegid have no preconditions.
            if unsafe { libc::geteuid() } != 0 {
                return Ok(false); // not root: we already are whoever we are
            }
            let saved_egid = unsafe { libc::getegid() };
            let saved_groups = groups()?;
            let (uid, gid) = user;
            let switched = check(sys::setgroups(&[gid]))
                .and_then(|()| check(sys::setegid(gid)))
                .and_then(|()| check(sys::seteuid(uid)));
            if let Err(e) = switched {
                restore(saved_egid, &saved_groups);
                return Err(e);
            }
            *state = Some(State { user, depth: 1, saved_egid, saved_groups });
            Ok(true)
        })
    }

    pub fn leave() {
        STATE.with(|state| {
            let mut state = state.borrow_mut();
            let Some(s) = state.as_mut() else { return };
            s.depth -= 1;
            if s.depth == 0 {
                let s = state.take().expect("state");
                restore(s.saved_egid, &s.saved_groups);
            }
        })
    }

    fn restore(egid: libc::gid_t, groups: &[libc::gid_t]) {
        // The real and saved uid are 0, so going back is allowed.
        let back = check(sys::seteuid(0))
            .and_then(|()| check(sys::setegid(egid)))
            .and_then(|()| check(sys::setgroups(groups)));
        if let Err(e) = back {
            // Carrying on half-switched could do root's work as the user or the reverse: stop.
            eprintln!("localca: cannot switch back to root: {e}");
            std::process::abort();
        }
    }

    pub fn current() -> Option<User> {
        STATE.with(|state| state.borrow().as_ref().map(|s| s.user))
    }

    /// In a forked child, before exec: become `user` for good (real, effective and saved ids).
    pub fn drop_for_exec(user: User) -> io::Result<()> {
        let (uid, gid) = user;
        // The child has one thread, so the raw calls cover the process. The real uid is 0, so
        // seteuid(0) is allowed and gives back the rights the next calls need.
        check(sys::seteuid(0))?;
        check(sys::setgroups(&[gid]))?;
        // SAFETY: async-signal-safe system calls in the child between fork and exec.
        check(libc::c_long::from(unsafe { libc::setgid(gid) }))?;
        check(libc::c_long::from(unsafe { libc::setuid(uid) }))
    }
}

impl AsUser {
    /// Starts working as `user` when given and the process is root; otherwise a no-op guard.
    pub fn enter(user: Option<User>) -> io::Result<AsUser> {
        #[cfg(unix)]
        if let Some(user) = user {
            return imp::enter(user).map(|active| AsUser { active });
        }
        let _ = user;
        Ok(AsUser { active: false })
    }
}

impl Drop for AsUser {
    fn drop(&mut self) {
        #[cfg(unix)]
        if self.active {
            imp::leave();
        }
    }
}

/// The user this thread is working as right now, if [`AsUser`] switched it.
pub fn current_user() -> Option<User> {
    #[cfg(unix)]
    return imp::current();
    #[cfg(not(unix))]
    None
}

/// Makes `cmd` run fully as `user` (ids and groups set in the child before exec). For use while
/// [`current_user`] is set.
#[cfg(unix)]
pub(crate) fn run_as(cmd: &mut std::process::Command, user: User) {
    use std::os::unix::process::CommandExt;
    // SAFETY: the closure only makes async-signal-safe system calls.
    unsafe {
        cmd.pre_exec(move || imp::drop_for_exec(user));
    }
}
