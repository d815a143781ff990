//! The drawing kit the charts share: escaping, scales (linear or logarithmic, with ticks people
//! read), a plot frame with its axes, labels that keep out of each other's way, and the palette.
//! Everything is inline SVG, so the page needs nothing from the network.

use std::fmt::Write;

/// Ten colours that stay apart for people with the common colour-vision deficiencies (Tableau 10).
pub(crate) const PALETTE: [&str; 10] = ["#4e79a7", "#f28e2b", "#59a14f", "#e15759", "#76b7b2", "#edc948", "#b07aa1", "#ff9da7", "#9c755f", "#bab0ac"];

/// For what stands alone or in the background: a task with a function to itself, the baseline.
pub(crate) const GREY: &str = "#8c8c8c";

/// `text` made safe inside an element or a quoted attribute: recorded loops are files anyone may
/// have edited.
pub(crate) fn escape(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;").replace('\'', "&#39;")
}

/// `text` as a fragment of an element id: letters, digits, `-` and `_` kept, anything else `_`.
pub(crate) fn id_part(text: &str) -> String {
    text.chars().map(|c| if c.is_ascii_alphanumeric() || c == '-' || c == '_' { c } else { '_' }).collect()
}

/// A number with at most three significant digits and no trailing zeros: 1250 → `1250`, 12.5 →
/// `12.5`, 0.0123 → `0.0123`.
pub(crate) fn short(v: f64) -> String {
    if v == 0.0 || !v.is_finite() {
        return format!("{v}");
    }
    let decimals = (2 - v.abs().log10().floor() as i32).max(0) as usize;
    let text = format!("{v:.decimals$}");
    if text.contains('.') { text.trim_end_matches('0').trim_end_matches('.').to_string() } else { text }
}

/// Maps values onto pixels, linearly or by their logarithm.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Scale {
    lo: f64,
    hi: f64,
    from: f64,
    to: f64,
    log: bool,
}

impl Scale {
    /// A scale over `values` (padded by a little on either side), drawn from pixel `from` to pixel
    /// `to`. Logarithmic when asked: the values then must be positive, and any that is not is
    /// left out of the fit.
    pub(crate) fn fit(values: impl IntoIterator<Item = f64>, log: bool, range: (f64, f64)) -> Scale {
        Scale::fit_around(values, [], log, range)
    }

