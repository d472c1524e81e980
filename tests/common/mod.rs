//! Helpers shared by the integration tests (`mod common;`).

/// Rows of 3 values, each divided by its L2 norm, flattened row-major.
pub fn normalized(rows: &[[f32; 3]]) -> Vec<f32> {
    rows.iter()
        .flat_map(|r| {
            let n = r.iter().map(|v| v * v).sum::<f32>().sqrt();
            r.iter().map(move |v| v / n)
        })
        .collect()
}
