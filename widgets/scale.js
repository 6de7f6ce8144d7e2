// nnhp-magics front end: axis scales as pure functions (no DOM), shared by the dashboard's charts.
// niceTicks: 1-2-5 ticks as matplotlib's and Vega's "nice" axes place them; chooseScale: log y when the
// values span more than a decade; robustLimits: a y range that a first-epoch spike does not stretch.

/** The nice step (1, 2 or 5 times a power of ten) nearest to `span / count`. */
export function niceStep(span, count = 5) {
  const raw = span / Math.max(1, count);
  if (!(raw > 0) || !Number.isFinite(raw)) return 1;
  const power = 10 ** Math.floor(Math.log10(raw));
  const unit = raw / power;
  const nice = unit < 1.5 ? 1 : unit < 3.5 ? 2 : unit < 7.5 ? 5 : 10;
  return nice * power;
}

/** Round off the binary noise of `k * step` (0.30000000000000004 -> 0.3). */
function clean(value, step) {
  const digits = Math.max(0, -Math.floor(Math.log10(step)) + 1);
  return Number(value.toFixed(Math.min(20, digits)));
}

/** About `count` 1-2-5 ticks covering [lo, hi]; the limits widened to the outer ticks ({lo, hi, step, ticks}). */
export function niceTicks(lo, hi, count = 5) {
  if (!Number.isFinite(lo) || !Number.isFinite(hi)) return { lo: 0, hi: 1, step: 0.2, ticks: [0, 0.2, 0.4, 0.6, 0.8, 1] };
  if (hi < lo) [lo, hi] = [hi, lo];
  if (hi - lo < Math.max(Math.abs(hi), 1) * 1e-12) {
    const half = lo === 0 ? 1 : Math.abs(lo) * 0.1;
    lo -= half; hi += half;
  }
  const step = niceStep(hi - lo, count);
  const first = Math.floor(lo / step + 1e-9), last = Math.ceil(hi / step - 1e-9);
  const ticks = [];
  for (let k = first; k <= last; k++) ticks.push(clean(k * step, step));
  return { lo: ticks[0], hi: ticks[ticks.length - 1], step, ticks };
}

/** Ticks of a log axis over [lo, hi] (values > 0): 1-2-5 per decade for up to 2.5 decades, powers of ten beyond
 * (every k-th decade past 8), linear nice ticks inside less than a decade. */
export function logTicks(lo, hi) {
  const a = Math.log10(lo), b = Math.log10(hi);
  if (b - a < 1) return niceTicks(lo, hi, 4).ticks.filter((t) => t >= lo * (1 - 1e-9) && t <= hi * (1 + 1e-9) && t > 0);
  const mantissas = b - a <= 2.5 ? [1, 2, 5] : [1];
  const every = Math.max(1, Math.ceil((b - a) / 8));
  const ticks = [];
  for (let e = Math.floor(a); e <= Math.ceil(b); e++) {
    if (mantissas.length === 1 && e % every !== 0) continue;
    for (const m of mantissas) {
      const t = Number((m * 10 ** e).toPrecision(12));
      if (t >= lo * (1 - 1e-9) && t <= hi * (1 + 1e-9)) ticks.push(t);
    }
  }
  return ticks;
}

/** "log" when every value is positive and they span more than a decade, else "linear". */
export function chooseScale(values) {
  const finite = values.filter((v) => v !== null && v !== undefined && Number.isFinite(v));
  if (!finite.length || finite.some((v) => v <= 0)) return "linear";
  return Math.max(...finite) / Math.min(...finite) > 10 ? "log" : "linear";
}

/** A y range for curves (arrays of values by epoch) on `scale`, that first-epoch outliers do not stretch.
 * The range covers every value from the second epoch on; a first-epoch value counts when it lies within
 * 1.5 times that range above it (so those later epochs keep at least 40% of the height), otherwise it is
 * left off the range and reported in `clipped` (the chart marks it at the top edge). A range of values that
 * are all >= 0 never goes below 0 on a linear axis. Returns {lo, hi, clipped} in data units, or null. */
