//! The chart functions of `selfsup::plot`: sizes, that the pictures carry the data (colours
//! follow values, classes get their colours), that bad input is refused with a clear error,
//! and the slide figures computed from the library.

use selfsup::figures::{infonce_temperature_curves, mean_similarity_within_between, Experiment, ExperimentRow, ILLUSTRATION_TAUS};
use selfsup::plot::{bar_chart, class_colour, colormap, heatmap, line_chart, line_chart_with_reference, scatter_by_class, table, BarGroup, Chart, Figure, Series};
use selfsup::train::trace::TracePoint;
use selfsup::Error;

fn pixel(fig: &Figure, x: u32, y: u32) -> [u8; 3] {
    let i = 3 * (y * fig.width + x) as usize;
    [fig.rgb[i], fig.rgb[i + 1], fig.rgb[i + 2]]
}

/// Pixels of exactly `colour` whose x is below `max_x`, and the mean x of those pixels.
fn count_colour(fig: &Figure, colour: [u8; 3], max_x: u32) -> (usize, f64) {
    let mut n = 0;
    let mut sum_x = 0.0;
    for y in 0..fig.height {
        for x in 0..max_x.min(fig.width) {
            if pixel(fig, x, y) == colour {
                n += 1;
                sum_x += x as f64;
            }
        }
    }
    (n, if n > 0 { sum_x / n as f64 } else { f64::NAN })
}

fn rgb(c: plotters::style::RGBColor) -> [u8; 3] {
    [c.0, c.1, c.2]
}

fn non_white_fraction(fig: &Figure) -> f64 {
    fig.rgb.chunks_exact(3).filter(|p| p != &[255, 255, 255]).count() as f64 / (fig.width * fig.height) as f64
}

fn assert_config_error(result: selfsup::Result<Figure>, needle: &str) {
    match result {
        Err(Error::Config(msg)) => assert!(msg.contains(needle), "error `{msg}` should mention `{needle}`"),
        Err(other) => panic!("expected a Config error mentioning `{needle}`, got {other}"),
        Ok(_) => panic!("expected an error mentioning `{needle}`, got a figure"),
    }
}

#[test]
fn line_chart_has_the_requested_size_and_draws_each_series_in_its_colour() {
    let series = [Series::from_values("a", &[1.0, 2.0, 3.0]), Series::new("b", vec![(0.0, 3.0), (2.0, 1.0)])];
    let fig = line_chart(&series, &Chart::new("curves").axes("x", "y").size(640, 400)).unwrap();
    assert_eq!((fig.width, fig.height, fig.rgb.len()), (640, 400, 640 * 400 * 3));
    for i in 0..2 {
        let (n, _) = count_colour(&fig, rgb(class_colour(i)), fig.width);
        assert!(n > 200, "series {i}: only {n} pixels of its colour");
    }
    // The figure is a valid PNG of the same size.
    let png = image::load_from_memory(&fig.png_bytes()).unwrap();
    assert_eq!((png.width(), png.height()), (640, 400));
}

#[test]
fn line_chart_refuses_bad_input() {
    let chart = Chart::new("t");
    assert_config_error(line_chart(&[], &chart), "no series");
    assert_config_error(line_chart(&[Series::new("empty", vec![])], &chart), "`empty` has no points");
    assert_config_error(line_chart(&[Series::from_values("nan", &[1.0, f64::NAN])], &chart), "finite");
    assert_config_error(line_chart(&[Series::from_values("ok", &[1.0])], &chart.clone().size(50, 50)), "at least");
    assert_config_error(line_chart(&[Series::from_values("ok", &[1.0])], &chart.clone().y_range(1.0, 0.0)), "y range 1..0");
}

/// The reference level is a dashed black line across the chart (the y axis stretched to show
/// it), named in the legend; a non-finite one is refused.
#[test]
fn line_chart_draws_a_dashed_reference_level() {
    let series = [Series::from_values("a", &[1.0, 2.0, 3.0])];
    let chart = Chart::new("curves").axes("x", "y").size(640, 400);
    let plain = line_chart(&series, &chart).unwrap();
    let with = line_chart_with_reference(&series, Some(("level", 10.0)), &chart).unwrap();
    assert_eq!((with.width, with.height), (640, 400));
    let black = |fig: &Figure| count_colour(fig, [0, 0, 0], fig.width).0;
    // Dashes of 10 px every 16 px, 2 px thick, across about 500 px of plot: over 400 pixels.
    assert!(black(&with) > black(&plain) + 400, "{} vs {} black pixels", black(&with), black(&plain));
    // The axis now reaches 10: the series is squeezed into the lower part of the plot.
    let (n_plain, _) = count_colour(&plain, rgb(class_colour(0)), plain.width);
    let (n_with, _) = count_colour(&with, rgb(class_colour(0)), with.width);
    assert!(n_with < n_plain, "{n_with} vs {n_plain} pixels of the curve");
    assert_config_error(line_chart_with_reference(&series, Some(("level", f64::NAN)), &chart), "reference `level`");
}

