//! The per-dataset recipes: `--dataset` picks the view settings, flags on the command line win,
//! and `config.json` records what the recipe set.

use selfsup::augment::ViewConfig;
use selfsup::cli::{parse, Parsed};
use selfsup::data::spec::VALID_FORMS;
use selfsup::methods::{barlow, byol, simclr, swav};
use selfsup::train::recipe::{recipe_for, RECIPES};
use selfsup::train::RunConfig;

fn run_of(args: &[&str]) -> RunConfig {
    let argv: Vec<String> = args.iter().map(|s| s.to_string()).collect();
    match parse(&argv).unwrap_or_else(|e| panic!("{args:?}: {e}")) {
        Parsed::Train(request) => request.run,
        other => panic!("{args:?} parsed as {other:?}"),
    }
}

fn views(run: &RunConfig) -> ViewConfig {
    match run.name() {
        "simclr" => run.settings::<simclr::Config>().views,
        "byol" => run.settings::<byol::Config>().views,
        "swav" => run.settings::<swav::Config>().views,
        "barlow" => run.settings::<barlow::Config>().views,
        other => panic!("no views for {other} in this test"),
    }
}

/// A directory that exists, for the `KIND:DIR` forms (nothing is loaded when parsing).
fn some_dir() -> String {
    std::env::temp_dir().display().to_string()
}

#[test]
fn every_dataset_kind_has_exactly_one_recipe() {
    let kinds: Vec<&str> = VALID_FORMS.split('|').map(|f| f.trim().split(':').next().unwrap()).collect();
    assert_eq!(kinds.len(), 8, "{kinds:?}");
    for kind in &kinds {
        let rows = RECIPES.iter().filter(|r| r.datasets.contains(kind)).count();
        assert_eq!(rows, 1, "dataset kind `{kind}` is listed by {rows} recipes");
    }
    for recipe in RECIPES {
        for kind in recipe.datasets {
            assert!(kinds.contains(kind), "recipe {} lists `{kind}`, which --dataset does not accept", recipe.name);
        }
        assert!(recipe.crop_min_scale > 0.0 && recipe.crop_min_scale <= 1.0);
    }
}

#[test]
fn the_default_run_is_on_textures_with_the_papers_crop_range_and_records_its_recipe() {
    let run = run_of(&["train"]);
    assert_eq!(run.train.dataset, "textures");
    assert_eq!(run.train.dataset, selfsup::train::DEFAULT_DATASET);
    assert_eq!(views(&run).crop_min_scale, 0.2);
    assert_eq!(run.train.epochs, 8, "SimCLR's own budget");
    let recipe = run.recipe.as_ref().expect("a recipe is recorded");
    assert_eq!(recipe.name, "natural");
    assert_eq!(recipe.set.get("crop_min_scale"), Some(&serde_json::json!(0.2)));
    assert_eq!(run, run_of(&["train", "--dataset", "textures"]));
    let shapes = run_of(&["train", "--dataset", "shapes"]);
    assert_eq!(views(&shapes).crop_min_scale, 0.8);
    assert_eq!(shapes.recipe.as_ref().unwrap().name, "silhouettes");
    // The library's default run is the command line's.
    assert_eq!(RunConfig::for_method("simclr").unwrap(), run);
}

