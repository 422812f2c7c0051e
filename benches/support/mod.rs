//! What the benchmarks share: reading back criterion's medians of this run, for the summary lines
//! and ratios each benchmark prints.

use std::path::PathBuf;

/// Median in nanoseconds of benchmark `name` of `group` in this run, from criterion's own estimates.
pub(crate) fn median_ns(group: &str, name: &str) -> Option<f64> {
    let base = std::env::var_os("CRITERION_HOME")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            let target =
                std::env::var_os("CARGO_TARGET_DIR").map_or_else(|| PathBuf::from("target"), PathBuf::from);
            target.join("criterion")
        });
    let path = base.join(group).join(name).join("new").join("estimates.json");
    let json: serde_json::Value = serde_json::from_slice(&std::fs::read(path).ok()?).ok()?;
    json["median"]["point_estimate"].as_f64()
}