#[test]
fn heatmap_colours_follow_the_values() {
    // One row of three cells: 0, 0.5, 1 → the colour map's start, middle and end, left to right.
    let chart = Chart::default().size(600, 300);
    let fig = heatmap(&[0.0, 0.5, 1.0], 1, 3, Some((0.0, 1.0)), &chart).unwrap();
    let cells_width = fig.width - 110; // the colour bar is on the right
    let (lo, lo_x) = count_colour(&fig, rgb(colormap(0.0)), cells_width);
    let (mid, mid_x) = count_colour(&fig, rgb(colormap(0.5)), cells_width);
    let (hi, hi_x) = count_colour(&fig, rgb(colormap(1.0)), cells_width);
    for (n, v) in [(lo, 0.0), (mid, 0.5), (hi, 1.0)] {
        assert!(n > 10_000, "the cell of value {v} should cover many pixels of colormap({v}), found {n}");
    }
    assert!(lo_x < mid_x && mid_x < hi_x, "cells out of order: x = {lo_x}, {mid_x}, {hi_x}");
    // Without a range the data's min and max are the ends of the map.
    let fig = heatmap(&[3.0, 7.0], 2, 1, None, &chart).unwrap();
    assert!(count_colour(&fig, rgb(colormap(0.0)), cells_width).0 > 5_000);
    assert!(count_colour(&fig, rgb(colormap(1.0)), cells_width).0 > 5_000);
}

#[test]
fn colormap_gets_lighter_as_values_grow() {
    let luminance = |t: f32| {
        let c = colormap(t);
        0.2126 * c.0 as f32 + 0.7152 * c.1 as f32 + 0.0722 * c.2 as f32
    };
    let ts: Vec<f32> = (0..=20).map(|i| i as f32 / 20.0).collect();
    for w in ts.windows(2) {
        assert!(luminance(w[1]) > luminance(w[0]), "colormap({}) is not lighter than colormap({})", w[1], w[0]);
    }
    assert_eq!(colormap(-3.0), colormap(0.0));
    assert_eq!(colormap(5.0), colormap(1.0));
}

#[test]
fn heatmap_refuses_bad_input() {
    let chart = Chart::default();
    assert_config_error(heatmap(&[1.0, 2.0, 3.0], 2, 2, None, &chart), "3 values for a 2x2");
    assert_config_error(heatmap(&[], 0, 0, None, &chart), "empty");
    assert_config_error(heatmap(&[f32::NAN], 1, 1, None, &chart), "finite");
    assert_config_error(heatmap(&[0.5], 1, 1, Some((1.0, 0.0)), &chart), "lo < hi");
}

#[test]
fn scatter_gives_each_class_its_colour_and_refuses_bad_input() {
    let points: Vec<[f32; 2]> = (0..60).map(|i| [(i % 3) as f32 * 10.0 + (i as f32 * 0.1), (i / 3) as f32]).collect();
    let labels: Vec<usize> = (0..60).map(|i| i % 3).collect();
    let names = ["zero", "one", "two", "unused"];
    let fig = scatter_by_class(&points, &labels, &names, &Chart::new("emb").size(500, 400)).unwrap();
    assert_eq!((fig.width, fig.height), (500, 400));
    // Each class's colour (legend markers, fully opaque) is present; the unused class has none.
    for c in 0..3 {
        assert!(count_colour(&fig, rgb(class_colour(c)), fig.width).0 > 20, "class {c} missing");
    }
    assert_eq!(count_colour(&fig, rgb(class_colour(3)), fig.width).0, 0, "a class without points has no legend entry");
    let chart = Chart::default();
    assert_config_error(scatter_by_class(&points, &labels[..10], &names, &chart), "60 points but 10 labels");
    assert_config_error(scatter_by_class(&points, &vec![7; 60], &names, &chart), "label 7 has no name");
    assert_config_error(scatter_by_class(&[[f32::INFINITY, 0.0]], &[0], &names, &chart), "finite");
    assert_config_error(scatter_by_class::<&str>(&[], &[], &names, &chart), "no points");
}