export function robustLimits(curves, scale = "linear") {
  const log = scale === "log";
  const ok = (v) => v !== null && v !== undefined && Number.isFinite(v) && (!log || v > 0);
  const t = log ? Math.log10 : (v) => v;
  const later = [], first = [];
  for (const values of curves) {
    values.forEach((v, i) => { if (ok(v)) (i === 0 ? first : later).push(t(v)); });
  }
  const all = later.concat(first);
  if (!all.length) return null;
  const base = later.length ? later : first;
  let lo = Math.min(...base), hi = Math.max(...base);
  const fence = hi + 1.5 * Math.max(hi - lo, log ? 0.3 : Math.abs(hi) * 0.1 || 1);
  let clipped = 0;
  for (const v of first) {
    if (v > fence) clipped += 1;
    else { lo = Math.min(lo, v); hi = Math.max(hi, v); }
  }
  const span = hi - lo || (log ? 0.2 : Math.abs(hi) * 0.1 || 1);
  lo -= span * 0.04; hi += span * 0.04;
  const back = log ? (v) => 10 ** v : (v) => v;
  let low = back(lo);
  if (!log && low < 0 && all.every((v) => v >= 0)) low = 0;
  return { lo: low, hi: back(hi), clipped };
}

/** The epochs the loss chart spans: every epoch of the finished curves, or, while a trial runs, its epochs
 * with room for a few more (so the running trial fills the width instead of the leftmost pixels). */
export function epochSpan(longest, running) {
  if (!running) return Math.max(1, longest);
  return Math.max(running, Math.min(Math.max(longest, running), Math.max(5, Math.ceil(running * 1.5))));
}

/** The distance from point p to the segment a-b (all {x, y}). */
export function segmentDistance(p, a, b) {
  const dx = b.x - a.x, dy = b.y - a.y;
  const len = dx * dx + dy * dy;
  const k = len ? Math.max(0, Math.min(1, ((p.x - a.x) * dx + (p.y - a.y) * dy) / len)) : 0;
  return Math.hypot(p.x - (a.x + k * dx), p.y - (a.y + k * dy));
}

/** The line under the pointer: of `lines` ([{points: [{x, y, joined, ...}], ...}], `joined`: a segment goes on
 * to the next point), the one whose drawn path passes
 * nearest to p, within `reach` pixels, and its point nearest to p: {line, point} or null. */
export function nearestLine(lines, p, reach = 12) {
  let best = null, distance = reach;
  for (const line of lines) {
    const pts = line.points;
    for (let i = 0; i < pts.length; i++) {
      const d = pts[i].joined && i + 1 < pts.length ? segmentDistance(p, pts[i], pts[i + 1]) : Math.hypot(p.x - pts[i].x, p.y - pts[i].y);
      if (d <= distance) { distance = d; best = line; }
    }
  }
  if (!best) return null;
  let point = best.points[0], near = Infinity;
  for (const pt of best.points) {
    const d = Math.abs(pt.x - p.x) + 0.001 * Math.abs(pt.y - p.y);
    if (d < near) { near = d; point = pt; }
  }
  return { line: best, point };
}

/** The [lo, hi] that values fall in once outliers are left off: Tukey's fences at 3 interquartile ranges
 * (from 4 values up; fewer keep their whole range). Null values are ignored; null when none is left. */
export function fencedRange(values) {
  const v = values.filter((x) => x !== null && x !== undefined && Number.isFinite(x)).sort((a, b) => a - b);
  if (!v.length) return null;
  if (v.length < 4) return [v[0], v[v.length - 1]];
  const q = (p) => { const i = p * (v.length - 1), k = Math.floor(i); return v[k] + (v[Math.min(k + 1, v.length - 1)] - v[k]) * (i - k); };
  const iqr = q(0.75) - q(0.25);
  const inside = v.filter((x) => x >= q(0.25) - 3 * iqr && x <= q(0.75) + 3 * iqr);
  return [inside[0], inside[inside.length - 1]];
}
