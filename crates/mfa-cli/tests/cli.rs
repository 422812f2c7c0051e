#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]
//! Drives the `mfa` binary: RFC 6238 and RFC 4226 vectors through `mfa code` and `mfa verify`, URIs and
//! exports as JSON, QR codes decoded back with rqrr, exit statuses and one-line errors.

use std::io::Write;
use std::process::{Command, Output, Stdio};

use mfa_enroll::{KeyUri, Migration};
use mfa_otp::Secret;

fn mfa(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_mfa"))
        .args(args)
        .output()
        .unwrap()
}

fn mfa_stdin(args: &[&str], input: &str) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_mfa"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(input.as_bytes()).unwrap();
    child.wait_with_output().unwrap()
}

fn ok(args: &[&str]) -> String {
    let out = mfa(args);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.stderr.is_empty());
    String::from_utf8(out.stdout).unwrap()
}

/// Exit 2, nothing on stdout, exactly one line on stderr, no panic.
fn bad(args: &[&str]) -> String {
    let out = mfa(args);
    let err = String::from_utf8(out.stderr).unwrap();
    assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
    assert!(out.stdout.is_empty(), "{args:?}");
    assert_eq!(err.lines().count(), 1, "{args:?}: {err:?}");
    assert!(err.starts_with("mfa: ") && err.ends_with('\n'), "{err:?}");
    assert!(!err.contains("panicked") && !err.contains("backtrace"), "{err}");
    err
}

fn b32(bytes: &[u8]) -> String {
    Secret::from_bytes(bytes).unwrap().to_base32().to_string()
}

/// RFC 6238 Appendix B: seeds of 20, 32 and 64 bytes for SHA-1, SHA-256 and SHA-512; 8 digits; X = 30.
#[test]
fn rfc6238_vectors_through_code_and_verify() {
    let seeds = [
        ("sha1", b"12345678901234567890".to_vec()),
        ("sha256", b"12345678901234567890123456789012".to_vec()),
        (
            "sha512",
            b"1234567890123456789012345678901234567890123456789012345678901234".to_vec(),
        ),
    ];
    let table: [(u64, [&str; 3]); 6] = [
        (59, ["94287082", "46119246", "90693936"]),
        (1111111109, ["07081804", "68084774", "25091201"]),
        (1111111111, ["14050471", "67062674", "99943326"]),
        (1234567890, ["89005924", "91819424", "93441116"]),
        (2000000000, ["69279037", "90698825", "38618901"]),
        (20000000000, ["65353130", "77737706", "47863826"]),
    ];
    for (time, codes) in table {
        for ((alg, seed), expected) in seeds.iter().zip(codes) {
            let secret = b32(seed);
            let t = time.to_string();
            let args = [
                "--secret",
                &secret,
                "--algorithm",
                alg,
                "--digits",
                "8",
                "--time",
                &t,
            ];
            assert_eq!(
                ok(&[&["code"], &args[..]].concat()),
                format!("{expected}\n"),
                "{alg} T={time}"
            );
            // verify prints the matched time step T / 30.
            let step = ok(&[&["verify", "--code", expected], &args[..]].concat());
            assert_eq!(step, format!("{}\n", time / 30));
        }
    }
}