#[test]
fn the_dataset_picks_the_recipe_and_a_flag_on_the_command_line_wins() {
    let shapes = run_of(&["train", "--dataset", "shapes"]);
    assert_eq!(views(&shapes).crop_min_scale, 0.8);
    assert_eq!(shapes.train.epochs, 8, "the silhouettes recipe keeps the method's budget");
    assert_eq!(views(&shapes).color_strength, 1.0, "the silhouettes recipe keeps the method's colour strength");
    assert_eq!(shapes.recipe.as_ref().unwrap().name, "silhouettes");

    let flagged = run_of(&["train", "--dataset", "shapes", "--crop-min-scale", "0.3"]);
    assert_eq!(views(&flagged).crop_min_scale, 0.3);
    assert!(flagged.recipe.as_ref().unwrap().set.is_empty(), "the recipe set nothing the flag gave: {:?}", flagged.recipe);

    // Digits: the recipe's colour strength replaces BYOL's own (2.0) unless given.
    let mnist = format!("mnist:{}", some_dir());
    let byol = run_of(&["train", "--method", "byol", "--dataset", &mnist]);
    let digits = recipe_for(&mnist.parse().unwrap());
    assert_eq!(digits.name, "digits");
    assert_eq!(views(&byol).crop_min_scale, digits.crop_min_scale);
    assert_eq!(Some(views(&byol).color_strength), digits.color_strength);
    let byol = run_of(&["train", "--method", "byol", "--dataset", &mnist, "--color-strength", "1.5"]);
    assert_eq!(views(&byol).color_strength, 1.5);
    assert_eq!(views(&byol).crop_min_scale, digits.crop_min_scale);
    assert_eq!(byol.recipe.as_ref().unwrap().set.keys().collect::<Vec<_>>(), ["crop_min_scale", "epochs"]);
    // The digits recipe also gives the budget, unless --epochs is given.
    assert_eq!(Some(byol.train.epochs), digits.epochs);
    assert_eq!(run_of(&["train", "--dataset", &mnist, "--epochs", "3"]).train.epochs, 3);

    // Photos keep the method's own colour strength (BYOL's 2.0 on the built-in default too).
    let cifar10 = format!("cifar10:{}", some_dir());
    let cifar = run_of(&["train", "--method", "byol", "--dataset", &cifar10]);
    assert_eq!((views(&cifar).crop_min_scale, views(&cifar).color_strength), (0.8, 2.0));
    assert_eq!(views(&run_of(&["train", "--dataset", &cifar10])).crop_min_scale, 0.2);
    // The methods without negatives keep crops of 80-100% on natural data (the recipe's
    // exception), unless the flag is given; on digits they take the recipe's 0.5 like every method.
    let natural = recipe_for(&"textures".parse().unwrap());
    assert_eq!(natural.crop_min_scale_for("simclr"), 0.2);
    for method in ["barlow", "byol", "deepcluster", "swav"] {
        assert_eq!(natural.crop_min_scale_for(method), 0.8, "{method}");
    }
    for method in ["instdisc", "dim", "cpc", "moco-v1", "moco", "simclr", "mochi"] {
        assert_eq!(natural.crop_min_scale_for(method), 0.2, "{method}");
    }
    assert_eq!(views(&run_of(&["train", "--method", "byol"])).crop_min_scale, 0.8);
    let barlow = run_of(&["train", "--method", "barlow"]);
    assert_eq!(barlow.recipe.as_ref().unwrap().set.get("crop_min_scale"), Some(&serde_json::json!(0.8)));
    let flagged = run_of(&["train", "--method", "barlow", "--crop-min-scale", "0.2"]);
    assert!(flagged.recipe.as_ref().unwrap().set.is_empty());
    assert_eq!(views(&run_of(&["train", "--method", "barlow", "--dataset", &mnist])).crop_min_scale, 0.5);
    // SwAV's global crops follow the recipe as well.
    assert_eq!(views(&run_of(&["train", "--method", "swav", "--dataset", "shapes"])).crop_min_scale, 0.8);
}

#[test]
fn on_dataset_matches_the_command_line_and_the_recipe_survives_config_json() {
    let run = RunConfig::for_method("simclr").unwrap().on_dataset("shapes").unwrap();
    assert_eq!(run, run_of(&["train", "--dataset", "shapes"]));
    let json = serde_json::to_value(&run).unwrap();
    assert_eq!(json["recipe"]["name"], "silhouettes");
    assert_eq!(json["recipe"]["set"]["crop_min_scale"], 0.8);
    let back = RunConfig::from_json(json).unwrap();
    assert_eq!(back, run);
    // A config.json written before recipes still loads.
    let mut old = serde_json::to_value(&run).unwrap();
    old.as_object_mut().unwrap().remove("recipe");
    assert_eq!(RunConfig::from_json(old).unwrap().recipe, None);
}