    /// A scale over `core`, widened to take in each of `extra` that does not squeeze the core
    /// into less than half of the axis (a far-off baseline would crowd everything else into a
    /// corner); the extras left out are drawn at the axis' ends, off-scale.
    pub(crate) fn fit_around(core: impl IntoIterator<Item = f64>, extra: impl IntoIterator<Item = f64>, log: bool, (from, to): (f64, f64)) -> Scale {
        let drawable = |v: &f64| v.is_finite() && (!log || *v > 0.0);
        let t = |v: f64| if log { v.ln() } else { v };
        let (mut lo, mut hi) = core.into_iter().filter(drawable).fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| (lo.min(v), hi.max(v)));
        if lo.is_finite() {
            let span = (t(hi) - t(lo)).max(if log { 1.25f64.ln() } else { hi.abs() * 0.25 });
            for v in extra.into_iter().filter(drawable) {
                if t(hi.max(v)) - t(lo.min(v)) <= 2.0 * span {
                    (lo, hi) = (lo.min(v), hi.max(v));
                }
            }
        } else {
            (lo, hi) = (1.0, 1.0);
        }
        let (lo, hi) = if log {
            let pad = (hi / lo).powf(0.06).max(1.1);
            (lo / pad, hi * pad)
        } else {
            let pad = ((hi - lo) * 0.06).max(hi.abs() * 0.05).max(1e-12);
            (lo - pad, hi + pad)
        };
        Scale { lo, hi, from, to, log }
    }

    /// Where `v` is drawn, or when it is off the scale, `inset` pixels inside the end it is beyond.
    pub(crate) fn at_inset(&self, v: f64, inset: f64) -> f64 {
        let inward = (self.to - self.from).signum() * inset;
        if v < self.lo {
            self.from + inward
        } else if v > self.hi {
            self.to - inward
        } else {
            self.at(v)
        }
    }

    /// Whether `v` is drawn where it is, not at an end of the axis.
    pub(crate) fn contains(&self, v: f64) -> bool {
        v >= self.lo && v <= self.hi
    }

    /// A linear scale over exactly `lo..=hi`.
    pub(crate) fn linear(lo: f64, hi: f64, (from, to): (f64, f64)) -> Scale {
        Scale { lo, hi, from, to, log: false }
    }

    /// Where `v` is drawn; values outside the range are drawn at its ends.
    pub(crate) fn at(&self, v: f64) -> f64 {
        let t = |x: f64| if self.log { x.max(f64::MIN_POSITIVE).ln() } else { x };
        let share = if self.hi > self.lo { ((t(v) - t(self.lo)) / (t(self.hi) - t(self.lo))).clamp(0.0, 1.0) } else { 0.5 };
        self.from + share * (self.to - self.from)
    }

    /// Round values to mark on the axis: on a log scale spanning a decade or more, 1, 2 and 5
    /// times the powers of ten in range (every integer multiple when that makes too few);
    /// otherwise a step of 1, 2 or 5 times a power of ten giving four to ten marks.
    pub(crate) fn ticks(&self) -> Vec<f64> {
        let in_range = |v: &f64| *v >= self.lo * (1.0 - 1e-9) && *v <= self.hi * (1.0 + 1e-9);
        if self.log && self.hi / self.lo >= 10.0 {
            let decades = self.lo.log10().floor() as i32..=self.hi.log10().ceil() as i32;
            let with = |multiples: &[f64]| -> Vec<f64> { decades.clone().flat_map(|d| multiples.iter().map(move |m| m * 10f64.powi(d))).filter(in_range).collect() };
            let ticks = with(&[1.0, 2.0, 5.0]);
            return if ticks.len() >= 3 { ticks } else { with(&[1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0]) };
        }
        let raw = (self.hi - self.lo) / 6.0;
        let power = 10f64.powf(raw.log10().floor());
        let step = [1.0, 2.0, 5.0, 10.0].into_iter().map(|m| m * power).find(|s| (self.hi - self.lo) / s <= 10.0).unwrap_or(power * 10.0);
        let first = (self.lo / step).ceil() as i64;
        (first..).map(|k| k as f64 * step).take_while(|v| *v <= self.hi + step * 1e-9).collect()
    }
}

/// The pixels of a chart's plotting area.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Area {
    /// Left edge.
    pub left: f64,
    /// Top edge.
    pub top: f64,
    /// Right edge.
    pub right: f64,
    /// Bottom edge.
    pub bottom: f64,
}

/// One chart: an `<svg>` of a fixed size with its elements; its title is the page's, outside it,
/// so it wraps instead of being cut off.
pub(crate) struct Svg {
    id: String,
    class: &'static str,
    width: f64,
    height: f64,
    /// The elements, in drawing order.
    pub body: String,
}

impl Svg {
    /// An empty chart `width` by `height` pixels, its element id `id`, its class `chart class`.
    pub(crate) fn new(id: &str, class: &'static str, width: f64, height: f64) -> Svg {
        Svg { id: id.to_string(), class, width, height, body: String::new() }
    }

    /// Defines an arrowhead in `colour` for `marker-end="url(#…)"`; returns its id.
    pub(crate) fn arrowhead(&mut self, name: &str, colour: &str) -> String {
        let id = format!("{}-{name}", self.id);
        let _ = write!(
            self.body,
            "<defs><marker id=\"{id}\" viewBox=\"0 0 10 10\" refX=\"9\" refY=\"5\" markerWidth=\"7\" markerHeight=\"7\" orient=\"auto-start-reverse\"><path d=\"M0,0 L10,5 L0,10 z\" fill=\"{colour}\"/></marker></defs>"
        );
        id
    }