/// RFC 4226 Appendix D: secret "12345678901234567890", counters 0 to 9.
#[test]
fn rfc4226_vectors_through_code_and_verify() {
    let secret = b32(b"12345678901234567890");
    let codes = [
        "755224", "287082", "359152", "969429", "338314", "254676", "287922", "162583", "399871", "520489",
    ];
    for (counter, expected) in codes.iter().enumerate() {
        let c = counter.to_string();
        assert_eq!(
            ok(&["code", "--secret", &secret, "--hotp", "--counter", &c]),
            format!("{expected}\n")
        );
    }
    // From counter 3 with the default skew (look-ahead 1), the code of counter 4 matches: prints 4.
    assert_eq!(
        ok(&[
            "verify",
            "--secret",
            &secret,
            "--code",
            "338314",
            "--hotp",
            "--counter",
            "3"
        ]),
        "4\n"
    );
    // Counter 5 is out of that window: exit 1, nothing on stdout, the window searched on stderr.
    let out = mfa(&[
        "verify",
        "--secret",
        &secret,
        "--code",
        "254676",
        "--hotp",
        "--counter",
        "3",
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert!(out.stdout.is_empty());
    assert_eq!(
        String::from_utf8(out.stderr).unwrap(),
        "mfa: not valid: no HOTP counter from 3 to 4 matches (--counter 3, --skew 1)\n"
    );
    assert_eq!(
        ok(&[
            "verify",
            "--secret",
            &secret,
            "--code",
            "254676",
            "--hotp",
            "--counter",
            "3",
            "--skew",
            "2"
        ]),
        "5\n"
    );
}

#[test]
fn verify_window_and_failure() {
    let s = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ";
    let base = ["verify", "--secret", s, "--code", "94287082", "--digits", "8"];
    // The code of step 1 (T = 30..59) at T = 89 (step 2): within the default skew of 1.
    assert_eq!(ok(&[&base[..], &["--time", "89"]].concat()), "1\n");
    for (time, skew) in [("90", "1"), ("89", "0"), ("0", "0")] {
        let out = mfa(&[&base[..], &["--time", time, "--skew", skew]].concat());
        assert_eq!(out.status.code(), Some(1), "T={time} skew={skew}");
        assert!(out.stdout.is_empty());
    }
    assert_eq!(ok(&[&base[..], &["--time", "0", "--skew", "1"]].concat()), "1\n");
    // A code typed with a space still verifies.
    assert_eq!(
        ok(&[
            "verify",
            "--secret",
            s,
            "--code",
            "9428 7082",
            "--digits",
            "8",
            "--time",
            "59"
        ]),
        "1\n"
    );
}

#[test]
fn secrets_as_people_type_them() {
    // Lowercase, spaces, padding and a one-byte secret (oathtool accepts any length).
    let a = ok(&[
        "code",
        "--secret",
        "gezd gnbv gy3t qojq gezd gnbv gy3t qojq",
        "--time",
        "59",
        "--digits",
        "8",
    ]);
    assert_eq!(a, "94287082\n");
    assert_eq!(ok(&["code", "--secret", "ME======", "--time", "0"]).len(), 7);
    // `-` reads the secret from standard input.
    let out = mfa_stdin(
        &["code", "--secret", "-", "--time", "59", "--digits", "8"],
        "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ\n",
    );
    assert_eq!(String::from_utf8(out.stdout).unwrap(), "94287082\n");
    // Default time is now: a 6-digit code that verifies right away.
    let code = ok(&["code", "--secret", "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"]);
    assert_eq!(code.trim().len(), 6);
    let out = mfa(&[
        "verify",
        "--secret",
        "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ",
        "--code",
        code.trim(),
    ]);
    assert_eq!(out.status.code(), Some(0));
}

#[test]
fn new_secrets() {
    let s = ok(&["secret"]);
    assert_eq!(s.len(), 33);
    assert!(
        s.trim()
            .bytes()
            .all(|b| b.is_ascii_uppercase() || (b'2'..=b'7').contains(&b))
    );
    assert_eq!(Secret::from_base32(s.trim()).unwrap().bits(), 160);
    assert_ne!(ok(&["secret"]), s);
    assert_eq!(ok(&["secret", "--bytes", "32"]).trim().len(), 52);
    bad(&["secret", "--bytes", "8"]);
    bad(&["secret", "--bytes", "129"]);
    bad(&["secret", "--bytes", "-1"]);
}

#[test]
fn uri_new_and_parse() {
    let uri = ok(&[
        "uri",
        "new",
        "--issuer",
        "ACME Co",
        "--account",
        "jane+x@example.com",
        "--secret",
        "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ",
        "--algorithm",
        "SHA256",
        "--digits",
        "8",
        "--period",
        "60",
    ]);
    assert_eq!(
        uri,
        "otpauth://totp/ACME%20Co:jane%2Bx%40example.com?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ\
         &issuer=ACME%20Co&algorithm=SHA256&digits=8&period=60\n"
    );
    assert_eq!(
        ok(&["uri", "parse", uri.trim()]),
        "{\"type\":\"totp\",\"issuer\":\"ACME Co\",\"account\":\"jane+x@example.com\",\
         \"secret\":\"GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ\",\"algorithm\":\"SHA256\",\"digits\":8,\
         \"period\":60,\"counter\":null}\n"
    );
    // HOTP, generated secret.
    let uri = ok(&[
        "uri",
        "new",
        "--issuer",
        "I",
        "--account",
        "a",
        "--hotp",
        "--counter",
        "7",
    ]);
    let json: serde_json::Value = serde_json::from_str(&ok(&["uri", "parse", uri.trim()])).unwrap();
    assert_eq!(json["type"], "hotp");
    assert_eq!(json["counter"], 7);
    assert_eq!(json["period"], serde_json::Value::Null);
    assert_eq!(json["secret"].as_str().unwrap().len(), 32);
    // The Key Uri Format example: an 80-bit secret is fine to read.
    let json: serde_json::Value = serde_json::from_str(&ok(&[
        "uri",
        "parse",
        "otpauth://totp/Example:alice@google.com?secret=JBSWY3DPEHPK3PXP&issuer=Example",
    ]))
    .unwrap();
    assert_eq!(json["issuer"], "Example");
    assert_eq!(json["account"], "alice@google.com");
    assert_eq!(json["issuer"], "Example");
    assert_eq!(json["algorithm"], "SHA1");
    // Issuers that disagree: refused, or the parameter with the flag.
    let mismatch = "otpauth://totp/A:x?secret=JBSWY3DPEHPK3PXP&issuer=B";
    assert!(bad(&["uri", "parse", mismatch]).contains("issuer"));
    assert!(ok(&["uri", "parse", mismatch, "--prefer-issuer-parameter"]).contains("\"issuer\":\"B\""));
}

#[test]
fn bad_input_is_one_line_and_exit_2() {
    let s = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ";
    bad(&[]);
    bad(&["frobnicate"]);
    bad(&["code"]);
    bad(&["code", "--secret", s, "--unknown"]);
    bad(&["code", "--secret", "not base32!"]);
    bad(&["code", "--secret", ""]);
    bad(&["code", "--secret", s, "--digits", "5"]);
    bad(&["code", "--secret", s, "--digits", "300"]);
    bad(&["code", "--secret", s, "--period", "0"]);
    bad(&["code", "--secret", s, "--algorithm", "md5"]);
    bad(&["code", "--secret", s, "--time", "-1"]);
    bad(&["code", "--secret", s, "--hotp"]);
    bad(&["code", "--secret", s, "--counter", "1"]);
    // A time means nothing to HOTP: refused rather than ignored.
    bad(&["code", "--secret", s, "--hotp", "--counter", "1", "--time", "59"]);
    bad(&["verify", "--secret", s, "--code", "12ab56"]);
    bad(&["verify", "--secret", s]);
    bad(&["uri", "new", "--account", "a"]);
    bad(&["uri", "new", "--issuer", "A:B", "--account", "a"]);
    bad(&["uri", "new", "--issuer", "I", "--account", ""]);
    bad(&["uri", "parse", "http://example.com"]);
    bad(&["uri", "parse", "otpauth://totp/a?secret=JBSWY3DP"]);
    bad(&["qr", "otpauth://totp/a", "--format", "svg"]);
    bad(&[
        "qr",
        "otpauth://totp/a?secret=JBSWY3DPEHPK3PXP",
        "--format",
        "gif",
    ]);
    bad(&[
        "qr",
        "otpauth://totp/a?secret=JBSWY3DPEHPK3PXP",
        "--format",
        "png",
        "--scale",
        "0",
    ]);
    bad(&[
        "qr",
        "otpauth://totp/a?secret=JBSWY3DPEHPK3PXP",
        "--format",
        "svg",
        "--output",
        "/nonexistent/dir/x.svg",
    ]);
    bad(&["migration", "parse", "otpauth-migration://offline?data=*"]);
    bad(&[
        "migration",
        "export",
        "otpauth://totp/a?secret=JBSWY3DPEHPK3PXP&period=60",
    ]);
    // A message never repeats the secret.
    let err = bad(&["uri", "parse", "otpauth://totp/a?secret=JBSWY3DPEHPK3PX1"]);
    assert!(!err.contains("JBSW"));
}

#[test]
fn help_and_version_exit_0() {
    for args in [
        &["--help"][..],
        &["-h"],
        &["--version"],
        &["-V"],
        &["code", "--help"],
        &["help"],
        &["uri", "new", "--help"],
    ] {
        let out = ok(args);
        assert!(!out.is_empty(), "{args:?}");
    }
    assert!(ok(&["--version"]).starts_with("mfa "));
    let help = ok(&["--help"]);
    for sub in ["secret", "code", "verify", "uri", "qr", "migration"] {
        assert!(help.contains(sub), "{sub}");
    }
}

fn decode_png(bytes: &[u8]) -> Vec<String> {
    let mut decoder = png::Decoder::new(std::io::Cursor::new(bytes));
    decoder.set_transformations(png::Transformations::EXPAND);
    let mut reader = decoder.read_info().unwrap();
    let mut buf = vec![0; reader.output_buffer_size().unwrap()];
    let info = reader.next_frame(&mut buf).unwrap();
    let (w, h) = (info.width as usize, info.height as usize);
    let mut img = rqrr::PreparedImage::prepare_from_greyscale(w, h, |x, y| buf[y * w + x]);
    img.detect_grids()
        .into_iter()
        .map(|g| g.decode().unwrap().1)
        .collect()
}

#[test]
fn qr_outputs_decode() {
    let uri = "otpauth://totp/ACME%20Co:jane%40example.com?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&issuer=ACME%20Co";
    let dir = std::env::temp_dir().join(format!("mfa-cli-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("qr.png");
    assert_eq!(
        ok(&["qr", uri, "--format", "png", "--output", file.to_str().unwrap()]),
        ""
    );
    assert_eq!(decode_png(&std::fs::read(&file).unwrap()), vec![uri.to_owned()]);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(
            std::fs::metadata(&file).unwrap().permissions().mode() & 0o777,
            0o600
        );
        // An existing, world-readable file is narrowed to its owner before the secret goes in.
        let existing = dir.join("existing.svg");
        std::fs::write(&existing, "old").unwrap();
        std::fs::set_permissions(&existing, std::fs::Permissions::from_mode(0o644)).unwrap();
        ok(&[
            "qr",
            uri,
            "--format",
            "svg",
            "--output",
            existing.to_str().unwrap(),
        ]);
        assert_eq!(
            std::fs::metadata(&existing).unwrap().permissions().mode() & 0o777,
            0o600
        );
        assert!(std::fs::read_to_string(&existing).unwrap().starts_with("<svg "));
    }
    // PNG to a pipe is allowed.
    let out = mfa(&["qr", uri, "--format", "png"]);
    assert_eq!(decode_png(&out.stdout), vec![uri.to_owned()]);

    let svg = ok(&["qr", uri, "--format", "svg"]);
    assert!(svg.starts_with("<svg ") && svg.trim_end().ends_with("</svg>"));
    let url = ok(&["qr", uri, "--format", "data-url"]);
    assert!(url.starts_with("data:image/png;base64,"));

    // The terminal text, read back module by module, decodes too (dark background: blocks are light).
    let text = ok(&["qr", uri, "--format", "terminal"]);
    let mut rows: Vec<Vec<bool>> = Vec::new();
    for line in text.lines() {
        let halves: Vec<(bool, bool)> = line
            .chars()
            .map(|c| match c {
                '\u{2588}' => (true, true),
                '\u{2580}' => (true, false),
                '\u{2584}' => (false, true),
                ' ' => (false, false),
                other => panic!("{other:?}"),
            })
            .collect();
        rows.push(halves.iter().map(|h| !h.0).collect());
        rows.push(halves.iter().map(|h| !h.1).collect());
    }
    let side = rows[0].len();
    let mut img = rqrr::PreparedImage::prepare_from_bitmap(side * 3, side * 3, |x, y| rows[y / 3][x / 3]);
    let decoded: Vec<String> = img
        .detect_grids()
        .into_iter()
        .map(|g| g.decode().unwrap().1)
        .collect();
    assert_eq!(decoded, vec![uri.to_owned()]);
    let light = ok(&["qr", uri, "--format", "terminal", "--light-background"]);
    assert_ne!(light, text);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn migration_parse_and_export() {
    let a = KeyUri::totp(
        Secret::from_bytes(b"12345678901234567890").unwrap(),
        "alice@example.com",
    )
    .with_issuer("Example");
    let b = KeyUri::hotp(Secret::from_bytes(&[0x42; 16]).unwrap(), "bob", 5).with_digits(8);
    let export = Migration::new(vec![a.clone(), b.clone()]).to_uri().unwrap();
    let json: serde_json::Value =
        serde_json::from_str(&ok(&["migration", "parse", export.as_str()])).unwrap();
    assert_eq!(
        json,
        serde_json::json!([
            {"type": "totp", "issuer": "Example", "account": "alice@example.com",
             "secret": "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ", "algorithm": "SHA1", "digits": 6, "period": 30,
             "counter": null},
            {"type": "hotp", "issuer": null, "account": "bob", "secret": "IJBEEQSCIJBEEQSCIJBEEQSCII",
             "algorithm": "SHA1", "digits": 8, "period": null, "counter": 5},
        ])
    );
    // export then parse gives the same accounts.
    let again = ok(&[
        "migration",
        "export",
        a.to_uri().unwrap().as_str(),
        b.to_uri().unwrap().as_str(),
    ]);
    assert_eq!(Migration::parse(again.trim()).unwrap().credentials, vec![a, b]);
    // The export draws as a QR code too.
    assert!(ok(&["qr", again.trim(), "--format", "svg"]).starts_with("<svg"));
    assert_eq!(
        ok(&[
            "migration",
            "parse",
            Migration::new(vec![]).to_uri().unwrap().as_str()
        ]),
        "[]\n"
    );
}

#[test]
fn uri_parse_refuses_an_issuer_that_uri_new_refuses() {
    // Issue 12, item 6c: `uri new` and the migration export refused it, `uri parse` accepted it.
    let message = bad(&[
        "uri",
        "parse",
        "otpauth://totp/a?secret=JBSWY3DPEHPK3PXP&issuer=A%3AB",
    ]);
    assert!(message.contains("an issuer cannot contain ':'"), "{message}");
    let message = bad(&["uri", "new", "--issuer", "A:B", "--account", "a"]);
    assert!(message.contains("an issuer cannot contain ':'"), "{message}");
}

/// `mfa key new` prints a key the facade loads: base64 or hex, bare for the tag secret or as an
/// `ID:KEY` entry of the key ring; the advice goes to stderr, so `$(mfa key new)` is just the key.
#[test]
fn key_new_prints_keys_the_facade_loads() {
    let out = mfa(&["key", "new"]);
    assert_eq!(out.status.code(), Some(0));
    let key = String::from_utf8(out.stdout).unwrap();
    assert_eq!(key.trim_end().len(), 44, "{key}");
    assert!(String::from_utf8(out.stderr).unwrap().contains("MFA_TAG_SECRET"));
    mfa::TagSecret::parse(&key).unwrap();
    assert_ne!(ok_quiet(&["key", "new"]), key, "a new key each time");

    let entry = ok_quiet(&["key", "new", "--id", "7"]);
    assert!(entry.starts_with("7:"), "{entry}");
    let older = ok_quiet(&["key", "new", "--id", "3", "--hex"]);
    assert_eq!(older.trim_end().len(), 2 + 64, "{older}");
    let ring = mfa::KeyRing::parse(&format!("{},{}", entry.trim_end(), older.trim_end())).unwrap();
    assert_eq!(ring.current_id(), mfa::KeyId(7));
    bad(&["key", "new", "--id", "-1"]);
}

/// Exit 0; stdout only (stderr may carry advice).
fn ok_quiet(args: &[&str]) -> String {
    let out = mfa(args);
    assert_eq!(out.status.code(), Some(0), "{args:?}");
    String::from_utf8(out.stdout).unwrap()
}

/// Exit 1, nothing on stdout, one line on stderr saying what was searched.
fn not_valid(args: &[&str]) -> String {
    let out = mfa(args);
    let err = String::from_utf8(out.stderr).unwrap();
    assert_eq!(out.status.code(), Some(1), "{args:?}: {err}");
    assert!(out.stdout.is_empty());
    assert_eq!(err.lines().count(), 1, "{err:?}");
    err
}

#[test]
fn a_failed_verify_says_which_window_was_searched() {
    let secret = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ";
    let err = not_valid(&[
        "verify", "--secret", secret, "--code", "94287082", "--digits", "8", "--time", "1000",
    ]);
    assert_eq!(
        err,
        "mfa: not valid: no TOTP step from 32 to 34 matches \
         (1970-01-01T00:16:00Z to 1970-01-01T00:17:29Z, --skew 1 around 1970-01-01T00:16:40Z)\n"
    );
    let err = not_valid(&[
        "verify",
        "--secret",
        secret,
        "--code",
        "287083",
        "--hotp",
        "--counter",
        "1",
    ]);
    assert_eq!(
        err,
        "mfa: not valid: no HOTP counter from 1 to 2 matches (--counter 1, --skew 1)\n"
    );
}

#[test]
fn usage_errors_point_at_the_subcommands_help() {
    let uri = "otpauth://totp/a?secret=JBSWY3DPEHPK3PXP";
    assert!(bad(&["qr", uri, "--bogus"]).ends_with("(see mfa qr --help)\n"));
    assert!(bad(&["uri", "new", "--issuer", "X"]).ends_with("(see mfa uri new --help)\n"));
    assert_eq!(
        bad(&["uri"]),
        "mfa: a subcommand is required (see mfa uri --help)\n"
    );
    assert_eq!(bad(&[]), "mfa: a subcommand is required (see mfa --help)\n");
    assert!(bad(&["bogus"]).ends_with("(see mfa --help)\n"));
}

#[test]
fn qr_draws_for_the_terminal_by_default_and_scales_svg() {
    let uri = "otpauth://totp/a?secret=JBSWY3DPEHPK3PXP";
    assert_eq!(ok(&["qr", uri]), ok(&["qr", uri, "--format", "terminal"]));
    let side = mfa_enroll::QrCode::encode(uri).unwrap().width() + 2 * mfa_enroll::QUIET_ZONE;
    let svg = ok(&["qr", uri, "--format", "svg", "--scale", "2"]);
    assert!(
        svg.contains(&format!(" width=\"{}\" height=\"{}\" ", side * 2, side * 2)),
        "{svg}"
    );
    let svg = ok(&["qr", uri, "--format", "svg"]);
    assert!(
        svg.contains(&format!(" width=\"{}\" height=\"{}\" ", side * 8, side * 8)),
        "{svg}"
    );
    for format in ["terminal", "data-url"] {
        let err = bad(&["qr", uri, "--format", format, "--scale", "3"]);
        assert!(
            err.contains("--scale applies to --format png and svg only"),
            "{err}"
        );
    }
    assert!(bad(&["qr", uri, "--format", "svg", "--scale", "0"]).contains("1 to 64"));
}

#[test]
fn an_issuer_mismatch_names_the_option_that_resolves_it() {
    let err = bad(&[
        "uri",
        "parse",
        "otpauth://totp/A:x?secret=JBSWY3DPEHPK3PXP&issuer=B",
    ]);
    assert!(err.contains("--prefer-issuer-parameter"), "{err}");
}

/// The RFC 6238 Appendix B SHA-1 seed and the RFC 4226 Appendix D secret, "12345678901234567890", in hex.
const HEX_SEED: &str = "3132333435363738393031323334353637383930";

/// oathtool's default form: `--hex` reads the secret in hexadecimal wherever a secret is taken.
#[test]
fn hex_secrets_wherever_a_secret_is_taken() {
    // RFC 6238 Appendix B, SHA-1, 8 digits.
    for (time, expected) in [
        ("59", "94287082"),
        ("1111111109", "07081804"),
        ("1234567890", "89005924"),
        ("20000000000", "65353130"),
    ] {
        let args = ["--secret", HEX_SEED, "--hex", "--digits", "8", "--time", time];
        assert_eq!(ok(&[&["code"], &args[..]].concat()), format!("{expected}\n"));
        let step = ok(&[&["verify", "--code", expected], &args[..]].concat());
        assert_eq!(step, format!("{}\n", time.parse::<u64>().unwrap() / 30));
    }
    // RFC 4226 Appendix D, counters 0 to 9.
    let codes = [
        "755224", "287082", "359152", "969429", "338314", "254676", "287922", "162583", "399871", "520489",
    ];
    for (counter, expected) in codes.iter().enumerate() {
        let c = counter.to_string();
        assert_eq!(
            ok(&["code", "--secret", HEX_SEED, "--hex", "--hotp", "--counter", &c]),
            format!("{expected}\n")
        );
    }
    // Upper case, spaces between bytes, and standard input.
    let spaced = "31 32 33 34 35 36 37 38 39 30 31 32 33 34 35 36 37 38 39 30";
    assert_eq!(
        ok(&["code", "--secret", spaced, "--hex", "--hotp", "--counter", "1"]),
        "287082\n"
    );
    let out = mfa_stdin(
        &["code", "--secret", "-", "--hex", "--hotp", "--counter", "1"],
        &format!("{}\n", HEX_SEED.to_uppercase()),
    );
    assert_eq!(String::from_utf8(out.stdout).unwrap(), "287082\n");
    // `uri new` takes it too and writes the base32 form apps read.
    let uri = ok(&[
        "uri",
        "new",
        "--issuer",
        "I",
        "--account",
        "a",
        "--secret",
        HEX_SEED,
        "--hex",
    ]);
    assert!(uri.contains("secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&"), "{uri}");
    // Bad hex: one line, the position, never the secret's characters.
    let err = bad(&["code", "--secret", "31323g", "--hex"]);
    assert!(err.contains("position 5") && !err.contains("'g'"), "{err}");
    assert!(bad(&["code", "--secret", "31323", "--hex"]).contains("odd number"));
    bad(&["code", "--secret", "", "--hex"]);
    // Without --hex the same text is base32, which does not take '1' or '8'.
    bad(&["code", "--secret", HEX_SEED]);
    // --hex without a secret to read.
    bad(&["uri", "new", "--issuer", "I", "--account", "a", "--hex"]);
}

/// `mfa code -w N` lists the codes of the N steps (or counters) either side, the current one marked.
#[test]
fn code_window_lists_the_codes_around_a_time() {
    // RFC 4226 Appendix D's truncated values for counters 0, 1 and 2, to 8 digits: 84755224, 94287082,
    // 37359152; with a 30-second step these are the TOTP codes of steps 0, 1 and 2 (RFC 6238, T = 59).
    let out = ok(&[
        "code", "--secret", HEX_SEED, "--hex", "--digits", "8", "--time", "59", "-w", "1",
    ]);
    assert_eq!(
        out,
        "  step 0  1970-01-01T00:00:00Z  84755224\n\
         * step 1  1970-01-01T00:00:30Z  94287082\n  \
         step 2  1970-01-01T00:01:00Z  37359152\n"
    );
    // The window stops at step 0; numbers are aligned.
    let out = ok(&[
        "code", "--secret", HEX_SEED, "--hex", "--time", "1", "--window", "10",
    ]);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 11);
    assert_eq!(lines[0], "* step  0  1970-01-01T00:00:00Z  755224");
    assert_eq!(lines[9], "  step  9  1970-01-01T00:04:30Z  520489");
    assert!(lines[10].starts_with("  step 10  1970-01-01T00:05:00Z  "));
    // HOTP: counters either side of --counter.
    assert_eq!(
        ok(&[
            "code",
            "--secret",
            HEX_SEED,
            "--hex",
            "--hotp",
            "--counter",
            "4",
            "-w",
            "2"
        ]),
        "  counter 2  359152\n  counter 3  969429\n* counter 4  338314\n  \
         counter 5  254676\n  counter 6  287922\n"
    );
    // -w 0 is the current code alone, with its step.
    assert_eq!(
        ok(&[
            "code", "--secret", HEX_SEED, "--hex", "--digits", "8", "--time", "59", "-w", "0"
        ]),
        "* step 1  1970-01-01T00:00:30Z  94287082\n"
    );
    bad(&["code", "--secret", HEX_SEED, "--hex", "-w", "1001"]);
    bad(&["code", "--secret", HEX_SEED, "--hex", "-w", "-1"]);
}

/// `--time` takes Unix seconds or an RFC 3339 time with its offset.
#[test]
fn time_takes_rfc3339_too() {
    let code = |time: &str| {
        ok(&[
            "code", "--secret", HEX_SEED, "--hex", "--digits", "8", "--time", time,
        ])
    };
    // RFC 6238 Appendix B gives its times in UTC too.
    assert_eq!(code("1970-01-01T00:00:59Z"), "94287082\n");
    assert_eq!(code("2005-03-18T01:58:29Z"), "07081804\n");
    assert_eq!(code("2009-02-13T23:31:30Z"), "89005924\n");
    assert_eq!(code("2009-02-14T00:31:30+01:00"), "89005924\n");
    assert_eq!(code("2033-05-18T03:33:20Z"), "69279037\n");
    // A fraction of a second stays within its second.
    assert_eq!(code("1970-01-01T00:00:59.999Z"), "94287082\n");
    // verify takes it as well, and says the window in the same terms.
    assert_eq!(
        ok(&[
            "verify",
            "--secret",
            HEX_SEED,
            "--hex",
            "--code",
            "94287082",
            "--digits",
            "8",
            "--time",
            "1970-01-01T00:01:29Z"
        ]),
        "1\n"
    );
    for time in [
        "yesterday",
        "2026-12-04T10:00:00",
        "2026-12-04",
        "2026-13-04T10:00:00Z",
        "1969-12-31T23:59:59Z",
        "-1",
    ] {
        let err = bad(&["code", "--secret", HEX_SEED, "--hex", "--time", time]);
        assert!(
            err.contains("Unix seconds") && err.contains("RFC 3339"),
            "{time}: {err}"
        );
        // Clap shows no usage for a refused value: the help named is still the subcommand's.
        assert!(err.ends_with("(see mfa code --help)\n"), "{err}");
    }
    assert!(bad(&["code", "--secret", HEX_SEED, "--hex", "--time", "-1"]).contains("before 1970"));
}
