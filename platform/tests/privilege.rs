//! `AsUser`: as root, work as another user in one thread only, and run tools fully as that user.

#[cfg(target_os = "linux")]
#[test]
fn as_user_switches_this_thread_and_tools_run_fully_as_the_user() {
    use localca_platform::privilege::{current_user, AsUser};
    use localca_platform::runner::Cmd;

    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        eprintln!("SKIPPED as_user_switches_this_thread: needs root");
        return;
    }
    let nobody = (65534, 65534);
    let (go, wait) = std::sync::mpsc::channel::<()>();
    let other = std::thread::spawn(move || {
        wait.recv().unwrap();
        // SAFETY: as above.
        unsafe { libc::geteuid() }
    });
    {
        let _user = AsUser::enter(Some(nobody)).unwrap();
        let _nested = AsUser::enter(Some(nobody)).unwrap();
        assert_eq!(current_user(), Some(nobody));
        // SAFETY: as above.
        assert_eq!(unsafe { (libc::geteuid(), libc::getegid(), libc::getuid()) }, (65534, 65534, 0));
        // A thread that was running before keeps root's ids.
        go.send(()).unwrap();
        assert_eq!(other.join().unwrap(), 0, "the switch leaked into another thread");
        // A tool started now runs with every id the user's: no way back to root.
        let ids = Cmd::new("sh").args(["-c", "echo $(id -ru) $(id -u) $(id -rg) $(id -G)"]).run().unwrap();
        assert_eq!(ids.stdout.trim(), "65534 65534 65534 65534");
        let status = std::fs::read_to_string("/proc/thread-self/status").unwrap();
        let uid_line = status.lines().find(|l| l.starts_with("Uid:")).unwrap().to_string();
        assert!(uid_line.split_whitespace().nth(2) == Some("65534"), "{uid_line}");
        // Files root alone may read are out of reach.
        let shadow = std::path::Path::new("/etc/shadow");
        assert!(!shadow.exists() || std::fs::read(shadow).is_err());
    }
    assert_eq!(current_user(), None);
    // SAFETY: as above.
    assert_eq!(unsafe { (libc::geteuid(), libc::getegid()) }, (0, 0));
    assert!(!std::path::Path::new("/etc/shadow").exists() || std::fs::read("/etc/shadow").is_ok());
    // Not root or no user: a no-op.
    let _none = AsUser::enter(None).unwrap();
    assert_eq!(current_user(), None);
}
