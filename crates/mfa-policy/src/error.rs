/// Everything that can go wrong in this crate: only an invalid [`PolicyConfig`](crate::PolicyConfig).
///
/// Deciding never fails: [`Policy::decide`](crate::Policy::decide) always returns a
/// [`Decision`](crate::Decision).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The remembered-device window is outside 1 to 365 days.
    #[error(
        "remembered-device window of {seconds} seconds is outside 1 to 365 days \
         (leave it unset to turn remembering off)"
    )]
    RememberWindowOutOfRange {
        /// The window that was given, in seconds.
        seconds: u64,
    },
    /// A limit that must be longer than zero is zero.
    #[error("{setting} must be longer than zero (leave it unset for no limit)")]
    ZeroDuration {
        /// Name of the setting, as in [`PolicyConfig`](crate::PolicyConfig).
        setting: &'static str,
    },
    /// A duration has a fraction of a second; the policy counts whole seconds.
    #[error("{setting} must be a whole number of seconds")]
    SubSecondDuration {
        /// Name of the setting, as in [`PolicyConfig`](crate::PolicyConfig).
        setting: &'static str,
    },
}
