// Built by scripts/build_widgets.mjs from widgets/: edit those files, then run `npm run build`.

// widgets/dom.js
var SVG_NS = "http://www.w3.org/2000/svg";
function h(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (key === "class") node.className = value;
    else if (key === "dataset") Object.assign(node.dataset, value);
    else if (key === "text") node.textContent = value;
    else node.setAttribute(key, value);
  }
  for (const child of children) node.append(child);
  return node;
}
function s(tag, attrs = {}, text = "") {
  const node = document.createElementNS(SVG_NS, tag);
  for (const [key, value] of Object.entries(attrs)) node.setAttribute(key, String(value));
  if (text) node.textContent = text;
  return node;
}
async function copyText(text) {
  try {
    await navigator.clipboard.writeText(text);
    return true;
  } catch (_) {
    const area = h("textarea", { class: "nnhp-copy-buffer", style: "position: fixed; left: -9999px;" });
    area.value = text;
    document.body.append(area);
    area.select();
    let ok = false;
    try {
      ok = document.execCommand("copy");
    } catch (_2) {
      ok = false;
    }
    area.remove();
    return ok;
  }
}

// widgets/format.js
var DIGITS = 4;
function fmt(value) {
  const digits = DIGITS;
  if (value === null || value === void 0 || Number.isNaN(value)) return "";
  if (typeof value !== "number") return String(value);
  if (Number.isInteger(value) && Math.abs(value) < 1e6) return String(value);
  const exp = value === 0 ? 0 : Math.floor(Math.log10(Math.abs(value)));
  if (exp < -4 || exp >= digits) {
    const [mant, e] = value.toExponential(digits - 1).split("e");
    const m = mant.includes(".") ? mant.replace(/0+$/, "").replace(/\.$/, "") : mant;
    const n = Number(e);
    return `${m}e${n < 0 ? "-" : "+"}${String(Math.abs(n)).padStart(2, "0")}`;
  }
  const text = value.toFixed(Math.max(0, digits - 1 - exp));
  return text.includes(".") ? text.replace(/0+$/, "").replace(/\.$/, "") : text;
}
function fmtTime(seconds) {
  if (seconds === null || seconds === void 0 || !Number.isFinite(seconds)) return "";
  const t = Math.max(0, Math.round(seconds));
  if (t < 60) return `${t}s`;
  const hh = Math.floor(t / 3600), mm = Math.floor(t % 3600 / 60), ss = String(t % 60).padStart(2, "0");
  return hh ? `${hh}:${String(mm).padStart(2, "0")}:${ss}` : `${mm}:${ss}`;
}
function paramText(value) {
  if (value === void 0) return "";
  if (value === null) return "None";
  if (value === true) return "True";
  if (value === false) return "False";
  if (Array.isArray(value)) return `(${value.map(paramText).join(", ")}${value.length === 1 ? "," : ""})`;
  if (typeof value === "number") return fmt(value);
  return String(value);
}

