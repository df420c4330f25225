//! build-aux/install-helper.sh into a DESTDIR: every file where D-Bus, systemd and polkit look.

use std::path::Path;
use std::process::Command;

#[test]
fn the_helper_installs_where_dbus_systemd_and_polkit_expect_it() {
    let repo = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let dest = tempfile::tempdir().expect("tmp");
    // Any executable stands in for the binary: this checks the layout, not the build.
    let o = Command::new(repo.join("build-aux/install-helper.sh"))
        .env("DESTDIR", dest.path())
        .env("PASSAGE_HELPER_BIN", env!("CARGO_BIN_EXE_passagectl"))
        .output()
        .expect("install");
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let d = dest.path();
    for f in [
        "usr/libexec/passage-helper",
        "usr/share/dbus-1/system.d/io.github.passage.Helper1.conf",
        "usr/share/dbus-1/system-services/io.github.passage.Helper1.service",
        "usr/lib/systemd/system/passage-helper.service",
        "usr/lib/systemd/system/passage-helper-recover.service",
        "usr/lib/systemd/system-preset/90-passage.preset",
        "usr/share/polkit-1/actions/io.github.passage.policy",
    ] {
        assert!(d.join(f).is_file(), "{f} missing");
    }
    // systemctl preset (run by the script on the DESTDIR) enabled the boot-time recovery.
    let wants = d.join("etc/systemd/system/sysinit.target.wants/passage-helper-recover.service");
    assert!(
        wants.is_symlink(),
        "the recovery unit is not enabled: {}",
        String::from_utf8_lossy(&o.stdout)
    );
    let activation = std::fs::read_to_string(
        d.join("usr/share/dbus-1/system-services/io.github.passage.Helper1.service"),
    )
    .expect("read");
    assert!(
        activation.contains("Exec=/usr/libexec/passage-helper")
            && activation.contains("SystemdService=passage-helper.service")
            && activation.contains("User=root"),
        "{activation}"
    );
    let unit = std::fs::read_to_string(d.join("usr/lib/systemd/system/passage-helper.service"))
        .expect("read");
    assert!(
        unit.contains("Type=dbus")
            && unit.contains("BusName=io.github.passage.Helper1")
            && unit.contains("ProtectSystem=strict")
            && unit.contains("ExecStart=/usr/libexec/passage-helper"),
        "{unit}"
    );
    let recover =
        std::fs::read_to_string(d.join("usr/lib/systemd/system/passage-helper-recover.service"))
            .expect("read");
    assert!(
        recover.contains("ExecStart=/usr/libexec/passage-helper --recover")
            && recover.contains("Type=oneshot"),
        "{recover}"
    );
    // `@system-service` is a system-call group; `@libexecdir@` would be a placeholder left.
    for text in [&unit, &activation, &recover] {
        assert!(
            !text.contains("@libexecdir@"),
            "every placeholder substituted"
        );
    }
    // The policy and busconfig are well-formed XML that polkit and dbus accept.
    let o = Command::new("xmllint")
        .args(["--noout"])
        .arg(d.join("usr/share/polkit-1/actions/io.github.passage.policy"))
        .arg(d.join("usr/share/dbus-1/system.d/io.github.passage.Helper1.conf"))
        .output()
        .expect("xmllint (libxml2-utils, installed by build-aux/install-deps.sh)");
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let policy =
        std::fs::read_to_string(d.join("usr/share/polkit-1/actions/io.github.passage.policy"))
            .expect("read");
    for action in [
        "setup-gpu",
        "configure-boot",
        "manage-devices",
        "configure-display",
        "manage-memory",
        "authorize-vm",
        "override-host-devices",
        "undo",
        "history",
        "history-all",
        "read-rom",
    ] {
        assert!(
            policy.contains(&format!("id=\"io.github.passage.{action}\"")),
            "{action}"
        );
    }
    assert_eq!(
        policy.matches("auth_admin_keep").count(),
        9,
        "privileged verbs keep authorization briefly"
    );
    // Taking a device the host needs is asked every time.
    let over = policy
        .split("io.github.passage.override-host-devices")
        .nth(1)
        .and_then(|r| r.split("</action>").next())
        .unwrap_or("");
    assert!(
        over.contains("<allow_active>auth_admin</allow_active>"),
        "{over}"
    );
}
