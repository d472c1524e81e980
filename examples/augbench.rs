use selfsup::augment::{Pipeline, ViewGenerator};
use selfsup::data::shapes::{generate, ShapesConfig};
use std::time::Instant;
fn main() {
    let s = generate(&ShapesConfig { n_train: 256, n_test: 10, ..Default::default() });
    let imgs: Vec<_> = (0..256).map(|i| s.train.image(i)).collect();
    let g = ViewGenerator::two_view(Pipeline::simclr(32));
    for _ in 0..3 {
        let t = Instant::now();
        let v = g.views_batch(&imgs, 1).unwrap();
        println!("views for 256 images: {:?} ({} views)", t.elapsed(), v.len());
    }
}