#[test]
fn bar_chart_draws_groups_and_refuses_mismatched_input() {
    let groups = [BarGroup::new("kNN", vec![30.0, 60.0]), BarGroup::new("linear", vec![25.0, 55.0])];
    let fig = bar_chart(&["a", "b"], &groups, Some(("baseline", 20.0)), &Chart::new("bars").size(600, 400)).unwrap();
    assert_eq!((fig.width, fig.height), (600, 400));
    let (n0, x0) = count_colour(&fig, rgb(class_colour(0)), fig.width);
    let (n1, x1) = count_colour(&fig, rgb(class_colour(1)), fig.width);
    assert!(n0 > 2_000 && n1 > 2_000, "bars too small: {n0}, {n1}");
    // Group 0 stands left of group 1 within each category, and its bars are taller overall.
    assert!(x0 < x1 && n0 > n1);
    let chart = Chart::default();
    assert_config_error(bar_chart(&["a", "b"], &[BarGroup::new("short", vec![1.0])], None, &chart), "`short` has 1 values for 2 categories");
    assert_config_error(bar_chart::<&str>(&[], &groups, None, &chart), "at least one category");
    assert_config_error(bar_chart(&["a", "b"], &groups, Some(("ref", f64::NAN)), &chart), "finite");
}

#[test]
fn table_grows_with_its_rows_and_refuses_ragged_rows() {
    let chart = Chart::new("results").size(600, 200);
    let one = table(&["x", "y"], &[vec!["1".into(), "2".into()]], "", &chart).unwrap();
    let three = table(&["x", "y"], &vec![vec!["1".into(), "2".into()]; 3], "a verdict", &chart).unwrap();
    assert_eq!(one.width, 600);
    assert!(three.height > one.height);
    // A long footer wraps onto more lines instead of running off the picture.
    let long = table(&["x", "y"], &vec![vec!["1".into(), "2".into()]; 3], &"word ".repeat(100), &chart).unwrap();
    assert!(long.height > three.height + 40, "{} vs {}", long.height, three.height);
    assert!(non_white_fraction(&three) > 0.01, "the table should contain text");
    assert_config_error(table(&["x", "y"], &[vec!["only one".into()]], "", &chart), "row 0 has 1 cells for 2 columns");
}

#[test]
fn table_columns_are_as_wide_as_their_text() {
    // Text wider than its even share of the chart widens the table instead of running into
    // the next column: here the first column alone needs far more than 300 px.
    let chart = Chart::new("results").size(300, 200);
    let label = "a label much longer than an even share of three hundred pixels".to_string();
    let wide = table(&["setting", "value"], &[vec![label, "0.5".into()]], "", &chart).unwrap();
    assert!(wide.width > 600, "{}", wide.width);
    // Text that fits keeps the chart's width.
    let narrow = table(&["x", "y"], &[vec!["1".into(), "2".into()]], "", &chart).unwrap();
    assert_eq!(narrow.width, 300);
    assert!(non_white_fraction(&wide) > 0.005, "the table should contain text");
}

#[test]
fn infonce_illustration_is_a_softmax_whose_loss_is_minus_log_of_the_positive() {
    let curves = infonce_temperature_curves();
    assert_eq!(curves.len(), ILLUSTRATION_TAUS.len());
    for c in &curves {
        let total: f32 = c.probs.iter().sum();
        assert!((total - 1.0).abs() < 1e-4, "τ = {}: probabilities sum to {total}", c.tau);
        assert!((c.loss + c.probs[0].ln()).abs() < 1e-4, "τ = {}: loss {} vs −log p⁺ {}", c.tau, c.loss, -c.probs[0].ln());
        // The positive is the most similar key, so it is the most probable at any τ.
        assert!(c.probs.iter().all(|&p| p <= c.probs[0]));
    }
    // A lower temperature sharpens the distribution: p(k⁺) decreases as τ grows.
    for w in curves.windows(2) {
        assert!(w[0].tau < w[1].tau && w[0].probs[0] > w[1].probs[0]);
    }
}

fn write_experiment(dir: &std::path::Path, knn: f64) -> std::path::PathBuf {
    let path = dir.join("moco-momentum.json");
    let json = format!(
        r#"{{"experiment": "moco-momentum", "parameter": "momentum", "baseline_knn_top1": 0.2,
            "rows": [{{"value": 0.9, "label": "m = 0.9", "knn_top1": {knn}, "linear_top1": 0.3, "final_loss": 5.1, "wall_seconds": 60}},
                     {{"value": 0.99, "label": "m = 0.99", "knn_top1": 0.4, "linear_top1": 0.35, "final_loss": 4.9, "wall_seconds": 61}}],
            "verdict": "a sentence", "settings": {{"epochs": 2}}}}"#
    );
    std::fs::write(&path, json).unwrap();
    path
}

