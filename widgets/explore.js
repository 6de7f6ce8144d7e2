// nnhp-magics dashboard, Explore panel: its own module, imported by dashboard.js (the widget's entry).
// After a search: what mattered (importances from Python), score against each parameter, parallel
// coordinates coloured by score. Brushing an axis or a scatter selects trials in the browser (no kernel
// needed); the leaderboard filters to them and `selected` tells Python. Refine asks Python for a narrower
// spec around the selection; Run again sends the edited spec to run as the next round.

import { copyText, h, s } from "./dom.js";
import { fmt, paramText } from "./format.js";
import { fencedRange, niceTicks } from "./scale.js";

/** Parallel coordinates: height and margins; the width is the panel's, measured by dashboard.js. */
const PC = { width: 640, height: 230, top: 28, bottom: 34, left: 40, right: 60 };
const SCATTER = { width: 210, height: 150, left: 50, right: 14, top: 8, bottom: 30 };
const SCORE_KEY = "__score__";

/** A parameter's position on its axis: log10 for log parameters, the index for choices, else the value. */
function position(param, value) {
  if (value === null || value === undefined) return null;
  if (param.log) return value > 0 ? Math.log10(value) : null;
  return value;
}

/** The [lo, hi] extent of an axis in position space, padded so points never sit on the frame. */
export function axisExtent(param, positions) {
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
  if (hi - lo < 1e-12) { lo -= 0.5; hi += 0.5; }
  const pad = (hi - lo) * 0.04;
  return [lo - pad, hi + pad];
}

/** Where an axis puts its tick labels: every choice, else the parameter's bounds (the data's extent for scores). */
function axisTicks(axis) {
  if (axis.param.labels) return axis.param.labels.map((_, i) => i);
  const bounds = [axis.param.low, axis.param.high].map((v) => position(axis.param, v));
  if (bounds.every((v) => v !== null && v !== undefined && Number.isFinite(v))) return bounds;
  const known = axis.positions.filter((v) => v !== null && Number.isFinite(v));
  return known.length ? [Math.min(...known), Math.max(...known)] : [];
}

/** Text for a position on an axis: the choice's label, or the value (10^x on a log axis). */
function positionText(param, pos) {
  if (param.labels) return param.labels[Math.round(pos)] ?? "";
  return fmt(param.log ? 10 ** pos : pos);
}

/** The axes of this search: one per parameter, then the score. */
export function exploreAxes(data) {
  const axes = (data.params || []).map((p) => {
    const positions = p.values.map((v) => position(p, v));
    return { key: p.name, name: p.name, param: p, positions, extent: axisExtent(p, positions) };
  });
  const score = { name: data.objective || "score", log: false, labels: null, low: null, high: null };
  const scores = (data.scores || []).map((v) => (v === null ? null : v));
  // One bad trial must not squeeze the others: the score axis spans the scores within Tukey's fences;
  // a score outside is drawn at the axis's end.
  const fenced = fencedRange(scores) || [];
  axes.push({ key: SCORE_KEY, name: score.name, param: score, positions: scores, extent: axisExtent(score, fenced) });
  return axes;
}

/** A position kept inside its axis's extent (an outlier sits at the end it passed). */
function clampTo(axis, v) {
  return Math.max(axis.extent[0], Math.min(axis.extent[1], v));
}

/** The index of the best trial (lowest score, or highest when maximizing), or -1. */
export function bestIndex(data) {
  let best = -1;
  (data.scores || []).forEach((v, i) => {
    if (v === null || v === undefined) return;
    if (best < 0 || (data.minimize !== false ? v < data.scores[best] : v > data.scores[best])) best = i;
  });
  return best;
}

/** A trial's tooltip: its number, its score and its parameters. */
export function trialText(data, i) {
  const params = (data.params || []).map((p) => {
    const v = p.values[i];
    return v === null || v === undefined ? null : `${p.name}=${p.labels ? p.labels[v] : paramText(v)}`;
  }).filter(Boolean);
  return `trial ${data.trials[i]} · ${data.objective || "score"} ${fmt(data.scores[i])}${params.length ? ` · ${params.join(", ")}` : ""}`;
}

/** Trial numbers inside every brush (null when nothing is brushed: everything counts). */
export function selectedTrials(data, axes, brushes) {
  if (!brushes.size) return null;
  const chosen = new Set();
  (data.trials || []).forEach((trial, i) => {
    for (const [key, [lo, hi]] of brushes) {
      const axis = axes.find((a) => a.key === key);
      const v = axis ? axis.positions[i] : null;
      if (v === null || v === undefined || v < lo || v > hi) return;
    }
    chosen.add(trial);
  });
  return chosen;
}

