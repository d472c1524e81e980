//! Reading pixels back from drawn figures, for the figure tests
//! (`#[path = "common/pixels.rs"] mod pixels;`).

use selfsup::plot::Figure;

/// Pixel bounding box `(x0, y0, x1, y1)` (exclusive ends) of the pixels of exactly `colour`.
pub fn bounding_box(fig: &Figure, colour: [u8; 3]) -> Option<(usize, usize, usize, usize)> {
    let w = fig.width as usize;
    let mut bbox: Option<(usize, usize, usize, usize)> = None;
    for (k, px) in fig.rgb.chunks_exact(3).enumerate() {
        if px == colour {
            let (x, y) = (k % w, k / w);
            bbox = Some(match bbox {
                None => (x, y, x + 1, y + 1),
                Some((a, b, c, d)) => (a.min(x), b.min(y), c.max(x + 1), d.max(y + 1)),
            });
        }
    }
    bbox
}