// widgets/scale.js
function niceStep(span, count = 5) {
  const raw = span / Math.max(1, count);
  if (!(raw > 0) || !Number.isFinite(raw)) return 1;
  const power = 10 ** Math.floor(Math.log10(raw));
  const unit = raw / power;
  const nice = unit < 1.5 ? 1 : unit < 3.5 ? 2 : unit < 7.5 ? 5 : 10;
  return nice * power;
}
function clean(value, step) {
  const digits = Math.max(0, -Math.floor(Math.log10(step)) + 1);
  return Number(value.toFixed(Math.min(20, digits)));
}
function niceTicks(lo, hi, count = 5) {
  if (!Number.isFinite(lo) || !Number.isFinite(hi)) return { lo: 0, hi: 1, step: 0.2, ticks: [0, 0.2, 0.4, 0.6, 0.8, 1] };
  if (hi < lo) [lo, hi] = [hi, lo];
  if (hi - lo < Math.max(Math.abs(hi), 1) * 1e-12) {
    const half = lo === 0 ? 1 : Math.abs(lo) * 0.1;
    lo -= half;
    hi += half;
  }
  const step = niceStep(hi - lo, count);
  const first = Math.floor(lo / step + 1e-9), last = Math.ceil(hi / step - 1e-9);
  const ticks = [];
  for (let k = first; k <= last; k++) ticks.push(clean(k * step, step));
  return { lo: ticks[0], hi: ticks[ticks.length - 1], step, ticks };
}
function logTicks(lo, hi) {
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
function chooseScale(values) {
  const finite = values.filter((v) => v !== null && v !== void 0 && Number.isFinite(v));
  if (!finite.length || finite.some((v) => v <= 0)) return "linear";
  return Math.max(...finite) / Math.min(...finite) > 10 ? "log" : "linear";
}
function robustLimits(curves, scale = "linear") {
  const log = scale === "log";
  const ok = (v) => v !== null && v !== void 0 && Number.isFinite(v) && (!log || v > 0);
  const t = log ? Math.log10 : (v) => v;
  const later = [], first = [];
  for (const values of curves) {
    values.forEach((v, i) => {
      if (ok(v)) (i === 0 ? first : later).push(t(v));
    });
  }
  const all = later.concat(first);
  if (!all.length) return null;
  const base = later.length ? later : first;
  let lo = Math.min(...base), hi = Math.max(...base);
  const fence = hi + 1.5 * Math.max(hi - lo, log ? 0.3 : Math.abs(hi) * 0.1 || 1);
  let clipped = 0;
  for (const v of first) {
    if (v > fence) clipped += 1;
    else {
      lo = Math.min(lo, v);
      hi = Math.max(hi, v);
    }
  }
  const span = hi - lo || (log ? 0.2 : Math.abs(hi) * 0.1 || 1);
  lo -= span * 0.04;
  hi += span * 0.04;
  const back = log ? (v) => 10 ** v : (v) => v;
  let low = back(lo);
  if (!log && low < 0 && all.every((v) => v >= 0)) low = 0;
  return { lo: low, hi: back(hi), clipped };
}
function epochSpan(longest, running) {
  if (!running) return Math.max(1, longest);
  return Math.max(running, Math.min(Math.max(longest, running), Math.max(5, Math.ceil(running * 1.5))));
}
function segmentDistance(p, a, b) {
  const dx = b.x - a.x, dy = b.y - a.y;
  const len = dx * dx + dy * dy;
  const k = len ? Math.max(0, Math.min(1, ((p.x - a.x) * dx + (p.y - a.y) * dy) / len)) : 0;
  return Math.hypot(p.x - (a.x + k * dx), p.y - (a.y + k * dy));
}
function nearestLine(lines, p, reach = 12) {
  let best = null, distance = reach;
  for (const line of lines) {
    const pts = line.points;
    for (let i = 0; i < pts.length; i++) {
      const d = pts[i].joined && i + 1 < pts.length ? segmentDistance(p, pts[i], pts[i + 1]) : Math.hypot(p.x - pts[i].x, p.y - pts[i].y);
      if (d <= distance) {
        distance = d;
        best = line;
      }
    }
  }
  if (!best) return null;
  let point = best.points[0], near = Infinity;
  for (const pt of best.points) {
    const d = Math.abs(pt.x - p.x) + 1e-3 * Math.abs(pt.y - p.y);
    if (d < near) {
      near = d;
      point = pt;
    }
  }
  return { line: best, point };
}
function fencedRange(values) {
  const v = values.filter((x) => x !== null && x !== void 0 && Number.isFinite(x)).sort((a, b) => a - b);
  if (!v.length) return null;
  if (v.length < 4) return [v[0], v[v.length - 1]];
  const q = (p) => {
    const i = p * (v.length - 1), k = Math.floor(i);
    return v[k] + (v[Math.min(k + 1, v.length - 1)] - v[k]) * (i - k);
  };
  const iqr = q(0.75) - q(0.25);
  const inside = v.filter((x) => x >= q(0.25) - 3 * iqr && x <= q(0.75) + 3 * iqr);
  return [inside[0], inside[inside.length - 1]];
}

// widgets/explore.js
var PC = { width: 640, height: 230, top: 28, bottom: 34, left: 40, right: 60 };
var SCATTER = { width: 210, height: 150, left: 50, right: 14, top: 8, bottom: 30 };
var SCORE_KEY = "__score__";
function position(param, value) {
  if (value === null || value === void 0) return null;
  if (param.log) return value > 0 ? Math.log10(value) : null;
  return value;
}
function axisExtent(param, positions) {
  let lo, hi;
  if (param.labels) {
    lo = -0.5;
    hi = param.labels.length - 0.5;
    return [lo, hi];
  }
  const known = positions.filter((v) => v !== null && Number.isFinite(v));
  const bounds = [param.low, param.high].map((v) => position(param, v)).filter((v) => v !== null && Number.isFinite(v));
  const all = known.concat(bounds);
  if (!all.length) return [0, 1];
  lo = Math.min(...all);
  hi = Math.max(...all);
  if (hi - lo < 1e-12) {
    lo -= 0.5;
    hi += 0.5;
  }
  const pad = (hi - lo) * 0.04;
  return [lo - pad, hi + pad];
}
function axisTicks(axis) {
  if (axis.param.labels) return axis.param.labels.map((_, i) => i);
  const bounds = [axis.param.low, axis.param.high].map((v) => position(axis.param, v));
  if (bounds.every((v) => v !== null && v !== void 0 && Number.isFinite(v))) return bounds;
  const known = axis.positions.filter((v) => v !== null && Number.isFinite(v));
  return known.length ? [Math.min(...known), Math.max(...known)] : [];
}
function positionText(param, pos) {
  if (param.labels) return param.labels[Math.round(pos)] ?? "";
  return fmt(param.log ? 10 ** pos : pos);
}
function exploreAxes(data) {
  const axes = (data.params || []).map((p) => {
    const positions = p.values.map((v) => position(p, v));
    return { key: p.name, name: p.name, param: p, positions, extent: axisExtent(p, positions) };
  });
  const score = { name: data.objective || "score", log: false, labels: null, low: null, high: null };
  const scores = (data.scores || []).map((v) => v === null ? null : v);
  const fenced = fencedRange(scores) || [];
  axes.push({ key: SCORE_KEY, name: score.name, param: score, positions: scores, extent: axisExtent(score, fenced) });
  return axes;
}
function clampTo(axis, v) {
  return Math.max(axis.extent[0], Math.min(axis.extent[1], v));
}
function bestIndex(data) {
  let best = -1;
  (data.scores || []).forEach((v, i) => {
    if (v === null || v === void 0) return;
    if (best < 0 || (data.minimize !== false ? v < data.scores[best] : v > data.scores[best])) best = i;
  });
  return best;
}
function trialText(data, i) {
  const params = (data.params || []).map((p) => {
    const v = p.values[i];
    return v === null || v === void 0 ? null : `${p.name}=${p.labels ? p.labels[v] : paramText(v)}`;
  }).filter(Boolean);
  return `trial ${data.trials[i]} · ${data.objective || "score"} ${fmt(data.scores[i])}${params.length ? ` · ${params.join(", ")}` : ""}`;
}
function selectedTrials(data, axes, brushes) {
  if (!brushes.size) return null;
  const chosen = /* @__PURE__ */ new Set();
  (data.trials || []).forEach((trial, i) => {
    for (const [key, [lo, hi]] of brushes) {
      const axis = axes.find((a) => a.key === key);
      const v = axis ? axis.positions[i] : null;
      if (v === null || v === void 0 || v < lo || v > hi) return;
    }
    chosen.add(trial);
  });
  return chosen;
}
function scoreColour(score, lo, hi, minimize) {
  const good = "var(--jp-brand-color1, #1976d2)", bad = "var(--jp-error-color1, #d32f2f)";
  if (score === null || hi - lo < 1e-12) return good;
  let t = (score - lo) / (hi - lo);
  if (!minimize) t = 1 - t;
  return `color-mix(in srgb, ${bad} ${Math.round(100 * t)}%, ${good})`;
}
function buildExplore(constants) {
  const ui = {};
  ui.selectionText = h("span", { class: "nnhp-selection" });
  ui.clear = h("button", { class: "nnhp-clear", type: "button", text: "clear selection" });
  ui.importances = h("div", { class: "nnhp-importances" });
  ui.importanceNote = h("div", { class: "nnhp-importance-note" });
  ui.scatters = h("div", { class: "nnhp-scatters" });
  ui.parallel = s("svg", { class: "nnhp-parallel", role: "img" });
  ui.width = PC.width;
  ui.refineButton = h("button", { class: "nnhp-refine", type: "button", text: "Refine" });
  ui.refineSource = h("span", { class: "nnhp-refine-source" });
  ui.spec = h("textarea", {
    class: "nnhp-refine-spec",
    rows: "6",
    spellcheck: "false",
    wrap: "off",
    placeholder: "Click Refine for a narrower spec around the best or the selected trials, or type one."
  });
  ui.strategy = h("select", { class: "nnhp-round-strategy" }, ...constants.strategies.map((n) => h("option", { value: n, text: n })));
  ui.trials = h("input", {
    class: "nnhp-round-trials",
    type: "number",
    min: "1",
    step: "1",
    value: String(constants.round_trials)
  });
  ui.run = h("button", { class: "nnhp-run-round", type: "button", text: "Run again" });
  ui.copyCell = h("button", { class: "nnhp-copy-cell", type: "button", text: "copy as cell" });
  ui.refineNotice = h("div", { class: "nnhp-refine-notice" });
  ui.rounds = h("div", { class: "nnhp-rounds" });
  const section = (title, ...children) => h("section", { class: "nnhp-explore-section" }, h("h4", { text: title }), ...children);
  ui.root = h(
    "div",
    { class: "nnhp-explore nnhp-hidden" },
    h(
      "div",
      { class: "nnhp-explore-head" },
      h("span", { class: "nnhp-explore-title", text: "Explore" }),
      ui.selectionText,
      ui.clear
    ),
    section("What mattered", ui.importances, ui.importanceNote),
    section("Score against each parameter (drag across a plot to select)", ui.scatters),
    section("Parallel coordinates (drag along an axis to select)", ui.legend = h("div", { class: "nnhp-pc-legend" }), ui.parallel),
    section(
      "Refine and run again",
      h("div", { class: "nnhp-refine-tools" }, ui.refineButton, ui.refineSource),
      ui.spec,
      h(
        "div",
        { class: "nnhp-refine-tools" },
        h("label", {}, "strategy ", ui.strategy),
        h("label", {}, "trials ", ui.trials),
        ui.run,
        ui.copyCell
      ),
      ui.refineNotice,
      ui.rounds
    )
  );
  return ui;
}
function drawImportances(ui, payload) {
  const values = payload.values || [];
  ui.importances.replaceChildren();
  if (payload.pending) {
    ui.importanceNote.textContent = "computing importances (fANOVA)…";
    return;
  }
  ui.importanceNote.textContent = payload.error || (values.length ? `${payload.caveat ? `${payload.caveat} ` : ""}fANOVA importances (Optuna); a conditional parameter is scored over the trials where it was active.` : "");
  ui.importanceNote.dataset.caveat = payload.caveat ? "yes" : "";
  const top = Math.max(1e-12, ...values.map(([, v]) => v));
  for (const [name, value] of values) {
    const fill = h("div", { class: "nnhp-importance-fill" });
    fill.style.width = `${100 * value / top}%`;
    ui.importances.append(h(
      "div",
      { class: "nnhp-importance", dataset: { param: name } },
      h("span", { class: "nnhp-importance-name", text: name }),
      h("div", { class: "nnhp-importance-bar" }, fill),
      h("span", { class: "nnhp-importance-value", text: fmt(value) })
    ));
  }
}
function svgCoordinate(matrix, clientX, clientY, vertical) {
  const { a, b, c, d, e, f } = matrix;
  const det = a * d - b * c;
  const dx = clientX - e, dy = clientY - f;
  return vertical ? (a * dy - b * dx) / det : (d * dx - c * dy) / det;
}
function brushRange(from, to, toPosition) {
  const [p, q] = [toPosition(from), toPosition(to)];
  return [Math.min(p, q), Math.max(p, q)];
}
function brushable(liveSvg, axisKey, toPosition, vertical, onBrush) {
  const local = (event) => svgCoordinate(liveSvg().getScreenCTM(), event.clientX, event.clientY, vertical);
  return (target) => {
    target.addEventListener("mousedown", (event) => {
      event.preventDefault();
      const start = local(event);
      const move = (e) => onBrush(axisKey, start, local(e), toPosition, false);
      const up = (e) => {
        window.removeEventListener("mousemove", move);
        window.removeEventListener("mouseup", up);
        onBrush(axisKey, start, local(e), toPosition, true);
      };
      window.addEventListener("mousemove", move);
      window.addEventListener("mouseup", up);
    });
  };
}
function drawParallel(ui, data, axes, brushes, chosen, onBrush) {
  const svg = ui.parallel;
  svg.replaceChildren();
  const W = ui.width;
  for (const [k, v] of [["width", W], ["height", PC.height], ["viewBox", `0 0 ${W} ${PC.height}`]]) svg.setAttribute(k, v);
  const n = axes.length;
  const x = (k) => PC.left + (n === 1 ? 0.5 : k / (n - 1)) * (W - PC.left - PC.right);
  const y = (axis, v) => PC.top + (1 - (v - axis.extent[0]) / (axis.extent[1] - axis.extent[0])) * (PC.height - PC.top - PC.bottom);
  const scoreAxis = axes[axes.length - 1];
  const [lo, hi] = scoreAxis.extent;
  const best = bestIndex(data);
  let bestLine = null;
  const lines = s("g", { class: "nnhp-pc-lines" });
  (data.trials || []).forEach((trial, i) => {
    let d = "";
    axes.forEach((axis, k) => {
      const v = axis.positions[i];
      if (v === null || v === void 0) return;
      d += `${d ? "L" : "M"}${x(k).toFixed(1)},${y(axis, clampTo(axis, v)).toFixed(1)}`;
    });
    const on = !chosen || chosen.has(trial);
    const line = s("path", {
      d,
      class: `nnhp-pc-line${on ? " nnhp-on" : " nnhp-off"}${i === best ? " nnhp-pc-best" : ""}`,
      "data-trial": trial
    });
    line.append(s("title", {}, trialText(data, i)));
    if (on) line.style.stroke = scoreColour(data.scores[i], lo, hi, data.minimize !== false);
    if (i === best) bestLine = line;
    lines.append(line);
  });
  if (bestLine) lines.append(bestLine);
  svg.append(lines);
  axes.forEach((axis, k) => {
    const g = s("g", { class: "nnhp-pc-axis", "data-param": axis.key });
    const top = PC.top, bottom = PC.height - PC.bottom;
    g.append(s("line", { x1: x(k), x2: x(k), y1: top, y2: bottom, class: "nnhp-pc-spine" }));
    const title = s("text", { x: x(k), y: 14, "text-anchor": "middle", class: "nnhp-axis-text nnhp-pc-name" });
    title.textContent = axis.key === SCORE_KEY ? axis.name : `${axis.name}${axis.param.log ? " (log)" : ""}`;
    g.append(title);
    for (const t of axisTicks(axis)) {
      const label = s("text", { x: x(k) + 4, y: y(axis, t) + 4, class: "nnhp-axis-text" });
      label.textContent = positionText(axis.param, t);
      g.append(label);
    }
    const brush = brushes.get(axis.key);
    if (brush) {
      const [a, b] = [y(axis, brush[1]), y(axis, brush[0])];
      g.append(s("rect", { x: x(k) - 7, width: 14, y: a, height: Math.max(1, b - a), class: "nnhp-brush" }));
    }
    const hit = s("rect", { x: x(k) - 12, width: 24, y: top, height: bottom - top, class: "nnhp-pc-hit", "data-param": axis.key });
    const toPosition = (py) => axis.extent[0] + (1 - (py - top) / (bottom - top)) * (axis.extent[1] - axis.extent[0]);
    brushable(() => ui.parallel, axis.key, toPosition, true, onBrush)(hit);
    g.append(hit);
    svg.append(g);
  });
  svg.dataset.lines = String((data.trials || []).length);
}
function drawScatters(ui, data, axes, brushes, chosen, onBrush) {
  ui.scatters.replaceChildren();
  const scoreAxis = axes[axes.length - 1];
  const W = SCATTER.width, H = SCATTER.height;
  const yOf = (v) => SCATTER.top + (1 - (v - scoreAxis.extent[0]) / (scoreAxis.extent[1] - scoreAxis.extent[0])) * (H - SCATTER.top - SCATTER.bottom);
  const best = bestIndex(data);
  const [ylo, yhi] = scoreAxis.extent;
  const scoreTicks = niceTicks(ylo, yhi, 3).ticks.filter((t) => t >= ylo && t <= yhi);
  for (const axis of axes.slice(0, -1)) {
    const svg = s("svg", { class: "nnhp-scatter", width: W, height: H, viewBox: `0 0 ${W} ${H}`, "data-param": axis.key, role: "img" });
    const xOf = (v) => SCATTER.left + (v - axis.extent[0]) / (axis.extent[1] - axis.extent[0]) * (W - SCATTER.left - SCATTER.right);
    const brush = brushes.get(axis.key);
    if (brush) {
      svg.append(s("rect", {
        x: xOf(brush[0]),
        width: Math.max(1, xOf(brush[1]) - xOf(brush[0])),
        y: SCATTER.top,
        height: H - SCATTER.top - SCATTER.bottom,
        class: "nnhp-brush"
      }));
    }
    for (const t of scoreTicks) {
      svg.append(s("line", { x1: SCATTER.left, x2: W - SCATTER.right, y1: yOf(t), y2: yOf(t), class: "nnhp-grid" }));
      svg.append(s("text", { x: SCATTER.left - 4, y: yOf(t) + 4, "text-anchor": "end", class: "nnhp-axis-text" }, fmt(t)));
    }
    svg.append(s("text", {
      x: 0,
      y: 0,
      "text-anchor": "middle",
      class: "nnhp-axis-text nnhp-scatter-yname",
      transform: `translate(10 ${(SCATTER.top + H - SCATTER.bottom) / 2}) rotate(-90)`
    }, scoreAxis.name));
    const ticks = axisTicks(axis);
    ticks.forEach((t, i) => {
      const edge = axis.param.labels ? "middle" : i === 0 ? "start" : "end";
      const label = s("text", { x: xOf(t), y: H - 16, "text-anchor": edge, class: "nnhp-axis-text" });
      label.textContent = positionText(axis.param, t);
      svg.append(label);
    });
    const name = s("text", { x: (SCATTER.left + W) / 2, y: H - 3, "text-anchor": "middle", class: "nnhp-axis-text nnhp-pc-name" });
    name.textContent = `${axis.name}${axis.param.log ? " (log)" : ""}`;
    svg.append(name);
    let points = 0;
    (data.trials || []).forEach((trial, i) => {
      const v = axis.positions[i], score = scoreAxis.positions[i];
      if (v === null || v === void 0 || score === null) return;
      const jitter = axis.param.labels ? (trial * 37 % 11 - 5) * 0.03 : 0;
      const on = !chosen || chosen.has(trial);
      const dot = s("circle", {
        cx: xOf(v + jitter),
        cy: yOf(clampTo(scoreAxis, score)),
        r: 3.2,
        "data-trial": trial,
        class: `nnhp-point${on ? " nnhp-on" : " nnhp-off"}${i === best ? " nnhp-best-point" : ""}`
      });
      dot.append(s("title", {}, trialText(data, i)));
      svg.append(dot);
      points += 1;
    });
    svg.dataset.points = String(points);
    const hit = s("rect", {
      x: SCATTER.left,
      y: SCATTER.top,
      width: W - SCATTER.left - SCATTER.right,
      height: H - SCATTER.top - SCATTER.bottom,
      class: "nnhp-scatter-hit"
    });
    const toPosition = (px) => axis.extent[0] + (px - SCATTER.left) / (W - SCATTER.left - SCATTER.right) * (axis.extent[1] - axis.extent[0]);
    const live = () => [...ui.scatters.children].find((el) => el.dataset.param === axis.key) || svg;
    brushable(live, axis.key, toPosition, false, onBrush)(hit);
    svg.append(hit);
    ui.scatters.append(svg);
  }
}
function drawExplore(ex, model, view, onSelection) {
  const data = model.get("explore") || {};
  const status = model.get("status");
  ex.root.classList.toggle("nnhp-hidden", !data.trials);
  if (!data.trials) return;
  const axes = exploreAxes(data);
  const chosen = selectedTrials(data, axes, view.brushes);
  view.selection = chosen;
  if (!view.dragging) view.boardSelection = chosen;
  const complete = data.trials.length;
  ex.selectionText.textContent = chosen ? `${chosen.size} of ${complete} complete trials selected` : `${complete} complete trials${data.error ? ` · ${data.error}` : ""}`;
  ex.selectionText.dataset.selected = chosen ? String(chosen.size) : "";
  ex.clear.disabled = !chosen;
  drawImportances(ex, model.get("importances") || {});
  const onBrush = (key, a, b, toPosition, done) => {
    if (done && Math.abs(a - b) < 3) view.brushes.delete(key);
    else view.brushes.set(key, brushRange(a, b, toPosition));
    view.dragging = !done;
    onSelection(done);
    if (done) sendSelection(model, view);
  };
  const minimize = data.minimize !== false;
  ex.legend.replaceChildren(
    `line colour: ${data.objective || "score"}, `,
    h("b", { text: "best" }),
    h("i", { class: "nnhp-pc-ramp" }),
    `worst (${minimize ? "lower" : "higher"} is better); the thick line is the best trial, ◯ marks it in the scatters; hover a line or point for its trial`
  );
  drawScatters(ex, data, axes, view.brushes, chosen, onBrush);
  drawParallel(ex, data, axes, view.brushes, chosen, onBrush);
  const running = status === view.constants.running;
  const block = model.get("round_block") || "";
  ex.run.disabled = running || Boolean(block) || !ex.spec.value.trim();
  ex.run.title = block || "Run this spec as the next round: its trials join this leaderboard and study";
  ex.refineButton.textContent = chosen ? `Refine around the ${chosen.size} selected` : `Refine around the top ${Math.round(100 * view.constants.refine_top)}%`;
  ex.refineButton.disabled = chosen !== null && chosen.size === 0;
  const rounds = model.get("rounds") || [];
  ex.rounds.replaceChildren(...rounds.map((r) => h(
    "div",
    { class: "nnhp-round", dataset: { round: r.round } },
    `round ${r.round}: ${r.strategy}, ${r.trials} trials`
  )));
}
function sendSelection(model, view) {
  model.set("selected", view.selection ? [...view.selection].sort((a, b) => a - b) : []);
  model.save_changes();
}
function refineCaption(refine) {
  if (!refine.around) return "";
  const which = refine.selected && refine.selected.length ? "selected" : `the top ${Math.round(100 * refine.top)}%`;
  return `around trial${refine.around.length === 1 ? "" : "s"} ${refine.around.join(", ")} (${which})`;
}
function fillRefine(ex, model) {
  const refine = model.get("refine") || {};
  if (refine.error) {
    ex.refineNotice.textContent = refine.error;
    ex.refineNotice.dataset.kind = "error";
    return;
  }
  ex.spec.value = refine.spec || "";
  ex.spec.rows = Math.min(18, Math.max(4, ex.spec.value.split("\n").length));
  if (refine.strategy) ex.strategy.value = refine.strategy;
  if (refine.trials) ex.trials.value = String(refine.trials);
  ex.refineSource.textContent = refineCaption(refine);
  ex.refineNotice.textContent = "";
  ex.refineNotice.dataset.kind = "";
}
function cellText(line, strategy, trials, spec) {
  const head = line ? `${line} --strategy ${strategy} --trials ${trials}
` : "";
  return head + spec.replace(/^\n+/, "");
}
function showRunNotice(ex, view, notice) {
  if (!view.awaitingRun) return;
  view.awaitingRun = false;
  ex.refineNotice.textContent = notice.text || "";
  ex.refineNotice.dataset.kind = notice.kind || "";
}
function wireExplore(ex, model, view, redraw) {
  view.brushes = /* @__PURE__ */ new Map();
  view.selection = null;
  view.boardSelection = null;
  view.dragging = false;
  ex.clear.addEventListener("click", () => {
    view.brushes.clear();
    redraw();
    sendSelection(model, view);
  });
  ex.refineButton.addEventListener("click", () => {
    ex.refineNotice.textContent = "refining…";
    ex.refineNotice.dataset.kind = "busy";
    model.send({
      type: "refine",
      run_id: model.get("run_id"),
      top: view.constants.refine_top,
      selected: view.selection ? [...view.selection] : null
    });
  });
  for (const field of [ex.spec, ex.trials]) {
    field.addEventListener("keydown", (event) => event.stopPropagation());
    field.addEventListener("input", () => {
      ex.run.disabled = Boolean(model.get("round_block")) || !ex.spec.value.trim();
    });
  }
  ex.run.addEventListener("click", () => {
    ex.refineNotice.textContent = "starting the next round…";
    ex.refineNotice.dataset.kind = "busy";
    ex.run.disabled = true;
    view.awaitingRun = true;
    view.brushes.clear();
    model.send({
      type: "run",
      run_id: model.get("run_id"),
      spec: ex.spec.value,
      strategy: ex.strategy.value,
      trials: ex.trials.value
    });
  });
  ex.copyCell.addEventListener("click", async () => {
    const refine = model.get("refine") || {};
    const text = cellText(refine.line, ex.strategy.value, ex.trials.value, ex.spec.value);
    ex.copyCell.dataset.copied = text;
    const ok = await copyText(text);
    ex.copyCell.textContent = ok ? "copied" : "select and copy";
    setTimeout(() => {
      ex.copyCell.textContent = "copy as cell";
    }, 1500);
  });
  const onRefine = () => fillRefine(ex, model);
  model.on("change:refine", onRefine);
  fillRefine(ex, model);
  return () => model.off("change:refine", onRefine);
}

// widgets/dashboard.js
var CHART = { width: 640, height: 240, right: 14, top: 10, bottom: 34 };
var LEGEND = [
  ["loss", "running trial: loss"],
  ["val", "running trial: val_loss"],
  ["done", "finished trials"],
  ["best", "best trial"]
];
var KEY_COLUMNS = ["trial", "state", "score"];
function compareValues(a, b, ascending) {
  const blankA = a === void 0 || a === null || a === "", blankB = b === void 0 || b === null || b === "";
  if (blankA || blankB) return blankA === blankB ? 0 : blankA ? 1 : -1;
  let order;
  if (typeof a === "number" && typeof b === "number") order = a - b;
  else if (typeof a === "boolean" && typeof b === "boolean") order = Number(a) - Number(b);
  else order = paramText(a).localeCompare(paramText(b), void 0, { numeric: true });
  return ascending ? order : -order;
}
function columns(info) {
  const objective = info.objective || "score";
  const cols = [
    { key: "trial", label: "trial", title: "trial number, as in search.leaderboard()" },
    { key: "state", label: "state", title: "complete, pruned (stopped early by the pruner), failed, interrupted or running" },
    { key: "score", label: "score", title: `${objective} (${info.direction === "max" ? "higher" : "lower"} is better)` }
  ];
  if (info.cv) cols.push({ key: "score_std", label: "score_std", title: "standard deviation over CV folds" });
  for (const name of info.params || []) cols.push({ key: `p:${name}`, label: name, param: name, title: name });
  cols.push(
    { key: "epochs", label: "epochs", title: info.cv ? "epochs trained, per fold (mean over the folds)" : "epochs trained" },
    { key: "best_epoch", label: "best_epoch", title: "the restored best epoch (mean over the folds under CV)" },
    { key: "seconds", label: "seconds", title: "seconds the trial took" },
    { key: "engine", label: "engine", title: "what trained the trial: graph, packed, or fit (hover a fit cell for why)" }
  );
  if ((info.round || 1) > 1) cols.push({ key: "round", label: "round", title: "the round that ran the trial" });
  return cols;
}
function cellValue(row, col, live) {
  if (col.param) return row.params ? row.params[col.param] : void 0;
  if (live && (col.key === "epochs" || col.key === "seconds")) {
    return col.key === "epochs" ? live.epoch : live.seconds;
  }
  return row[col.key];
}
function sortRows(rows, sort, info, liveByTrial = /* @__PURE__ */ new Map(), complete = void 0) {
  const minimize = info.direction !== "max";
  const out = rows.slice();
  if (!sort) {
    const rank = (r) => r.score === null || r.score === void 0 ? 2 : r.state === complete ? 0 : 1;
    return out.sort((a, b) => rank(a) - rank(b) || compareValues(a.score, b.score, minimize) || a.trial - b.trial);
  }
  const col = columns(info).find((c) => c.key === sort.key) || { key: sort.key };
  let ascending = sort.ascending;
  if (col.key === "score" && !minimize) ascending = !ascending;
  return out.sort((a, b) => compareValues(cellValue(a, col, liveByTrial.get(a.trial)), cellValue(b, col, liveByTrial.get(b.trial)), ascending) || a.trial - b.trial);
}
function stateText(row, pruned) {
  return row.state === pruned && row.epochs ? `${pruned} at epoch ${Math.round(row.epochs)}` : row.state;
}
function buildSkeleton(constants) {
  const ui = {};
  ui.title = h("span", { class: "nnhp-title" });
  ui.status = h("span", { class: "nnhp-status" });
  ui.counter = h("span", { class: "nnhp-counter" });
  ui.elapsed = h("span", { class: "nnhp-elapsed" });
  ui.eta = h("span", { class: "nnhp-eta" });
  ui.bestScore = h("span", { class: "nnhp-best-score" });
  ui.plan = h("div", { class: "nnhp-header-line nnhp-plan nnhp-hidden" });
  const header = h(
    "div",
    { class: "nnhp-header" },
    h("div", { class: "nnhp-header-line" }, ui.title, ui.status),
    h("div", { class: "nnhp-header-line nnhp-facts" }, ui.counter, ui.elapsed, ui.eta, ui.bestScore),
    ui.plan
  );
  ui.trialsFill = h("div", { class: "nnhp-fill" });
  ui.trialsLabel = h("span", { class: "nnhp-bar-label" });
  ui.epochFill = h("div", { class: "nnhp-fill" });
  ui.epochLabel = h("span", { class: "nnhp-bar-label" });
  ui.epochRow = h(
    "div",
    { class: "nnhp-bar-row nnhp-epoch-row" },
    h("div", { class: "nnhp-bar nnhp-epoch-bar" }, ui.epochFill),
    ui.epochLabel
  );
  const progress = h(
    "div",
    { class: "nnhp-progress" },
    h("div", { class: "nnhp-bar-row" }, h("div", { class: "nnhp-bar nnhp-trials-bar" }, ui.trialsFill), ui.trialsLabel),
    ui.epochRow
  );
  ui.svg = s("svg", { class: "nnhp-chart", role: "img" });
  ui.width = CHART.width;
  ui.tooltip = h("div", { class: "nnhp-tooltip" });
  ui.logToggle = h("input", { type: "checkbox", class: "nnhp-log-toggle" });
  ui.legend = h("span", { class: "nnhp-legend" });
  const chart = h(
    "div",
    { class: "nnhp-chart-box" },
    h(
      "div",
      { class: "nnhp-chart-tools" },
      ui.legend,
      h(
        "label",
        { class: "nnhp-log-label", title: "log y is chosen when the values span more than a decade; click to choose" },
        ui.logToggle,
        " log y"
      )
    ),
    ui.chartArea = h("div", { class: "nnhp-chart-area" }, ui.svg, ui.tooltip)
  );
  ui.table = h("table", { class: "nnhp-board" });
  const board = ui.boardBox = h("div", { class: "nnhp-board-box" }, ui.table);
  ui.code = h("code", { class: "nnhp-best-code" });
  ui.copy = h("button", { class: "nnhp-copy", type: "button", text: "copy as code" });
  ui.bestBox = h(
    "div",
    { class: "nnhp-best" },
    h("span", { class: "nnhp-best-label", text: "best parameters" }),
    ui.code,
    ui.copy
  );
  ui.stop = h("button", { class: "nnhp-stop", type: "button", text: "Stop" });
  ui.path = h("input", { class: "nnhp-export-path", type: "text", spellcheck: "false" });
  ui.exportButton = h("button", { class: "nnhp-export", type: "button", text: "Export" });
  ui.overwrite = h("input", { type: "checkbox", class: "nnhp-overwrite" });
  ui.notice = h("span", { class: "nnhp-notice" });
  const controls = h(
    "div",
    { class: "nnhp-controls" },
    ui.stop,
    h(
      "span",
      { class: "nnhp-export-box" },
      ui.path,
      ui.exportButton,
      h("label", { class: "nnhp-overwrite-label" }, ui.overwrite, " overwrite")
    ),
    ui.notice
  );
  ui.explore = buildExplore(constants);
  ui.root = h("div", { class: "nnhp-dash" }, header, progress, chart, board, ui.bestBox, controls, ui.explore.root);
  return ui;
}
function chartSeries(curves, running, best) {
  const series = [];
  for (const c of curves) {
    const isBest = best && best.trial === c.trial;
    series.push({ trial: c.trial, metric: c.metric, values: c.values, kind: isBest ? "best" : "done" });
  }
  series.sort((a, b) => (a.kind === "best") - (b.kind === "best"));
  for (const r of running) {
    const fold = r.folds > 1 ? ` (fold ${r.fold}/${r.folds})` : "";
    series.push({ trial: r.trial, metric: `loss${fold}`, values: r.loss, kind: "loss" });
    if (r.val_loss.some((v) => v !== null)) {
      series.push({ trial: r.trial, metric: `val_loss${fold}`, values: r.val_loss, kind: "val" });
    }
  }
  return series;
}
function chartAxis(series, span, scalePick = null) {
  const visible = series.map((sr) => sr.values.slice(0, span));
  const scale = scalePick || chooseScale(visible.flat());
  const limits = robustLimits(visible, scale);
  if (!limits) return null;
  let { lo, hi } = limits, ticks;
  if (scale === "log") {
    ticks = logTicks(lo, hi);
  } else {
    const nice = niceTicks(lo, hi, 5);
    ({ lo, hi, ticks } = nice);
  }
  const names = [...new Set(series.map((sr) => sr.metric.split(" (")[0]))];
  return { scale, lo, hi, ticks, clipped: limits.clipped, label: `${names.join(" / ")}${scale === "log" ? " (log scale)" : ""}` };
}
function drawChart(ui, series, view) {
  const svg = ui.svg;
  svg.replaceChildren();
  const W = ui.width, H = CHART.height;
  svg.setAttribute("width", W);
  svg.setAttribute("height", H);
  svg.setAttribute("viewBox", `0 0 ${W} ${H}`);
  const longest = Math.max(1, ...series.map((sr) => sr.values.length));
  const runningLen = Math.max(0, ...series.filter((sr) => sr.kind === "loss" || sr.kind === "val").map((sr) => sr.values.length));
  const span = epochSpan(longest, runningLen);
  const axis = chartAxis(series, span, view.scalePick);
  ui.lines = [];
  ui.logToggle.checked = axis ? axis.scale === "log" : view.scalePick === "log";
  if (!axis) {
    svg.append(s(
      "text",
      { x: W / 2, y: H / 2, "text-anchor": "middle", class: "nnhp-axis-text" },
      "curves appear after the first epoch"
    ));
    svg.dataset.points = "0";
    svg.dataset.scale = "";
    return;
  }
  svg.dataset.scale = axis.scale;
  const log = axis.scale === "log";
  const ok = (v) => v !== null && Number.isFinite(v) && (!log || v > 0);
  const ty = log ? Math.log10 : (v) => v;
  const lo = ty(axis.lo), hi = ty(axis.hi);
  const labels = axis.ticks.map((t) => fmt(t));
  const left = 22 + 7 * Math.max(2, ...labels.map((t) => t.length));
  const x0 = left, x1 = W - CHART.right, y0 = CHART.top, y1 = H - CHART.bottom;
  const x = (i) => x0 + (span === 1 ? 0.5 : i / (span - 1)) * (x1 - x0);
  const yRaw = (v) => y0 + (1 - (ty(v) - lo) / (hi - lo)) * (y1 - y0);
  const y = (v) => Math.max(y0, Math.min(y1, yRaw(v)));
  const axes = s("g", { class: "nnhp-axes" });
  axis.ticks.forEach((t, k) => {
    const py = yRaw(t);
    axes.append(s("line", { x1: x0, x2: x1, y1: py, y2: py, class: "nnhp-grid" }));
    axes.append(s("text", { x: x0 - 6, y: py + 4, "text-anchor": "end", class: "nnhp-axis-text nnhp-y-tick" }, labels[k]));
  });
  const xStep = niceStep(span, Math.max(2, Math.floor((x1 - x0) / 60)));
  for (let e = 1; e <= span; e += Math.max(1, Math.round(xStep))) {
    axes.append(s("text", { x: x(e - 1), y: H - 18, "text-anchor": "middle", class: "nnhp-axis-text" }, String(e)));
  }
  axes.append(s("text", { x: (x0 + x1) / 2, y: H - 3, "text-anchor": "middle", class: "nnhp-axis-text" }, "epoch"));
  axes.append(s("text", {
    x: 0,
    y: 0,
    "text-anchor": "middle",
    class: "nnhp-axis-text nnhp-y-label",
    transform: `translate(12 ${(y0 + y1) / 2}) rotate(-90)`
  }, axis.label));
  svg.append(axes);
  let points = 0;
  for (const sr of series) {
    const group = s("g", { class: `nnhp-series nnhp-series-${sr.kind}`, "data-trial": sr.trial });
    const line = { trial: sr.trial, metric: sr.metric, kind: sr.kind, group, points: [] };
    let path = "";
    sr.values.slice(0, span).forEach((v, i) => {
      if (!ok(v)) return;
      const joined = Boolean(path) && ok(sr.values[i - 1]);
      path += `${joined ? "L" : "M"}${x(i).toFixed(1)},${y(v).toFixed(1)}`;
      if (joined) line.points[line.points.length - 1].joined = true;
      line.points.push({ x: x(i), y: y(v), epoch: i + 1, value: v, joined: false });
      if (yRaw(v) < y0) group.append(s("text", { x: x(i), y: y0 + 9, "text-anchor": "middle", class: "nnhp-axis-text nnhp-clipped" }, "↑"));
      points += 1;
    });
    group.append(s("path", { d: path, class: "nnhp-line" }));
    if (sr.kind === "loss" || sr.kind === "val") {
      for (const pt of line.points) group.append(s("circle", { cx: pt.x, cy: pt.y, r: 2.5, class: "nnhp-dot" }));
    }
    ui.lines.push(line);
    svg.append(group);
  }
  ui.marker = s("circle", { r: 4, class: "nnhp-hover-dot", visibility: "hidden" });
  svg.append(ui.marker);
  svg.dataset.points = String(points);
  svg.dataset.span = String(span);
}
function drawLegend(ui, series) {
  const kinds = new Set(series.map((sr) => sr.kind));
  const best = series.find((sr) => sr.kind === "best");
  ui.legend.replaceChildren(...LEGEND.filter(([kind]) => kinds.has(kind)).map(([kind, text]) => h("span", { class: `nnhp-key nnhp-key-${kind}` }, h("i"), kind === "best" ? `${text} (#${best.trial})` : text)));
}
function hoverText(line, point, params) {
  const names = params ? Object.entries(params).map(([k, v]) => `${k}=${paramText(v)}`).join(", ") : "";
  return `trial ${line.trial} · epoch ${point.epoch} · ${line.metric} ${fmt(point.value)}${names ? ` · ${names}` : ""}`;
}
function hover(ui, model, event) {
  const box = ui.svg.getBoundingClientRect();
  if (!ui.lines || !ui.lines.length) return;
  const p = { x: event.clientX - box.left, y: event.clientY - box.top };
  const found = nearestLine(ui.lines, p);
  if (!found) {
    hideHover(ui);
    return;
  }
  const { line, point } = found;
  for (const l of ui.lines) l.group.classList.toggle("nnhp-hovered", l === line);
  ui.marker.setAttribute("cx", point.x);
  ui.marker.setAttribute("cy", point.y);
  ui.marker.setAttribute("visibility", "visible");
  const row = (model.get("trials") || []).find((r) => r.trial === line.trial);
  ui.tooltip.textContent = hoverText(line, point, row && row.params);
  ui.tooltip.classList.add("nnhp-visible");
  const width = ui.tooltip.offsetWidth;
  ui.tooltip.style.left = `${Math.max(0, Math.min(point.x + 8, box.width - width))}px`;
  ui.tooltip.style.top = `${Math.max(0, point.y - 28)}px`;
}
function hideHover(ui) {
  if (ui.marker) ui.marker.setAttribute("visibility", "hidden");
  for (const l of ui.lines || []) l.group.classList.remove("nnhp-hovered");
  ui.tooltip.classList.remove("nnhp-visible");
}
function drawTable(ui, model, view) {
  const info = model.get("info") || {};
  const best = model.get("best") || {};
  const liveByTrial = new Map((model.get("running") || []).map((r) => [r.trial, r]));
  const cols = columns(info);
  const head = h("thead");
  const headRow = h("tr");
  for (const col of cols) {
    const sorted = view.sort && view.sort.key === col.key;
    const th = h("th", { dataset: { key: col.key }, title: `${col.title} · click to sort` }, col.label);
    if (sorted) th.classList.add(view.sort.ascending ? "nnhp-sorted-asc" : "nnhp-sorted-desc");
    th.addEventListener("click", () => {
      const again = view.sort && view.sort.key === col.key;
      view.sort = { key: col.key, ascending: again ? !view.sort.ascending : true };
      drawTable(ui, model, view);
    });
    headRow.append(th);
  }
  head.append(headRow);
  const body = h("tbody");
  const rows = (model.get("trials") || []).filter((row) => !view.boardSelection || view.boardSelection.has(row.trial));
  for (const row of sortRows(rows, view.sort, info, liveByTrial, view.constants.complete)) {
    const live = liveByTrial.get(row.trial);
    const tr = h("tr", {
      class: `nnhp-row nnhp-row-${row.state}`,
      dataset: { trial: row.trial, state: row.state, round: row.round || 1 }
    });
    if (best.trial === row.trial) tr.classList.add("nnhp-best-row");
    for (const col of cols) {
      const value = cellValue(row, col, live);
      const td = h("td", { dataset: { key: col.key } });
      if (col.key === "state") {
        td.append(stateText(row, view.constants.pruned));
        if (row.error) td.append(h("div", { class: "nnhp-reason", title: row.error, text: row.error }));
      } else if (col.key === "score") {
        td.textContent = row.state === view.constants.running ? "…" : fmt(value);
      } else if (col.param) {
        td.textContent = paramText(value);
      } else if (col.key === "engine") {
        td.textContent = value || "";
        if (row.engine_reason) {
          td.title = `fit, because ${row.engine_reason}`;
          td.textContent = `${value} *`;
        }
      } else {
        td.textContent = fmt(value);
      }
      tr.append(td);
    }
    body.append(tr);
  }
  ui.table.replaceChildren(head, body);
  pinKeyColumns(ui.table);
}
function pinKeyColumns(table) {
  let left = 0;
  KEY_COLUMNS.forEach((key, k) => {
    const cells = table.querySelectorAll(`[data-key="${key}"]`);
    if (!cells.length) return;
    for (const cell of cells) {
      cell.classList.add("nnhp-key-col");
      cell.classList.toggle("nnhp-key-last", k === KEY_COLUMNS.length - 1);
      cell.style.left = `${left}px`;
    }
    left += cells[0].getBoundingClientRect().width;
  });
}
function drawHeader(ui, model, view) {
  const info = model.get("info") || {};
  const status = model.get("status");
  const trials = model.get("trials") || [];
  const running = model.get("running") || [];
  const best = model.get("best") || {};
  const budget = info.budget || 0;
  const counted = trials.filter((t) => view.constants.counted.includes(t.state)).length;
  const live = status === view.constants.running;
  const round = (info.round || 1) > 1 ? ` · round ${info.round}` : "";
  ui.title.textContent = info.strategy ? `${info.strategy} search · ${info.objective} (${info.direction})${info.cv ? ` · ${info.cv}-fold CV` : ""}${round}` : "waiting for the search to start";
  ui.status.textContent = model.get("stopping") && live ? "stopping…" : status;
  ui.plan.textContent = info.plan || "";
  ui.plan.classList.toggle("nnhp-hidden", !info.plan);
  ui.status.dataset.status = status;
  ui.counter.textContent = `${counted} of ${budget} trials${live && running.length ? ` · ${running.length} running` : ""}`;
  ui.counter.dataset.finished = String(counted);
  ui.counter.dataset.budget = String(budget);
  ui.trialsFill.style.width = `${budget ? 100 * counted / budget : 0}%`;
  ui.trialsLabel.textContent = `${counted}/${budget} trials`;
  ui.bestScore.textContent = best.trial === void 0 ? "best: –" : `best ${fmt(best.score)} (trial ${best.trial})`;
  const first = running[0];
  ui.epochRow.classList.toggle("nnhp-hidden", !first);
  if (first) {
    const max = first.max_epochs || info.max_epochs || first.epoch;
    ui.epochFill.style.width = `${max ? 100 * first.epoch / max : 0}%`;
    const fold = first.folds > 1 ? ` · fold ${first.fold}/${first.folds}` : "";
    ui.epochLabel.textContent = `trial ${first.trial} · epoch ${first.epoch}/${max}${fold}`;
  }
  tick(ui, model, view);
}
function etaText(eta, since, live) {
  if (!live || eta === null || eta === void 0) return "";
  const left = eta - since;
  return left >= 1 ? `ETA ${fmtTime(left)}` : "";
}
function tick(ui, model, view) {
  const clock = model.get("clock") || {};
  const live = model.get("status") === view.constants.running;
  const since = live ? (performance.now() - view.clockAt) / 1e3 : 0;
  ui.elapsed.textContent = `elapsed ${fmtTime((clock.elapsed || 0) + since)}`;
  ui.eta.textContent = etaText(clock.eta, since, live);
}
function drawControls(ui, model, view) {
  const live = model.get("status") === view.constants.running;
  const stoppable = model.get("stoppable");
  ui.stop.disabled = !live || !stoppable || model.get("stopping") || view.stopClicked === model.get("run_id");
  ui.stop.textContent = live && (model.get("stopping") || view.stopClicked === model.get("run_id")) ? "Stopping…" : "Stop";
  ui.stop.title = live && !stoppable ? "This kernel takes no clicks while a foreground search runs: interrupt the kernel (■) to stop it; finished trials are kept." : "End the search: finished trials are kept, running ones are interrupted.";
  ui.exportButton.disabled = !model.get("exportable");
  ui.exportButton.title = model.get("exportable") ? "Save the best model (.keras), its parameters and the leaderboard" : "Export works once the search has ended with a complete trial";
  const notice = model.get("notice") || {};
  if (notice.seq !== view.noticeSeq) {
    view.noticeSeq = notice.seq;
    ui.notice.textContent = notice.text || "";
    ui.notice.dataset.kind = notice.kind || "";
    showRunNotice(ui.explore, view, notice);
  }
  const best = model.get("best") || {};
  ui.bestBox.classList.toggle("nnhp-hidden", !best.code);
  ui.code.textContent = best.text || "";
  ui.code.dataset.code = best.code || "";
}
function render({ model, el }) {
  const constants = model.get("constants");
  const ui = buildSkeleton(constants);
  const view = {
    sort: null,
    scalePick: null,
    clockAt: performance.now(),
    frame: 0,
    noticeSeq: void 0,
    stopClicked: null,
    constants
  };
  ui.path.value = model.get("export_path");
  const draw = () => {
    view.frame = 0;
    ui.root.dataset.runId = model.get("run_id") || "";
    ui.root.dataset.status = model.get("status") || "";
    drawHeader(ui, model, view);
    const series = chartSeries(model.get("curves") || [], model.get("running") || [], model.get("best") || {});
    drawChart(ui, series, view);
    drawLegend(ui, series);
    drawExplore(ui.explore, model, view, selectionChanged);
    drawTable(ui, model, view);
    drawControls(ui, model, view);
  };
  const selectionChanged = (done = true) => {
    drawExplore(ui.explore, model, view, selectionChanged);
    if (done) drawTable(ui, model, view);
  };
  const schedule = () => {
    if (!view.frame) view.frame = requestAnimationFrame(draw);
  };
  const onClock = () => {
    view.clockAt = performance.now();
  };
  ui.logToggle.addEventListener("change", () => {
    view.scalePick = ui.logToggle.checked ? "log" : "linear";
    draw();
  });
  ui.svg.addEventListener("mousemove", (event) => hover(ui, model, event));
  ui.svg.addEventListener("mouseleave", () => hideHover(ui));
  ui.copy.addEventListener("click", async () => {
    const ok = await copyText(ui.code.dataset.code);
    ui.copy.textContent = ok ? "copied" : "select and copy";
    setTimeout(() => {
      ui.copy.textContent = "copy as code";
    }, 1500);
  });
  ui.stop.addEventListener("click", () => {
    view.stopClicked = model.get("run_id");
    model.send({ type: "stop", run_id: model.get("run_id") });
    drawControls(ui, model, view);
  });
  const exportNow = () => {
    ui.notice.textContent = "saving…";
    ui.notice.dataset.kind = "busy";
    model.send({ type: "export", run_id: model.get("run_id"), path: ui.path.value, overwrite: ui.overwrite.checked });
  };
  ui.exportButton.addEventListener("click", exportNow);
  ui.path.addEventListener("keydown", (event) => {
    event.stopPropagation();
    if (event.key === "Enter" && !ui.exportButton.disabled) exportNow();
  });
  const unwireExplore = wireExplore(ui.explore, model, view, draw);
  for (const name of constants.synced) model.on(`change:${name}`, schedule);
  model.on("change:clock", onClock);
  const timer = setInterval(() => tick(ui, model, view), 1e3);
  const resized = new ResizeObserver((entries) => {
    for (const entry of entries) {
      const width = Math.floor(entry.contentRect.width);
      if (entry.target === ui.boardBox) {
        pinKeyColumns(ui.table);
        continue;
      }
      const owner = entry.target === ui.chartArea ? ui : ui.explore;
      if (width > 0 && Math.max(260, Math.min(820, width)) !== owner.width) {
        owner.width = Math.max(260, Math.min(820, width));
        schedule();
      }
    }
  });
  resized.observe(ui.chartArea);
  resized.observe(ui.explore.root);
  resized.observe(ui.boardBox);
  el.append(ui.root);
  draw();
  return () => {
    resized.disconnect();
    clearInterval(timer);
    if (view.frame) cancelAnimationFrame(view.frame);
    for (const name of constants.synced) model.off(`change:${name}`, schedule);
    model.off("change:clock", onClock);
    unwireExplore();
  };
}
var dashboard_default = { render };
export {
  chartAxis,
  chartSeries,
  columns,
  compareValues,
  dashboard_default as default,
  etaText,
  hoverText,
  sortRows,
  stateText
};