/** A colour from good (the theme's brand colour) to bad (its error colour) for a score, given the scores'
 * range and direction: a CSS colour mixing two JupyterLab theme variables, so it follows the theme. */
export function scoreColour(score, lo, hi, minimize) {
  const good = "var(--jp-brand-color1, #1976d2)", bad = "var(--jp-error-color1, #d32f2f)";
  if (score === null || hi - lo < 1e-12) return good;
  let t = (score - lo) / (hi - lo);
  if (!minimize) t = 1 - t;
  return `color-mix(in srgb, ${bad} ${Math.round(100 * t)}%, ${good})`;
}

/** The panel's elements; the strategies and the round's default trial count come from Python's `constants`. */
export function buildExplore(constants) {
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
  ui.spec = h("textarea", { class: "nnhp-refine-spec", rows: "6", spellcheck: "false", wrap: "off",
    placeholder: "Click Refine for a narrower spec around the best or the selected trials, or type one." });
  ui.strategy = h("select", { class: "nnhp-round-strategy" }, ...constants.strategies.map((n) => h("option", { value: n, text: n })));
  ui.trials = h("input", { class: "nnhp-round-trials", type: "number", min: "1", step: "1",
    value: String(constants.round_trials) });
  ui.run = h("button", { class: "nnhp-run-round", type: "button", text: "Run again" });
  ui.copyCell = h("button", { class: "nnhp-copy-cell", type: "button", text: "copy as cell" });
  ui.refineNotice = h("div", { class: "nnhp-refine-notice" });
  ui.rounds = h("div", { class: "nnhp-rounds" });
  const section = (title, ...children) => h("section", { class: "nnhp-explore-section" }, h("h4", { text: title }), ...children);
  ui.root = h("div", { class: "nnhp-explore nnhp-hidden" },
    h("div", { class: "nnhp-explore-head" }, h("span", { class: "nnhp-explore-title", text: "Explore" }),
      ui.selectionText, ui.clear),
    section("What mattered", ui.importances, ui.importanceNote),
    section("Score against each parameter (drag across a plot to select)", ui.scatters),
    section("Parallel coordinates (drag along an axis to select)", ui.legend = h("div", { class: "nnhp-pc-legend" }), ui.parallel),
    section("Refine and run again",
      h("div", { class: "nnhp-refine-tools" }, ui.refineButton, ui.refineSource),
      ui.spec,
      h("div", { class: "nnhp-refine-tools" },
        h("label", {}, "strategy ", ui.strategy), h("label", {}, "trials ", ui.trials), ui.run, ui.copyCell),
      ui.refineNotice, ui.rounds));
  return ui;
}

function drawImportances(ui, payload) {
  const values = payload.values || [];
  ui.importances.replaceChildren();
  if (payload.pending) {
    ui.importanceNote.textContent = "computing importances (fANOVA)…";
    return;
  }
  ui.importanceNote.textContent = payload.error || (values.length
    ? `${payload.caveat ? `${payload.caveat} ` : ""}fANOVA importances (Optuna); a conditional parameter is scored over the trials where it was active.`
    : "");
  ui.importanceNote.dataset.caveat = payload.caveat ? "yes" : "";
  const top = Math.max(1e-12, ...values.map(([, v]) => v));
  for (const [name, value] of values) {
    const fill = h("div", { class: "nnhp-importance-fill" });
    fill.style.width = `${(100 * value) / top}%`;
    ui.importances.append(h("div", { class: "nnhp-importance", dataset: { param: name } },
      h("span", { class: "nnhp-importance-name", text: name }),
      h("div", { class: "nnhp-importance-bar" }, fill),
      h("span", { class: "nnhp-importance-value", text: fmt(value) })));
  }
}

/** A pointer's coordinate in an SVG's own units, given the SVG's screen matrix {a, b, c, d, e, f}: x, or y when vertical. */
export function svgCoordinate(matrix, clientX, clientY, vertical) {
  const { a, b, c, d, e, f } = matrix;
  const det = a * d - b * c;
  const dx = clientX - e, dy = clientY - f;
  return vertical ? (a * dy - b * dx) / det : (d * dx - c * dy) / det;
}

