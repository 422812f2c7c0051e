#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]
//! Drives `mfa app-password new | hash | verify --hash PHC`: output format, stdin as typed, exit statuses
//! 0 (match), 1 (no match), 2 (bad input, one line on stderr), and a known answer from argon2-cffi.

use std::io::Write;
use std::process::{Command, Output, Stdio};

fn mfa(args: &[&str], stdin: Option<&str>) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_mfa"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut pipe = child.stdin.take().unwrap();
    if let Some(input) = stdin {
        // The binary may exit before reading (a usage error, a malformed --hash): a closed pipe is fine.
        if let Err(e) = pipe.write_all(input.as_bytes()) {
            assert_eq!(e.kind(), std::io::ErrorKind::BrokenPipe, "{e}");
        }
    }
    drop(pipe);
    child.wait_with_output().unwrap()
}

fn status(args: &[&str], stdin: &str) -> i32 {
    let out = mfa(args, Some(stdin));
    if out.status.code() != Some(2) {
        assert!(out.stderr.is_empty(), "{}", String::from_utf8_lossy(&out.stderr));
    }
    out.status.code().unwrap()
}

/// Exit 2, nothing on stdout, exactly one line on stderr, no panic.
fn bad(args: &[&str], stdin: Option<&str>) -> String {
    let out = mfa(args, stdin);
    let err = String::from_utf8(out.stderr).unwrap();
    assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
    assert!(out.stdout.is_empty(), "{args:?}");
    assert_eq!(err.lines().count(), 1, "{args:?}: {err:?}");
    assert!(err.starts_with("mfa: ") && err.ends_with('\n'), "{err:?}");
    assert!(!err.contains("panicked"), "{err}");
    err
}

/// argon2-cffi 25.1.0 (libargon2): `hash_secret(b"abcdefghijklmnop", b"saltsaltsaltsalt", time_cost=2,
/// memory_cost=19456, parallelism=1, hash_len=32, type=Type.ID, version=19)`.
const CFFI: &str =
    "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHRzYWx0c2FsdA$IMQvBp3wckdRQmgb7flOc1PmUxPJQrUREZJjuES2xi0";

#[test]
fn new_prints_four_groups_of_four_lowercase_letters() {
    let mut seen = Vec::new();
    for _ in 0..3 {
        let out = mfa(&["app-password", "new"], None);
        assert_eq!(out.status.code(), Some(0));
        let line = String::from_utf8(out.stdout).unwrap();
        let password = line.strip_suffix('\n').unwrap();
        let groups: Vec<&str> = password.split(' ').collect();
        assert_eq!(groups.len(), 4, "{password:?}");
        assert!(
            groups
                .iter()
                .all(|g| g.len() == 4 && g.bytes().all(|b| b.is_ascii_lowercase()))
        );
        assert!(!seen.contains(&line));
        seen.push(line);
    }
}

#[test]
fn hash_then_verify_as_typed() {
    let out = mfa(&["app-password", "hash"], Some("qhzv ncte wpxa lmrd\n"));
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let phc = String::from_utf8(out.stdout).unwrap();
    let phc = phc.strip_suffix('\n').unwrap();
    assert!(phc.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{phc}");

    let verify = ["app-password", "verify", "--hash", phc];
    assert_eq!(status(&verify, "qhzv ncte wpxa lmrd\n"), 0);
    assert_eq!(status(&verify, "QHZV-NCTE-WPXA-LMRD"), 0);
    assert_eq!(status(&verify, "qhzvnctewpxalmrd\r\n"), 0);
    assert_eq!(status(&verify, "qhzv ncte wpxa lmrq\n"), 1);
    assert_eq!(status(&verify, "abcd efgh ijkl mnop\n"), 1);
}

#[test]
fn verifies_a_hash_made_by_another_implementation() {
    let verify = ["app-password", "verify", "--hash", CFFI];
    assert_eq!(status(&verify, "abcd efgh ijkl mnop\n"), 0);
    assert_eq!(status(&verify, "abcd efgh ijkl mnoq\n"), 1);
}

#[test]
fn bad_input_is_exit_2_with_one_line() {
    let err = bad(
        &["app-password", "verify", "--hash", "$argon2id$v=19$m=19456"],
        Some("abcdefghijklmnop\n"),
    );
    assert!(err.contains("malformed"), "{err}");
    let hostile = CFFI.replace("m=19456", "m=4294967295");
    let err = bad(
        &["app-password", "verify", "--hash", &hostile],
        Some("abcdefghijklmnop\n"),
    );
    assert!(err.contains("exceeds the limit"), "{err}");
    bad(
        &["app-password", "verify", "--hash", "bcrypt$2b$12$abc"],
        Some("abcdefghijklmnop\n"),
    );
    bad(&["app-password", "verify", "--hash", CFFI], Some("abcd 1234\n"));
    bad(&["app-password", "verify", "--hash", CFFI], Some(""));
    bad(&["app-password", "verify"], Some("abcdefghijklmnop\n"));
    bad(&["app-password", "hash"], Some("\n"));
    bad(&["app-password", "hash"], Some("pass word!\n"));
    bad(&["app-password", "hash"], None);
    bad(&["app-password", "new", "extra"], None);
    bad(&["app-password"], None);
}
