//! Method and device names: invisible and text-direction characters are refused, as app-password
//! names refuse them, so a name in a settings list cannot pass for another.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::*;
use mfa::{Error, MAX_NAME_CHARS};

/// One character of every range the check covers, its first and last where it is a range.
const INVISIBLE: [char; 16] = [
    '\u{00AD}', // soft hyphen
    '\u{061C}', // Arabic letter mark
    '\u{180E}', // Mongolian vowel separator
    '\u{200B}', // zero-width space
    '\u{200F}', // right-to-left mark
    '\u{202A}', // left-to-right embedding
    '\u{202E}', // right-to-left override
    '\u{2060}', // word joiner
    '\u{2064}', // invisible plus
    '\u{2066}', // left-to-right isolate
    '\u{2069}', // pop directional isolate
    '\u{FEFF}', // zero-width no-break space (BOM)
    '\u{200C}', // zero-width non-joiner
    '\u{200D}', // zero-width joiner
    '\u{202C}', // pop directional formatting
    '\u{2067}', // right-to-left isolate
];

fn is_invisible_name_error(result: &Error) -> bool {
    matches!(
        result,
        Error::InvalidName {
            reason: "contains invisible or text-direction characters"
        }
    )
}

#[tokio::test]
async fn method_names_with_invisible_or_bidi_characters_are_refused() {
    let h = harness();
    let alice = user("alice");
    for c in INVISIBLE {
        for name in [
            format!("My{c}phone"),
            format!("{c}My phone"),
            format!("My phone{c}"),
        ] {
            let err = h
                .mfa
                .begin_app_enrollment(&alice, "alice@example.com", &name, None)
                .await
                .unwrap_err();
            assert!(is_invisible_name_error(&err), "U+{:04X}: {err:?}", c as u32);
        }
    }
    // Nothing was begun.
    assert!(!h.store_json().contains("\"pending\":{"));
    // "gnp.exe" shown reversed as "exe.png": the classic right-to-left override trick.
    let err = h
        .mfa
        .begin_app_enrollment(&alice, "alice", "photo\u{202E}gnp.exe", None)
        .await
        .unwrap_err();
    assert!(is_invisible_name_error(&err), "{err:?}");
}

#[tokio::test]
async fn ordinary_names_in_any_script_are_kept_trimmed() {
    let h = harness();
    let alice = user("alice");
    for (typed, kept) in [
        ("  Téléphone de Zoë  ", "Téléphone de Zoë"),
        ("هاتفي", "هاتفي"),
        ("携帯電話", "携帯電話"),
        ("Pixel 8 — work", "Pixel 8 — work"),
    ] {
        let enrollment = h
            .mfa
            .begin_app_enrollment(&alice, "alice", typed, None)
            .await
            .unwrap();
        let pending = h.store_json();
        assert!(
            pending.contains(&format!("\"name\":\"{kept}\"")),
            "{typed:?}: {pending}"
        );
        drop(enrollment);
    }
    let longest = "n".repeat(MAX_NAME_CHARS);
    h.mfa
        .begin_app_enrollment(&alice, "alice", &longest, None)
        .await
        .unwrap();
    assert!(matches!(
        h.mfa
            .begin_app_enrollment(&alice, "alice", &format!("{longest}n"), None)
            .await,
        Err(Error::InvalidName {
            reason: "longer than 100 characters"
        })
    ));
    assert!(matches!(
        h.mfa.begin_app_enrollment(&alice, "alice", " \t ", None).await,
        Err(Error::InvalidName { reason: "empty" })
    ));
    assert!(matches!(
        h.mfa.begin_app_enrollment(&alice, "alice", "a\u{7}b", None).await,
        Err(Error::InvalidName {
            reason: "contains control characters"
        })
    ));
}

#[tokio::test]
async fn device_names_with_invisible_or_bidi_characters_are_refused() {
    let h = harness();
    let alice = user("alice");
    let (app, totp) = h.enroll_app(&alice, None).await;
    let proof = h.verify_next(&alice, app, &totp).await;
    for c in INVISIBLE {
        let err = h
            .mfa
            .remember_device(&proof, &format!("Firefox{c} on Linux"))
            .await
            .unwrap_err();
        assert!(is_invisible_name_error(&err), "U+{:04X}: {err:?}", c as u32);
    }
    assert!(h.mfa.list_devices(&alice).await.unwrap().is_empty());
    let kept = h
        .mfa
        .remember_device(&proof, "  Firefox on Linux ")
        .await
        .unwrap();
    let devices = h.mfa.list_devices(&alice).await.unwrap();
    assert_eq!(devices.len(), 1);
    assert_eq!(devices[0].id, kept.id);
    assert_eq!(devices[0].name, "Firefox on Linux");
}

/// Names that render as nothing, or hold characters that change how the rest shows (issue 12, item 3).
const BLANK_OR_HIDDEN: [&str; 12] = [
    "\u{3164}",
    "\u{115F}\u{1160}",
    "\u{2800}\u{2800}",
    "Pho\u{2028}ne",
    "Phone\u{2029}2",
    "Phone\u{E0041}",
    "\u{206A}Phone",
    "Ph\u{FFF9}one\u{FFFA}x\u{FFFB}",
    "Phone\u{1D173}",
    "Pho\u{034F}ne",
    "Phone\u{FE0F}",
    "\u{0600}12",
];

#[tokio::test]
async fn method_and_device_names_that_render_blank_or_hide_characters_are_refused() {
    let h = harness();
    let alice = user("alice");
    for name in BLANK_OR_HIDDEN {
        let err = h
            .mfa
            .begin_app_enrollment(&alice, "alice", name, None)
            .await
            .unwrap_err();
        assert!(matches!(err, Error::InvalidName { .. }), "{name:?}: {err:?}");
    }
    assert!(!h.store_json().contains("\"pending\":{"));
    let (app, totp) = h.enroll_app(&alice, None).await;
    let proof = h.verify_next(&alice, app, &totp).await;
    for name in BLANK_OR_HIDDEN {
        let err = h.mfa.remember_device(&proof, name).await.unwrap_err();
        assert!(matches!(err, Error::InvalidName { .. }), "{name:?}: {err:?}");
    }
    assert!(h.mfa.list_devices(&alice).await.unwrap().is_empty());
}