/** The [lo, hi] range in position space of a drag between two SVG coordinates. */
export function brushRange(from, to, toPosition) {
  const [p, q] = [toPosition(from), toPosition(to)];
  return [Math.min(p, q), Math.max(p, q)];
}

/** Turn a drag on an SVG into a brush over one axis; a click without a drag clears that axis's brush.
 * Every redraw rebuilds the scatters, so each pointer event is converted with the SVG on the page now
 * (`liveSvg()`), never with the one the press landed on. */
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
      if (v === null || v === undefined) return;
      d += `${d ? "L" : "M"}${x(k).toFixed(1)},${y(axis, clampTo(axis, v)).toFixed(1)}`;
    });
    const on = !chosen || chosen.has(trial);
    const line = s("path", { d, class: `nnhp-pc-line${on ? " nnhp-on" : " nnhp-off"}${i === best ? " nnhp-pc-best" : ""}`,
      "data-trial": trial });
    line.append(s("title", {}, trialText(data, i)));
    if (on) line.style.stroke = scoreColour(data.scores[i], lo, hi, data.minimize !== false);
    if (i === best) bestLine = line;
    lines.append(line);
  });
  if (bestLine) lines.append(bestLine);  // drawn last, on top
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
    const xOf = (v) => SCATTER.left + ((v - axis.extent[0]) / (axis.extent[1] - axis.extent[0])) * (W - SCATTER.left - SCATTER.right);
    const brush = brushes.get(axis.key);
    if (brush) {
      svg.append(s("rect", { x: xOf(brush[0]), width: Math.max(1, xOf(brush[1]) - xOf(brush[0])), y: SCATTER.top,
        height: H - SCATTER.top - SCATTER.bottom, class: "nnhp-brush" }));
    }
    for (const t of scoreTicks) {
      svg.append(s("line", { x1: SCATTER.left, x2: W - SCATTER.right, y1: yOf(t), y2: yOf(t), class: "nnhp-grid" }));
      svg.append(s("text", { x: SCATTER.left - 4, y: yOf(t) + 4, "text-anchor": "end", class: "nnhp-axis-text" }, fmt(t)));
    }
    svg.append(s("text", { x: 0, y: 0, "text-anchor": "middle", class: "nnhp-axis-text nnhp-scatter-yname",
      transform: `translate(10 ${(SCATTER.top + H - SCATTER.bottom) / 2}) rotate(-90)` }, scoreAxis.name));
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
      if (v === null || v === undefined || score === null) return;
      const jitter = axis.param.labels ? (((trial * 37) % 11) - 5) * 0.03 : 0;
      const on = !chosen || chosen.has(trial);
      const dot = s("circle", { cx: xOf(v + jitter), cy: yOf(clampTo(scoreAxis, score)), r: 3.2, "data-trial": trial,
        class: `nnhp-point${on ? " nnhp-on" : " nnhp-off"}${i === best ? " nnhp-best-point" : ""}` });
      dot.append(s("title", {}, trialText(data, i)));
      svg.append(dot);
      points += 1;
    });
    svg.dataset.points = String(points);
    const hit = s("rect", { x: SCATTER.left, y: SCATTER.top, width: W - SCATTER.left - SCATTER.right,
      height: H - SCATTER.top - SCATTER.bottom, class: "nnhp-scatter-hit" });
    const toPosition = (px) => axis.extent[0] + ((px - SCATTER.left) / (W - SCATTER.left - SCATTER.right)) * (axis.extent[1] - axis.extent[0]);
    const live = () => [...ui.scatters.children].find((el) => el.dataset.param === axis.key) || svg;
    brushable(live, axis.key, toPosition, false, onBrush)(hit);
    svg.append(hit);
    ui.scatters.append(svg);
  }
}

/** Draw the whole panel; hidden until a search (or round) has ended with data to explore.
 * A brush calls onSelection, which redraws the panel and whatever else filters on the selection. */
