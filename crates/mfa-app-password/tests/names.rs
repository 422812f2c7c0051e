//! Names that render as nothing, or as another name, are refused: the rule of `AppPasswordName`, which the
//! `mfa` facade also applies to method and device names.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use icu_properties::props::{DefaultIgnorableCodePoint, GeneralCategory, WhiteSpace};
use icu_properties::{CodePointMapData, CodePointSetData};
use mfa_app_password::{AppPasswordName, Error};
use proptest::prelude::*;

/// Every character that was found to get through (issue 12, item 3), with what it is.
const FOUND: [(char, &str); 17] = [
    ('\u{3164}', "Hangul filler"),
    ('\u{115F}', "Hangul choseong filler"),
    ('\u{1160}', "Hangul jungseong filler"),
    ('\u{FFA0}', "halfwidth Hangul filler"),
    ('\u{2800}', "braille pattern blank"),
    ('\u{2028}', "line separator"),
    ('\u{2029}', "paragraph separator"),
    ('\u{E0041}', "tag latin capital letter A"),
    ('\u{E0001}', "language tag"),
    ('\u{E007F}', "cancel tag"),
    ('\u{206A}', "inhibit symmetric swapping"),
    ('\u{FFF9}', "interlinear annotation anchor"),
    ('\u{FFFA}', "interlinear annotation separator"),
    ('\u{FFFB}', "interlinear annotation terminator"),
    ('\u{1D173}', "musical symbol begin beam"),
    ('\u{034F}', "combining grapheme joiner"),
    ('\u{FE0F}', "variation selector 16"),
];

/// U+0600, Arabic number sign: a prepended concatenation mark (Cf) that changes how the digits after it show.
const ARABIC_NUMBER_SIGN: char = '\u{0600}';

fn refused(name: &str) -> bool {
    matches!(AppPasswordName::new(name), Err(Error::InvalidName { .. }))
}

#[test]
fn every_character_found_is_refused_alone_repeated_and_anywhere_in_a_name() {
    let all = FOUND
        .iter()
        .copied()
        .chain([(ARABIC_NUMBER_SIGN, "Arabic number sign")]);
    for (c, what) in all {
        for name in [
            c.to_string(),
            c.to_string().repeat(3),
            format!("{c}Mail"),
            format!("Ma{c}il"),
            format!("Mail{c}"),
            format!("Mail {c}"),
        ] {
            assert!(refused(&name), "U+{:04X} {what}: {name:?} was accepted", c as u32);
        }
    }
    // The fillers combined as a Hangul syllable would be, and a whole tag sequence.
    assert!(refused("\u{115F}\u{1160}"));
    assert!(refused("\u{115F}\u{1160} \u{3164}"));
    assert!(refused("Mail\u{E0067}\u{E0062}\u{E007F}"));
    assert!(refused("\u{0600}\u{0661}\u{0662}"));
}

#[test]
fn the_reason_says_what_is_wrong() {
    for (name, reason) in [
        ("a\u{7}b", "contains control characters"),
        ("a\u{2028}b", "contains line or paragraph separators"),
        ("a\u{E000}b", "contains private-use characters"),
        ("a\u{0378}b", "contains unassigned characters"),
        ("a\u{200B}b", "contains invisible or text-direction characters"),
        ("a\u{FE0F}b", "contains invisible or text-direction characters"),
        ("a\u{2800}b", "contains characters that render blank"),
        ("\u{301}\u{20DD}", "has no visible character"),
        ("   ", "empty"),
    ] {
        assert_eq!(
            AppPasswordName::new(name),
            Err(Error::InvalidName { reason }),
            "{name:?}"
        );
    }
}

#[test]
fn ordinary_names_in_many_scripts_are_accepted() {
    for name in [
        "Mail app on my iPhone",
        "Téléphone de Zoë",
        "Te\u{301}le\u{301}phone", // decomposed accents: Mn after a letter
        "هاتفي",
        "携帯電話",
        "मेरा फ़ोन", // Devanagari, with spacing marks (Mc)
        "Pixel 8 — work",
        "★",
        "Ｍａｉｌ\u{3000}app", // full-width letters and an ideographic space
        "⠏⠓⠕⠝⠑",               // braille that is not blank
        "-",
    ] {
        assert!(AppPasswordName::new(name).is_ok(), "{name:?}");
    }
}