    /// Axes with their ticks and gridlines around `area`, the x axis labelled `x_label` and the y
    /// axis `y_label`; `y_ticks` says where the y marks go and what they read.
    pub(crate) fn axes(&mut self, area: Area, (x, x_label): (&Scale, &str), (y, y_label): (&Scale, &str), y_ticks: &[(f64, String)]) {
        let Area { left, top, right, bottom } = area;
        for v in x.ticks() {
            let px = x.at(v);
            let _ = write!(
                self.body,
                "<line x1=\"{px:.1}\" y1=\"{top:.1}\" x2=\"{px:.1}\" y2=\"{bottom:.1}\" class=\"grid\"/><text x=\"{px:.1}\" y=\"{:.1}\" text-anchor=\"middle\" class=\"tick\">{}</text>",
                bottom + 16.0,
                short(v)
            );
        }
        for (v, text) in y_ticks {
            let py = y.at(*v);
            let _ = write!(
                self.body,
                "<line x1=\"{left:.1}\" y1=\"{py:.1}\" x2=\"{right:.1}\" y2=\"{py:.1}\" class=\"grid\"/><text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"end\" class=\"tick\">{}</text>",
                left - 6.0,
                py + 4.0,
                escape(text)
            );
        }
        let _ = write!(
            self.body,
            "<rect x=\"{left:.1}\" y=\"{top:.1}\" width=\"{:.1}\" height=\"{:.1}\" class=\"frame\"/>\
             <text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"middle\" class=\"axis\">{}</text>\
             <text transform=\"translate({:.1} {:.1}) rotate(-90)\" text-anchor=\"middle\" class=\"axis\">{}</text>",
            right - left,
            bottom - top,
            (left + right) / 2.0,
            bottom + 36.0,
            escape(x_label),
            left - 52.0,
            (top + bottom) / 2.0,
            escape(y_label)
        );
    }

    /// The chart as markup, scaling down with the page (never up).
    pub(crate) fn finish(self) -> String {
        format!(
            "<svg id=\"{}\" class=\"chart {}\" viewBox=\"0 0 {w} {h}\" width=\"{w}\" height=\"{h}\" role=\"img\">{}</svg>",
            escape(&self.id),
            self.class,
            self.body,
            w = self.width,
            h = self.height
        )
    }
}

/// A box on the chart a label must not cover: another label, or a marker.
#[derive(Debug, Clone, Copy)]
struct Taken {
    x0: f64,
    y0: f64,
    x1: f64,
    y1: f64,
}

impl Taken {
    fn overlaps(&self, other: &Taken) -> bool {
        self.x0 < other.x1 && other.x0 < self.x1 && self.y0 < other.y1 && other.y0 < self.y1
    }
}

/// Places point labels where they cover no marker and no other label: next to the point if there
/// is room, else farther out with a leader line back to it; a label with no free spot at all
/// takes the one it overlaps least.
pub(crate) struct Labels {
    taken: Vec<Taken>,
    area: Area,
}

/// Approximate width of a character of the labels' font, as a share of its size.
const CHAR_WIDTH: f64 = 0.58;

/// The labels' font size, px.
const LABEL_SIZE: f64 = 12.0;

impl Labels {
    /// Labels inside `area`.
    pub(crate) fn new(area: Area) -> Labels {
        Labels { taken: Vec::new(), area }
    }

    /// Keeps labels off a marker reaching `half_width` and `half_height` from (`x`, `y`).
    pub(crate) fn avoid(&mut self, x: f64, y: f64, half_width: f64, half_height: f64) {
        self.taken.push(Taken { x0: x - half_width, y0: y - half_height, x1: x + half_width, y1: y + half_height });
    }