#[test]
fn experiment_json_is_drawn_and_bad_files_are_named() {
    let dir = tempfile::tempdir().unwrap();
    let path = write_experiment(dir.path(), 0.25);
    let experiment = Experiment::load(&path).unwrap();
    assert_eq!(experiment.rows.len(), 2);
    let chart = experiment.chart().unwrap();
    assert!(non_white_fraction(&chart) > 0.05);
    let table = experiment.table().unwrap();
    assert!(table.height > 100);

    let path = write_experiment(dir.path(), 25.0); // a percentage where a fraction is expected
    let err = Experiment::load(&path).unwrap_err().to_string();
    assert!(err.contains("moco-momentum.json") && err.contains("knn_top1 = 25"), "{err}");
    std::fs::write(&path, "{ not json").unwrap();
    assert!(Experiment::load(&path).unwrap_err().to_string().contains("moco-momentum.json"));
}

#[test]
fn within_and_between_class_similarities_skip_the_diagonal() {
    // Classes [0, 0, 1]: the same-class pair (0, 1) has 0.8, the cross-class pairs 0.1 and 0.3.
    let sims = [1.0, 0.8, 0.1, 0.8, 1.0, 0.3, 0.1, 0.3, 1.0];
    let (within, between) = mean_similarity_within_between(&sims, &[0, 0, 1]);
    assert!((within - 0.8).abs() < 1e-6 && (between - 0.2).abs() < 1e-6, "{within} {between}");
}

/// A traced point with the same collapse std `h` for the features (d = 64) and `z` for the
/// projections (d = 128), if any.
fn traced(step: usize, h: f32, z: Option<f32>) -> TracePoint {
    TracePoint { step, collapse_std: h, effective_rank: 10.0, dim: 64, projection_collapse_std: z, projection_effective_rank: z.map(|_| 10.0), projection_dim: z.map(|_| 128) }
}

fn trace_row(label: &str, value: f64, trace: Vec<TracePoint>) -> ExperimentRow {
    ExperimentRow {
        value,
        label: label.into(),
        knn_top1: 0.4,
        linear_top1: 0.4,
        final_loss: None,
        wall_seconds: 1.0,
        knn_runs: Vec::new(),
        effective_rank: Some(10.0),
        projection_effective_rank: None,
        collapse_trace: trace,
        cluster_balance: Vec::new(),
        distillation_trace: Vec::new(),
        baseline_knn_top1: None,
    }
}

/// `Experiment::trace_chart`: one panel per space measured (projections, then features), one
/// line per traced setting in its colour; nothing without traces.
#[test]
fn the_trace_chart_draws_the_collapse_std_over_training() {
    let steps = [0, 20, 40, 60];
    let curve = |h: [f32; 4], z: Option<[f32; 4]>| steps.iter().enumerate().map(|(i, &s)| traced(s, h[i], z.map(|z| z[i]))).collect::<Vec<_>>();
    let rows = vec![
        trace_row("BYOL", 0.0, curve([0.12, 0.11, 0.10, 0.10], Some([0.088, 0.08, 0.07, 0.07]))),
        trace_row("no predictor", 1.0, curve([0.12, 0.05, 0.02, 0.01], Some([0.088, 0.01, 0.001, 0.0]))),
        // No projections: drawn in the features' panel only.
        trace_row("SimCLR", 4.0, curve([0.12, 0.12, 0.12, 0.12], None)),
    ];
    let e = Experiment { experiment: "byol-collapse".into(), parameter: "variant".into(), baseline_knn_top1: 0.2, rows, verdict: String::new(), settings: serde_json::Value::Null };
    let fig = e.trace_chart().unwrap().expect("rows with traces give a trace chart");
    assert_eq!((fig.width, fig.height), (620 + 24 + 620, 520), "two panels side by side");
    let png = image::load_from_memory(&fig.png_bytes()).unwrap();
    assert_eq!((png.width(), png.height()), (fig.width, fig.height));
    let (left, right) = (620, 644);
    let in_panel = |colour: usize, from: u32, to: u32| {
        let c = rgb(class_colour(colour));
        (0..fig.height).flat_map(|y| (from..to).map(move |x| (x, y))).filter(|&(x, y)| pixel(&fig, x, y) == c).count()
    };
    for (i, label) in ["BYOL", "no predictor"].iter().enumerate() {
        assert!(in_panel(i, 0, left) > 300 && in_panel(i, right, fig.width) > 300, "{label} in both panels");
    }
    assert!(in_panel(2, 0, left) == 0 && in_panel(2, right, fig.width) > 300, "SimCLR has no projections, so only in the features' panel");

    // Features only: one panel. No trace at all: no chart (the other experiments, older JSONs).
    let features = Experiment { rows: vec![e.rows[2].clone()], ..e.clone() };
    assert_eq!(features.trace_chart().unwrap().map(|f| (f.width, f.height)), Some((620, 520)));
    let mut untraced = e.clone();
    untraced.rows.iter_mut().for_each(|r| r.collapse_trace.clear());
    assert!(untraced.trace_chart().unwrap().is_none());
}
