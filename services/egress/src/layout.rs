//! Where each tile goes on the canvas. Pure: the composite job asks for an arrangement whenever
//! the set of tiles, the active speaker or the chosen layout changes, and applies it in one step.
use std::fmt;

/// The layouts a host can choose.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum LayoutKind {
    /// The active speaker large, everyone else in a strip below.
    Speaker,
    /// Everyone the same size.
    #[default]
    Grid,
    /// A shared screen large, cameras in a column beside it (a grid when nobody shares).
    Screen,
}

impl LayoutKind {
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "speaker" => Some(Self::Speaker),
            "grid" => Some(Self::Grid),
            "screen" => Some(Self::Screen),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Speaker => "speaker",
            Self::Grid => "grid",
            Self::Screen => "screen",
        }
    }
}

impl fmt::Display for LayoutKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Output picture size.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Quality {
    #[default]
    P720,
    P1080,
}

impl Quality {
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "720p" | "" => Some(Self::P720),
            "1080p" => Some(Self::P1080),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::P720 => "720p",
            Self::P1080 => "1080p",
        }
    }

    pub fn size(self) -> (i32, i32) {
        match self {
            Self::P720 => (1280, 720),
            Self::P1080 => (1920, 1080),
        }
    }

    /// Video bitrate in kbit/s: inside what YouTube and Twitch ask for at 30 fps.
    pub fn video_kbps(self) -> u32 {
        match self {
            Self::P720 => 3000,
            Self::P1080 => 5000,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TileKind {
    /// A person: their camera, or their initials when the camera is off or absent.
    Person,
    /// A person's shared screen.
    Screen,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct TileKey {
    pub user_id: String,
    pub kind: TileKind,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Rect {
    pub x: i32,
    pub y: i32,
    pub w: i32,
    pub h: i32,
}

impl Rect {
    pub fn contains(&self, px: i32, py: i32) -> bool {
        px >= self.x && py >= self.y && px < self.x + self.w && py < self.y + self.h
    }
}

/// Space between tiles and around the edge, in pixels at 720p (scaled for 1080p).
const GAP: i32 = 8;

/// Places `tiles` (in stage order) on a `canvas` of `(width, height)`. `speaker` is the active
/// speaker's user id, if anyone is speaking. Every tile gets a 16:9 rectangle; a tile left out of
/// the result is not shown.
pub fn arrange(kind: LayoutKind, canvas: (i32, i32), tiles: &[TileKey], speaker: Option<&str>) -> Vec<(TileKey, Rect)> {
    if tiles.is_empty() {
        return Vec::new();
    }
    let gap = GAP * canvas.1 / 720;
    match kind {
        LayoutKind::Grid => grid(canvas, gap, tiles),
        LayoutKind::Speaker => {
            // A shared screen is what people watch; otherwise the one talking.
            let main = tiles
                .iter()
                .position(|t| t.kind == TileKind::Screen)
                .or_else(|| speaker.and_then(|s| tiles.iter().position(|t| t.user_id == s && t.kind == TileKind::Person)))
                .unwrap_or(0);
            main_and_others(canvas, gap, tiles, main, Side::Below)
        }
        LayoutKind::Screen => match tiles.iter().position(|t| t.kind == TileKind::Screen) {
            Some(main) => main_and_others(canvas, gap, tiles, main, Side::Right),
            None => grid(canvas, gap, tiles),
        },
    }
}

fn grid(canvas: (i32, i32), gap: i32, tiles: &[TileKey]) -> Vec<(TileKey, Rect)> {
    let n = tiles.len() as i32;
    // The column count that gives the largest 16:9 tiles.
    let (mut best, mut best_w) = (1, 0);
    for cols in 1..=n {
        let rows = (n + cols - 1) / cols;
        let (w, _) = fit(((canvas.0 - gap * (cols + 1)) / cols, (canvas.1 - gap * (rows + 1)) / rows));
        if w > best_w {
            (best, best_w) = (cols, w);
        }
    }
    let cols = best;
    let rows = (n + cols - 1) / cols;
    let (w, h) = fit(((canvas.0 - gap * (cols + 1)) / cols, (canvas.1 - gap * (rows + 1)) / rows));
    let top = (canvas.1 - rows * h - (rows - 1) * gap) / 2;
    tiles
        .iter()
        .enumerate()
        .map(|(i, t)| {
            let (row, col) = (i as i32 / cols, i as i32 % cols);
            // The last row is centred when it is not full.
            let in_row = if row == rows - 1 { n - row * cols } else { cols };
            let left = (canvas.0 - in_row * w - (in_row - 1) * gap) / 2;
            (t.clone(), Rect { x: left + col * (w + gap), y: top + row * (h + gap), w, h })
        })
        .collect()
}

enum Side {
    Below,
    Right,
}

fn main_and_others(canvas: (i32, i32), gap: i32, tiles: &[TileKey], main: usize, side: Side) -> Vec<(TileKey, Rect)> {
    let others: Vec<&TileKey> = tiles.iter().enumerate().filter(|(i, _)| *i != main).map(|(_, t)| t).collect();
    let mut out = Vec::with_capacity(tiles.len());
    if others.is_empty() {
        let (w, h) = fit((canvas.0 - 2 * gap, canvas.1 - 2 * gap));
        out.push((tiles[main].clone(), Rect { x: (canvas.0 - w) / 2, y: (canvas.1 - h) / 2, w, h }));
        return out;
    }
    let k = others.len() as i32;
    match side {
        Side::Below => {
            let strip_h = canvas.1 / 5;
            let (mw, mh) = fit((canvas.0 - 2 * gap, canvas.1 - strip_h - 3 * gap));
            out.push((tiles[main].clone(), Rect { x: (canvas.0 - mw) / 2, y: gap, w: mw, h: mh }));
            let (w, h) = fit(((canvas.0 - gap * (k + 1)) / k, strip_h));
            let left = (canvas.0 - k * w - (k - 1) * gap) / 2;
            let y = canvas.1 - gap - h;
            for (i, t) in others.into_iter().enumerate() {
                out.push((t.clone(), Rect { x: left + i as i32 * (w + gap), y, w, h }));
            }
        }
        Side::Right => {
            let col_w = canvas.0 / 5;
            let (mw, mh) = fit((canvas.0 - col_w - 3 * gap, canvas.1 - 2 * gap));
            out.push((tiles[main].clone(), Rect { x: gap, y: (canvas.1 - mh) / 2, w: mw, h: mh }));
            let (w, h) = fit((col_w, (canvas.1 - gap * (k + 1)) / k));
            let top = (canvas.1 - k * h - (k - 1) * gap) / 2;
            let x = canvas.0 - gap - w;
            for (i, t) in others.into_iter().enumerate() {
                out.push((t.clone(), Rect { x, y: top + i as i32 * (h + gap), w, h }));
            }
        }
    }
    out
}

/// The largest 16:9 size inside `(w, h)`, with even sides (I420 wants them).
fn fit((w, h): (i32, i32)) -> (i32, i32) {
    let (w, h) = (w.max(2), h.max(2));
    let (w, h) = if w * 9 > h * 16 { (h * 16 / 9, h) } else { (w, w * 9 / 16) };
    (w & !1, h & !1)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn person(id: &str) -> TileKey {
        TileKey { user_id: id.into(), kind: TileKind::Person }
    }
    fn screen(id: &str) -> TileKey {
        TileKey { user_id: id.into(), kind: TileKind::Screen }
    }
    const CANVAS: (i32, i32) = (1280, 720);

    fn inside_and_apart(rects: &[(TileKey, Rect)]) {
        for (i, (_, a)) in rects.iter().enumerate() {
            assert!(a.x >= 0 && a.y >= 0 && a.x + a.w <= CANVAS.0 && a.y + a.h <= CANVAS.1, "{a:?} leaves the canvas");
            assert!(a.w > 0 && a.h > 0);
            for (_, b) in &rects[i + 1..] {
                let apart = a.x + a.w <= b.x || b.x + b.w <= a.x || a.y + a.h <= b.y || b.y + b.h <= a.y;
                assert!(apart, "{a:?} overlaps {b:?}");
            }
        }
    }

    #[test]
    fn one_person_fills_the_canvas_in_every_layout() {
        for kind in [LayoutKind::Grid, LayoutKind::Speaker, LayoutKind::Screen] {
            let r = arrange(kind, CANVAS, &[person("a")], None);
            assert_eq!(r.len(), 1);
            assert!(r[0].1.w >= 1200, "{kind}: {:?}", r[0].1);
        }
    }

    #[test]
    fn a_grid_gives_everyone_the_same_size_without_overlap() {
        for n in 1..=13 {
            let tiles: Vec<_> = (0..n).map(|i| person(&format!("u{i}"))).collect();
            let r = arrange(LayoutKind::Grid, CANVAS, &tiles, None);
            assert_eq!(r.len(), n);
            assert!(r.iter().all(|(_, x)| x.w == r[0].1.w && x.h == r[0].1.h));
            inside_and_apart(&r);
        }
    }

    #[test]
    fn two_people_in_a_grid_sit_side_by_side() {
        let r = arrange(LayoutKind::Grid, CANVAS, &[person("a"), person("b")], None);
        assert_eq!(r[0].1.y, r[1].1.y);
        assert!(r[0].1.x + r[0].1.w <= CANVAS.0 / 2 && r[1].1.x >= CANVAS.0 / 2);
    }

    #[test]
    fn the_active_speaker_is_large_and_the_others_below() {
        let tiles = [person("a"), person("b"), person("c")];
        let r = arrange(LayoutKind::Speaker, CANVAS, &tiles, Some("b"));
        inside_and_apart(&r);
        assert_eq!(r[0].0, person("b"));
        assert!(r[0].1.w > 3 * r[1].1.w);
        assert!(r[1].1.y > r[0].1.y + r[0].1.h);
    }

    #[test]
    fn with_nobody_speaking_the_first_person_is_large() {
        let r = arrange(LayoutKind::Speaker, CANVAS, &[person("a"), person("b")], None);
        assert_eq!(r[0].0, person("a"));
    }

    #[test]
    fn a_shared_screen_is_large_with_cameras_beside_it() {
        let tiles = [person("a"), person("b"), screen("b")];
        let r = arrange(LayoutKind::Screen, CANVAS, &tiles, Some("a"));
        inside_and_apart(&r);
        assert_eq!(r[0].0, screen("b"));
        assert!(r[0].1.w > CANVAS.0 / 2);
        assert!(r[1..].iter().all(|(_, x)| x.x > r[0].1.x + r[0].1.w));
    }

    #[test]
    fn the_screen_layout_without_a_screen_is_a_grid() {
        let tiles = [person("a"), person("b")];
        assert_eq!(arrange(LayoutKind::Screen, CANVAS, &tiles, None), arrange(LayoutKind::Grid, CANVAS, &tiles, None));
    }

    #[test]
    fn layouts_and_qualities_parse_only_their_names() {
        assert_eq!(LayoutKind::parse("grid"), Some(LayoutKind::Grid));
        assert_eq!(LayoutKind::parse("Grid"), None);
        assert_eq!(LayoutKind::parse("pip"), None);
        assert_eq!(Quality::parse("1080p"), Some(Quality::P1080));
        assert_eq!(Quality::parse("4k"), None);
    }

    #[test]
    fn tiles_have_even_sides_at_1080p() {
        let tiles: Vec<_> = (0..5).map(|i| person(&format!("u{i}"))).collect();
        for kind in [LayoutKind::Grid, LayoutKind::Speaker] {
            for (_, r) in arrange(kind, (1920, 1080), &tiles, None) {
                assert!(r.w % 2 == 0 && r.h % 2 == 0);
            }
        }
    }
}