    /// The `<text>` of `text` (in class `class`) next to the point (`x`, `y`) of radius `r`, with
    /// its leader line when it had to go farther out.
    pub(crate) fn place(&mut self, x: f64, y: f64, r: f64, text: &str, class: &str) -> String {
        let width = text.chars().count() as f64 * LABEL_SIZE * CHAR_WIDTH;
        // The box of a label whose nearest point to (x, y) is `distance` away in direction `angle`
        // (east first, then around), and the point of the box the leader line goes to.
        let boxed = |distance: f64, angle: f64| {
            let (dx, dy) = (angle.cos() * distance, angle.sin() * distance);
            let x0 = if dx > 1.0 { x + dx } else if dx < -1.0 { x + dx - width } else { x - width / 2.0 };
            let (y0, y1) = if dy > 1.0 { (y + dy, y + dy + LABEL_SIZE) } else if dy < -1.0 { (y + dy - LABEL_SIZE, y + dy) } else { (y - LABEL_SIZE / 2.0, y + LABEL_SIZE / 2.0) };
            (Taken { x0, y0, x1: x0 + width, y1 }, (x + dx, y + dy))
        };
        // East, north-east, south-east, west, north-west, south-west, north, south (y grows down).
        let directions = [0.0f64, -35.0, 35.0, 180.0, 215.0, 145.0, -90.0, 90.0].map(f64::to_radians);
        let spots = [r + 3.0, r + 22.0, r + 44.0].into_iter().flat_map(|distance| directions.map(move |angle| (distance, angle)));
        let inside = |b: &Taken| b.x0 >= self.area.left + 2.0 && b.x1 <= self.area.right - 2.0 && b.y0 >= self.area.top + 2.0 && b.y1 <= self.area.bottom - 2.0;
        let clashes = |b: &Taken| self.taken.iter().filter(|t| t.overlaps(b)).count() + if inside(b) { 0 } else { 100 };
        let (distance, angle) = spots.min_by_key(|(d, a)| clashes(&boxed(*d, *a).0)).expect("spots to try");
        let (b, (lx, ly)) = boxed(distance, angle);
        self.taken.push(b);
        let leader = if distance > r + 3.0 {
            format!("<line x1=\"{:.1}\" y1=\"{:.1}\" x2=\"{lx:.1}\" y2=\"{ly:.1}\" class=\"leader\"/>", x + angle.cos() * r, y + angle.sin() * r)
        } else {
            String::new()
        };
        format!("{leader}<text x=\"{:.1}\" y=\"{:.1}\" class=\"label {class}\">{}</text>", b.x0, b.y1 - LABEL_SIZE * 0.22, escape(text))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn log_scales_spread_decades_evenly_and_tick_at_round_values() {
        let s = Scale::fit([1.0, 1000.0], true, (0.0, 300.0));
        assert!((s.at(10.0) - s.at(1.0) - (s.at(1000.0) - s.at(100.0))).abs() < 1e-9);
        assert!(s.ticks().starts_with(&[1.0, 2.0, 5.0, 10.0]) && s.ticks().contains(&1000.0), "{:?}", s.ticks());
        let narrow = Scale::fit([31.0, 47.0], true, (0.0, 300.0));
        assert!(narrow.ticks().len() >= 4 && narrow.ticks().iter().all(|v| narrow.contains(*v)), "{:?}", narrow.ticks());
        assert_eq!(Scale::fit([0.0, -1.0, 5.0], true, (0.0, 1.0)).at(5.0), Scale::fit([5.0], true, (0.0, 1.0)).at(5.0), "what a log scale cannot show is left out");
    }

    #[test]
    fn a_far_off_extra_is_left_off_scale_and_a_near_one_taken_in() {
        let s = Scale::fit_around([15.9, 17.8], [383.0, 19.0], true, (0.0, 500.0));
        assert!(s.contains(19.0) && s.contains(15.9) && !s.contains(383.0));
        assert_eq!(s.at(383.0), 500.0, "drawn at the end of the axis");
        assert!(Scale::fit_around([20.0, 200.0], [383.0], true, (0.0, 1.0)).contains(383.0));
    }

    #[test]
    fn linear_ticks_are_round_and_within_range() {
        let ticks = Scale::linear(0.0, 7.3, (0.0, 100.0)).ticks();
        assert_eq!(ticks, [0.0, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0]);
        assert_eq!(Scale::linear(0.0, 1.0, (0.0, 1.0)).ticks().last(), Some(&1.0));
    }

    #[test]
    fn numbers_keep_three_significant_digits() {
        assert_eq!([short(1250.0), short(12.5), short(0.012345), short(3.0), short(0.0)], ["1250", "12.5", "0.0123", "3", "0"]);
    }

    #[test]
    fn labels_of_close_points_do_not_overlap() {
        let mut labels = Labels::new(Area { left: 0.0, top: 0.0, right: 500.0, bottom: 500.0 });
        let placed: Vec<String> = (0..4).map(|i| labels.place(250.0, 250.0 + i as f64 * 2.0, 4.0, "v1 label", "m")).collect();
        let boxes = &labels.taken;
        for (i, a) in boxes.iter().enumerate() {
            assert!(boxes[i + 1..].iter().all(|b| !a.overlaps(b)), "{placed:?}");
        }
    }

    #[test]
    fn markup_from_recorded_files_is_escaped() {
        assert_eq!(escape("<b a=\"x\">&'"), "&lt;b a=&quot;x&quot;&gt;&amp;&#39;");
        assert_eq!(id_part("i o/t"), "i_o_t");
    }
}
