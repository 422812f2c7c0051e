//! Which characters a name may hold, from the Unicode Character Database as `icu_properties` (the Unicode
//! Consortium's ICU4X) ships it, rather than from a hand-kept list.

use icu_properties::props::{DefaultIgnorableCodePoint, GeneralCategory, WhiteSpace};
use icu_properties::{CodePointMapData, CodePointSetData};

/// Characters that are assigned, not formatting and not default-ignorable, yet render as an empty cell in
/// common fonts (Unicode TR #36 section 2, "invisible characters"). Some are default-ignorable in current
/// Unicode data, but not in every version, and U+2800 (a symbol, General_Category So) never is.
pub(crate) const BLANK_RENDERING: [char; 5] = [
    '\u{115F}', // HANGUL CHOSEONG FILLER
    '\u{1160}', // HANGUL JUNGSEONG FILLER
    '\u{2800}', // BRAILLE PATTERN BLANK
    '\u{3164}', // HANGUL FILLER
    '\u{FFA0}', // HALFWIDTH HANGUL FILLER
];

/// Why one character may not be in a name, as the reason of `Error::InvalidName`.
pub(crate) fn refusal(c: char) -> Option<&'static str> {
    let category = CodePointMapData::<GeneralCategory>::new().get(c);
    match category {
        GeneralCategory::Control => return Some("contains control characters"),
        GeneralCategory::LineSeparator | GeneralCategory::ParagraphSeparator => {
            return Some("contains line or paragraph separators");
        }
        GeneralCategory::PrivateUse => return Some("contains private-use characters"),
        GeneralCategory::Unassigned | GeneralCategory::Surrogate => {
            return Some("contains unassigned characters");
        }
        _ => {}
    }
    if category == GeneralCategory::Format || CodePointSetData::new::<DefaultIgnorableCodePoint>().contains(c)
    {
        return Some("contains invisible or text-direction characters");
    }
    if BLANK_RENDERING.contains(&c) {
        return Some("contains characters that render blank");
    }
    None
}

/// Whether `c` shows as something: a letter, number, punctuation, symbol or spacing mark that is not white
/// space, not default-ignorable and not in [`BLANK_RENDERING`]. Non-spacing and enclosing marks (accents)
/// may be in a name but do not count: alone they sit on nothing.
pub(crate) fn is_visible(c: char) -> bool {
    use GeneralCategory as G;
    let shows = matches!(
        CodePointMapData::<GeneralCategory>::new().get(c),
        G::UppercaseLetter
            | G::LowercaseLetter
            | G::TitlecaseLetter
            | G::ModifierLetter
            | G::OtherLetter
            | G::SpacingMark
            | G::DecimalNumber
            | G::LetterNumber
            | G::OtherNumber
            | G::DashPunctuation
            | G::OpenPunctuation
            | G::ClosePunctuation
            | G::ConnectorPunctuation
            | G::OtherPunctuation
            | G::InitialPunctuation
            | G::FinalPunctuation
            | G::MathSymbol
            | G::CurrencySymbol
            | G::ModifierSymbol
            | G::OtherSymbol
    );
    shows
        && !CodePointSetData::new::<WhiteSpace>().contains(c)
        && !CodePointSetData::new::<DefaultIgnorableCodePoint>().contains(c)
        && !BLANK_RENDERING.contains(&c)
}
