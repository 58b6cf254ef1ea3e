//! `regentra roles`: the role-to-permission matrix, or one role's
//! permissions, on stdout; an unknown role refused.

use crate::support::process::run as regentra;

use regentra_core::rbac::{Permission, Role};

fn ok(args: &[&str]) -> String {
    let out = regentra(args);
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("utf-8")
}

#[test]
fn roles_prints_the_matrix_and_one_roles_permissions() {
    let matrix = ok(&["roles"]);
    assert_eq!(matrix, regentra_http::cli::matrix());
    assert_eq!(matrix.lines().count(), Permission::ALL.len() + 1);
    let header = matrix.lines().next().expect("a header");
    for role in Role::ALL {
        assert!(header.contains(role.key()), "{header}");
    }
    let technician = ok(&["roles", "--role", "technician"]);
    assert_eq!(
        technician,
        regentra_http::cli::role_permissions(Role::Technician)
    );
    assert!(technician.contains("tickets.manage\n"), "{technician}");
}

#[test]
fn an_unknown_role_is_refused_with_the_known_ones() {
    let out = regentra(&["roles", "--role", "root"]);
    assert!(!out.status.success());
    assert!(out.stdout.is_empty());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("unknown role `root`") && stderr.contains("technician"),
        "{stderr}"
    );
}