export function drawExplore(ex, model, view, onSelection) {
  const data = model.get("explore") || {};
  const status = model.get("status");
  ex.root.classList.toggle("nnhp-hidden", !data.trials);
  if (!data.trials) return;
  const axes = exploreAxes(data);
  const chosen = selectedTrials(data, axes, view.brushes);
  view.selection = chosen;
  // The leaderboard above filters only once a drag ends, so nothing moves under the pointer.
  if (!view.dragging) view.boardSelection = chosen;
  const complete = data.trials.length;
  ex.selectionText.textContent = chosen
    ? `${chosen.size} of ${complete} complete trials selected`
    : `${complete} complete trials${data.error ? ` · ${data.error}` : ""}`;
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
  ex.legend.replaceChildren(`line colour: ${data.objective || "score"}, `, h("b", { text: "best" }),
    h("i", { class: "nnhp-pc-ramp" }), `worst (${minimize ? "lower" : "higher"} is better); the thick line is the best trial, ◯ marks it in the scatters; hover a line or point for its trial`);
  drawScatters(ex, data, axes, view.brushes, chosen, onBrush);
  drawParallel(ex, data, axes, view.brushes, chosen, onBrush);
  const running = status === view.constants.running;
  const block = model.get("round_block") || "";
  ex.run.disabled = running || Boolean(block) || !ex.spec.value.trim();
  ex.run.title = block || "Run this spec as the next round: its trials join this leaderboard and study";
  ex.refineButton.textContent = chosen
    ? `Refine around the ${chosen.size} selected` : `Refine around the top ${Math.round(100 * view.constants.refine_top)}%`;
  ex.refineButton.disabled = chosen !== null && chosen.size === 0;
  const rounds = model.get("rounds") || [];
  ex.rounds.replaceChildren(...rounds.map((r) => h("div", { class: "nnhp-round", dataset: { round: r.round } },
    `round ${r.round}: ${r.strategy}, ${r.trials} trials`)));
}

/** Tell Python which trials are selected (an empty list for none). */
function sendSelection(model, view) {
  model.set("selected", view.selection ? [...view.selection].sort((a, b) => a - b) : []);
  model.save_changes();
}

/** What the refined spec is around, in the Refine button's words: "around trials 0, 3, 4 (the top 25%)". */
export function refineCaption(refine) {
  if (!refine.around) return "";
  const which = refine.selected && refine.selected.length ? "selected" : `the top ${Math.round(100 * refine.top)}%`;
  return `around trial${refine.around.length === 1 ? "" : "s"} ${refine.around.join(", ")} (${which})`;
}

/** Put a new refined spec from Python into the editor (the user's edits stay until the next Refine). */
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

/** The refined spec as a ready %%hpsearch cell (the spec alone when the search came from Python). */
export function cellText(line, strategy, trials, spec) {
  const head = line ? `${line} --strategy ${strategy} --trials ${trials}\n` : "";
  return head + spec.replace(/^\n+/, "");
}

/** After Run again, the next notice from Python (the round started, or why not) shows under the editor too. */
export function showRunNotice(ex, view, notice) {
  if (!view.awaitingRun) return;
  view.awaitingRun = false;
  ex.refineNotice.textContent = notice.text || "";
  ex.refineNotice.dataset.kind = notice.kind || "";
}

/** The panel's buttons and fields; returns the function that unhooks it from the model. */
export function wireExplore(ex, model, view, redraw) {
  view.brushes = new Map();
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
    model.send({ type: "refine", run_id: model.get("run_id"), top: view.constants.refine_top,
      selected: view.selection ? [...view.selection] : null });
  });
  for (const field of [ex.spec, ex.trials]) {
    field.addEventListener("keydown", (event) => event.stopPropagation());
    field.addEventListener("input", () => { ex.run.disabled = Boolean(model.get("round_block")) || !ex.spec.value.trim(); });
  }
  ex.run.addEventListener("click", () => {
    ex.refineNotice.textContent = "starting the next round…";
    ex.refineNotice.dataset.kind = "busy";
    ex.run.disabled = true;
    view.awaitingRun = true;
    view.brushes.clear();
    model.send({ type: "run", run_id: model.get("run_id"), spec: ex.spec.value, strategy: ex.strategy.value,
      trials: ex.trials.value });
  });
  ex.copyCell.addEventListener("click", async () => {
    const refine = model.get("refine") || {};
    const text = cellText(refine.line, ex.strategy.value, ex.trials.value, ex.spec.value);
    ex.copyCell.dataset.copied = text;
    const ok = await copyText(text);
    ex.copyCell.textContent = ok ? "copied" : "select and copy";
    setTimeout(() => { ex.copyCell.textContent = "copy as cell"; }, 1500);
  });
  const onRefine = () => fillRefine(ex, model);
  model.on("change:refine", onRefine);
  fillRefine(ex, model);
  return () => model.off("change:refine", onRefine);
}