/// Whether `c` is what the rule calls visible, written from the Unicode properties independently of the
/// crate's code.
fn shows(c: char) -> bool {
    let gc = CodePointMapData::<GeneralCategory>::new().get(c);
    let letter_number_punct_symbol_or_spacing_mark = !matches!(
        gc,
        GeneralCategory::Control
            | GeneralCategory::Format
            | GeneralCategory::LineSeparator
            | GeneralCategory::ParagraphSeparator
            | GeneralCategory::SpaceSeparator
            | GeneralCategory::PrivateUse
            | GeneralCategory::Surrogate
            | GeneralCategory::Unassigned
            | GeneralCategory::NonspacingMark
            | GeneralCategory::EnclosingMark
    );
    letter_number_punct_symbol_or_spacing_mark
        && !CodePointSetData::new::<WhiteSpace>().contains(c)
        && !forbidden(c)
}

/// Whether `c` may not be anywhere in a name.
fn forbidden(c: char) -> bool {
    let gc = CodePointMapData::<GeneralCategory>::new().get(c);
    matches!(
        gc,
        GeneralCategory::Control
            | GeneralCategory::Format
            | GeneralCategory::LineSeparator
            | GeneralCategory::ParagraphSeparator
            | GeneralCategory::PrivateUse
            | GeneralCategory::Unassigned
    ) || CodePointSetData::new::<DefaultIgnorableCodePoint>().contains(c)
        || ['\u{115F}', '\u{1160}', '\u{2800}', '\u{3164}', '\u{FFA0}'].contains(&c)
}

/// Characters that show nothing by themselves: spaces, accents, fillers, ignorables.
fn blank_char() -> impl Strategy<Value = char> {
    prop::sample::select(vec![
        ' ',
        '\u{A0}',
        '\u{2007}',
        '\u{3000}',
        '\u{301}',
        '\u{20DD}',
        '\u{034F}',
        '\u{FE0F}',
        '\u{115F}',
        '\u{1160}',
        '\u{3164}',
        '\u{FFA0}',
        '\u{2800}',
        '\u{200B}',
        '\u{E0041}',
        '\u{180E}',
        '\u{2060}',
    ])
}

/// Any character the rule forbids, drawn from the whole code space.
fn forbidden_char() -> impl Strategy<Value = char> {
    prop_oneof![
        prop::sample::select(FOUND.iter().map(|(c, _)| *c).collect::<Vec<_>>()),
        Just(ARABIC_NUMBER_SIGN),
        any::<char>().prop_filter("a forbidden character", |c| forbidden(*c)),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    /// A name is accepted exactly when it has a visible character and nothing forbidden (and is 1 to 100
    /// characters long).
    #[test]
    fn acceptance_is_the_documented_rule(name in "\\PC{0,40}|.{0,40}|[a-z \\u{300}-\\u{36F}\\u{2800}-\\u{2803}\\u{3164}\\u{FE00}-\\u{FE0F}]{0,12}") {
        let expected = !name.trim().is_empty()
            && name.chars().any(shows)
            && !name.chars().any(forbidden);
        prop_assert_eq!(AppPasswordName::new(&name).is_ok(), expected, "{:?}", name);
    }

    /// However it is made, a name of only blank characters is refused.
    #[test]
    fn names_of_blank_characters_only_are_refused(chars in prop::collection::vec(blank_char(), 1..20)) {
        let name: String = chars.into_iter().collect();
        prop_assert!(refused(&name), "{:?}", name);
    }

    /// One forbidden character anywhere spoils a good name.
    #[test]
    fn one_forbidden_character_spoils_a_good_name(
        good in "[A-Za-z0-9é日 ]{0,20}[A-Za-z][A-Za-z0-9é日 ]{0,20}",
        bad in forbidden_char(),
        at in any::<prop::sample::Index>(),
    ) {
        prop_assert!(AppPasswordName::new(&good).is_ok());
        let mut chars: Vec<char> = good.chars().collect();
        chars.insert(at.index(chars.len() + 1), bad);
        let name: String = chars.into_iter().collect();
        prop_assert!(refused(&name), "{:?}", name);
    }
}
