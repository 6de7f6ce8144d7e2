// nnhp-magics %lrfind chart, the anywidget entry: bundled with the modules it imports into
// nnhp_magics/views/static/lrfind.js by scripts/build_widgets.mjs.
// The kernel sends the curve while the range test runs (see nnhp_magics/lrfind_widget.py), and in
// `constants` the synced traits to redraw on and the status names.
// Once it has ended, a click or a drag on the chart, or the slider, picks a learning rate:
// it is rounded to the two significant digits shown and sent back to Python as lr.chosen.

import { copyText, h, s } from "./dom.js";

/** The chart's legend: each line's kind and what it means. */
const LEGEND = [
  ["raw", "loss per batch"],
  ["smooth", "smoothed loss"],
  ["suggestion", "suggestion (minimum ÷ 10)"],
  ["steepest", "steepest descent"],
  ["chosen", "picked rate (lr.chosen)"],
];

/** The chart's height and margins; its width is its box's, measured (the text never scales with the drawing). */
const CHART = { width: 640, height: 280, left: 56, right: 16, top: 22, bottom: 38 };
const SLIDER_STEP = 0.02; // log10 units: about 4.7% per arrow key
let charts = 0;

/** A learning rate as a Python literal, two significant digits: 3.2e-03 (what Python's f"{v:.1e}" writes). */
export function literal(value) {
  if (value === null || value === undefined || !Number.isFinite(value)) return "";
  const [mantissa, exponent] = value.toExponential(1).split("e");
  const e = Number(exponent);
  return `${mantissa}e${e < 0 ? "-" : "+"}${String(Math.abs(e)).padStart(2, "0")}`;
}

/** ``value`` rounded to two significant digits with ``round`` (Math.floor or Math.ceil). */
function roundDigits(value, round) {
  const scale = 10 ** (Math.floor(Math.log10(value)) - 1);
  return Number(literal(round(value / scale) * scale));
}

/** The rate a pick stands for: inside [low, high], rounded to the digits shown (inwards at the ends). */
export function pickRate(value, low, high) {
  let rate = Number(literal(Math.min(Math.max(value, low), high)));
  if (rate > high) rate = roundDigits(high, Math.floor);
  if (rate < low) rate = roundDigits(low, Math.ceil);
  return rate;
}

/** A tick label for a rate: 0.001 … 10 as decimals, the rest as 1e-5. */
function tickLabel(mantissa, decade) {
  if (decade >= -3 && decade <= 1) return String(Number((mantissa * 10 ** decade).toPrecision(2)));
  return `${mantissa}e${decade}`;
}

/** Tick positions on the log axis: every decade, with 2 and 5 added when fewer than two decades show. */
export function rateTicks(a, b) {
  const ticks = [];
  const mantissas = Math.floor(b) - Math.ceil(a) >= 1 ? [1] : [1, 2, 5];
  for (let d = Math.floor(a); d <= Math.ceil(b); d++) {
    for (const m of mantissas) {
      const t = Math.log10(m) + d;
      if (t >= a - 1e-9 && t <= b + 1e-9) ticks.push({ at: t, label: tickLabel(m, d) });
    }
  }
  return ticks;
}

/** A loss as a short number. */
function lossLabel(value) {
  return String(Number(value.toPrecision(3)));
}

/** Round loss ticks across [lo, hi]: about four steps of 1, 2, 2.5 or 5 times a power of ten. */
export function lossTicks(lo, hi) {
  if (!(hi > lo)) return [lo];
  const rough = (hi - lo) / 4;
  const magnitude = 10 ** Math.floor(Math.log10(rough));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * magnitude).find((v) => v >= rough);
  const ticks = [];
  for (let k = Math.ceil(lo / step); k * step <= hi + step * 1e-9; k++) ticks.push(Number((k * step).toPrecision(12)));
  return ticks;
}

/** The chart's scales: log10 of the rate across [low, high], the loss across y_range. */
function scales(model, width = CHART.width) {
  const lrs = model.get("lrs") || [];
  let low = model.get("low"), high = model.get("high");
  if (!(low > 0 && high > 0) && lrs.length) { low = lrs[0]; high = lrs[lrs.length - 1]; }
  if (!(low > 0 && high > 0)) return null;
  // The x axis spans the test's [start, end] from the first step (widened to a suggestion below start),
  // so it does not rescale as the curve grows.
  const start = model.get("start"), end = model.get("end");
  let a = Math.log10(start > 0 ? Math.min(start, low) : low), b = Math.log10(end > 0 ? Math.max(end, high) : high);
  if (b - a < 1e-9) { a -= 0.5; b += 0.5; }
  const range = model.get("y_range") || [];
  let lo, hi;
  if (range.length === 2) {
    [lo, hi] = range;
  } else {
    const values = [...(model.get("losses") || []), ...(model.get("smoothed") || [])].filter(Number.isFinite);
    if (!values.length) return null;
    lo = Math.min(...values); hi = Math.max(...values);
    if (hi - lo < 1e-12) { lo -= 0.5; hi += 0.5; }
  }
  const x0 = CHART.left, x1 = width - CHART.right, y0 = CHART.top, y1 = CHART.height - CHART.bottom;
  return {
    a, b, lo, hi, x0, x1, y0, y1, low, high,
    x: (lr) => x0 + ((Math.log10(lr) - a) / (b - a)) * (x1 - x0),
    y: (v) => y0 + (1 - (v - lo) / (hi - lo)) * (y1 - y0),
    rate: (px) => 10 ** (a + ((Math.min(Math.max(px, x0), x1) - x0) / (x1 - x0)) * (b - a)),
  };
}

/** An SVG path through the finite points; a gap where a value is missing. */
function linePath(sc, lrs, values) {
  let path = "", points = 0, open = false;
  values.forEach((v, i) => {
    if (!Number.isFinite(v) || !(lrs[i] > 0)) { open = false; return; }
    path += `${open ? "L" : "M"}${sc.x(lrs[i]).toFixed(1)},${sc.y(v).toFixed(1)}`;
    open = true;
    points += 1;
  });
  return { path, points };
}

function buildSkeleton(clipId) {
  const ui = {};
  ui.title = h("span", { class: "nnhp-lrpick-title", text: "learning-rate range test" });
  ui.status = h("span", { class: "nnhp-lrpick-status" });
  ui.summary = h("div", { class: "nnhp-lrpick-summary" });
  ui.width = CHART.width;
  ui.svg = s("svg", { class: "nnhp-lrpick-chart", role: "img",
    "aria-label": "loss against learning rate" });
  ui.clipId = clipId;
  ui.readout = h("div", { class: "nnhp-lrpick-readout" });
  ui.slider = h("input", { type: "range", class: "nnhp-lrpick-slider", step: String(SLIDER_STEP),
    "aria-label": "learning rate (log scale)" });
  ui.value = h("output", { class: "nnhp-lrpick-value" });
  ui.copy = h("button", { class: "nnhp-lrpick-copy", type: "button", text: "copy as code",
    title: "Copy the picked rate as a Python literal (the pick itself is also in lr.chosen)" });
  ui.reset = h("button", { class: "nnhp-lrpick-reset", type: "button", text: "use suggestion" });
  ui.fallback = h("input", { class: "nnhp-lrpick-fallback nnhp-lrpick-hidden", type: "text", readonly: "",
    "aria-label": "the picked rate: select it and copy" });
  const pick = h("div", { class: "nnhp-lrpick-controls" },
    h("label", { class: "nnhp-lrpick-label" }, "learning rate ", ui.slider), ui.value, ui.copy, ui.reset, ui.fallback);
  ui.hint = h("div", { class: "nnhp-lrpick-hint",
    text: "Click or drag on the chart, or use the slider, to pick a rate: lr.chosen follows." });
  ui.root = h("div", { class: "nnhp-lrpick" },
    h("div", { class: "nnhp-lrpick-header" }, ui.title, ui.status), ui.summary,
    h("div", { class: "nnhp-lrpick-legend" }, ...LEGEND.map(([kind, text]) =>
      h("span", { class: `nnhp-lrpick-key nnhp-lrpick-key-${kind}` }, h("i"), text))),
    ui.area = h("div", { class: "nnhp-lrpick-area" }, ui.svg, ui.readout), pick, ui.hint);
  return ui;
}

/** A vertical marker line across the plot, labelled above the plot (row 0), just inside its top (row 1) or
 * just above its bottom (row 2, clear of the handle). */
function marker(sc, rate, kind, text, row = 0) {
  const px = sc.x(rate);
  const group = s("g", { class: `nnhp-lrpick-marker nnhp-lrpick-${kind}` });
  group.append(s("line", { x1: px, x2: px, y1: sc.y0, y2: sc.y1 }));
  const right = px > (sc.x0 + sc.x1) / 2;
  const y = [sc.y0 - 6, sc.y0 + 14, sc.y1 - 12][row];
  group.append(s("text", { x: px + (right ? -4 : 4), y, "text-anchor": right ? "end" : "start" }, text));
  return group;
}

function drawChart(ui, model) {
  const svg = ui.svg;
  svg.replaceChildren();
  const W = ui.width;
  for (const [k, v] of [["width", W], ["height", CHART.height], ["viewBox", `0 0 ${W} ${CHART.height}`]]) svg.setAttribute(k, v);
  const sc = scales(model, W);
  ui.scales = sc;
  if (!sc) {
    svg.append(s("text", { x: W / 2, y: CHART.height / 2, "text-anchor": "middle", class: "nnhp-lrpick-axis" },
      "the curve appears after the first steps"));
    svg.dataset.points = "0";
    return;
  }
  const defs = s("defs");
  const clip = s("clipPath", { id: ui.clipId });
  clip.append(s("rect", { x: sc.x0, y: sc.y0, width: sc.x1 - sc.x0, height: sc.y1 - sc.y0 }));
  defs.append(clip);
  svg.append(defs);

  const axes = s("g", { class: "nnhp-lrpick-axes" });
  for (const v of lossTicks(sc.lo, sc.hi)) {
    const py = sc.y(v);
    axes.append(s("line", { x1: sc.x0, x2: sc.x1, y1: py, y2: py, class: "nnhp-lrpick-grid" }));
    axes.append(s("text", { x: sc.x0 - 6, y: py + 4, "text-anchor": "end", class: "nnhp-lrpick-axis" }, lossLabel(v)));
  }
  for (const tick of rateTicks(sc.a, sc.b)) {
    const px = sc.x(10 ** tick.at);
    axes.append(s("line", { x1: px, x2: px, y1: sc.y0, y2: sc.y1, class: "nnhp-lrpick-grid" }));
    axes.append(s("text", { x: px, y: sc.y1 + 15, "text-anchor": "middle", class: "nnhp-lrpick-axis" }, tick.label));
  }
  axes.append(s("text", { x: (sc.x0 + sc.x1) / 2, y: CHART.height - 4, "text-anchor": "middle",
    class: "nnhp-lrpick-axis" }, "learning rate (log scale)"));
  axes.append(s("text", { x: 12, y: (sc.y0 + sc.y1) / 2, "text-anchor": "middle", class: "nnhp-lrpick-axis",
    transform: `rotate(-90 12 ${(sc.y0 + sc.y1) / 2})` }, "loss"));
  svg.append(axes);

  const lrs = model.get("lrs") || [];
  const curves = s("g", { "clip-path": `url(#${ui.clipId})` });
  const raw = linePath(sc, lrs, model.get("losses") || []);
  const smooth = linePath(sc, lrs, model.get("smoothed") || []);
  curves.append(s("path", { d: raw.path, class: "nnhp-lrpick-raw" }));
  curves.append(s("path", { d: smooth.path, class: "nnhp-lrpick-smooth" }));
  svg.append(curves);

  const steepest = model.get("steepest"), suggestion = model.get("suggestion"), chosen = model.get("chosen");
  // The pick is drawn first and labelled at the bottom: the suggestion's line and label stay visible over it.
  if (chosen > 0) {
    const same = chosen === suggestion;
    const picked = marker(sc, chosen, "chosen", same ? "picked: the suggestion" : `picked ${literal(chosen)}`, 2);
    picked.append(s("path", { d: `M${sc.x(chosen) - 6},${sc.y1}l6,-8l6,8z`, class: "nnhp-lrpick-handle" }));
    svg.append(picked);
  }
  if (steepest > 0) svg.append(marker(sc, steepest, "steepest", `steepest ${literal(steepest)}`, 1));
  if (suggestion > 0) svg.append(marker(sc, suggestion, "suggestion", `suggestion ${literal(suggestion)}`));
  ui.overlay = s("rect", { x: sc.x0, y: sc.y0, width: sc.x1 - sc.x0, height: sc.y1 - sc.y0,
    class: "nnhp-lrpick-overlay" });
  svg.append(ui.overlay);
  svg.dataset.points = String(smooth.points);
}

function pickable(model, constants) {
  const status = model.get("status");
  return status !== constants.running && status !== constants.failed && model.get("low") > 0 && model.get("high") > 0;
}

function drawControls(ui, model, constants) {
  const status = model.get("status");
  const running = status === constants.running;
  const lrs = model.get("lrs") || [];
  const chosen = model.get("chosen"), suggestion = model.get("suggestion");
  const low = model.get("low"), high = model.get("high");
  ui.root.dataset.status = status;
  ui.status.textContent = running
    ? `running · step ${lrs.length} of ${model.get("steps") || "?"}${lrs.length ? ` · lr ${literal(lrs[lrs.length - 1])}` : ""}`
    : status === constants.diverged ? `done: the loss ${status}, as the test intends` : status;
  ui.status.dataset.status = status;
  ui.summary.textContent = running ? "" : (model.get("summary") || "").replace(/^lrfind: /, "");
  const text = literal(chosen);
  ui.root.dataset.chosen = text;
  ui.value.textContent = text || "none picked";
  ui.value.dataset.value = text;
  const ok = pickable(model, constants);
  ui.root.dataset.pickable = String(ok);
  ui.slider.disabled = !ok;
  if (ok) {
    ui.slider.min = String(Math.log10(low));
    ui.slider.max = String(Math.log10(high));
    // Leave the slider where it is while its position already stands for the pick,
    // so arrow keys keep moving past values that round to the same two digits.
    const here = pickRate(10 ** Number(ui.slider.value), low, high);
    if (chosen > 0 && here !== chosen) ui.slider.value = String(Math.log10(chosen));
    if (!(chosen > 0) && !ui.touched) ui.slider.value = String((Math.log10(low) + Math.log10(high)) / 2);
  }
  ui.copy.disabled = running || !text;
  ui.reset.disabled = running || !(suggestion > 0) || chosen === suggestion;
  ui.hint.classList.toggle("nnhp-lrpick-hidden", running || !ok);
}

function render({ model, el }) {
  const constants = model.get("constants");
  charts += 1;
  const ui = buildSkeleton(`nnhp-lrpick-clip-${charts}-${Math.random().toString(36).slice(2, 8)}`);
  const view = { frame: 0, dragging: false };

  const draw = () => {
    view.frame = 0;
    drawChart(ui, model);
    drawControls(ui, model, constants);
  };
  const schedule = () => {
    if (!view.frame) view.frame = requestAnimationFrame(draw);
  };
  const choose = (rate, send) => {
    model.set("chosen", rate);
    if (send) model.save_changes();
    draw();
  };
  const rateAt = (event) => {
    const matrix = ui.svg.getScreenCTM();
    if (!matrix || !ui.scales) return null;
    const p = new DOMPoint(event.clientX, event.clientY).matrixTransform(matrix.inverse());
    return { rate: ui.scales.rate(p.x), x: p.x, y: p.y };
  };
  const pickAt = (event, send) => {
    const at = rateAt(event);
    if (at) choose(pickRate(at.rate, model.get("low"), model.get("high")), send);
  };
  const readout = (event) => {
    const at = rateAt(event);
    if (!at) return;
    ui.readout.textContent = `lr ${literal(at.rate)}`;
    const box = ui.svg.getBoundingClientRect();
    ui.readout.style.left = `${Math.min(at.x + 8, box.width - ui.readout.offsetWidth)}px`;
    ui.readout.style.top = `${at.y - 26}px`;
    ui.readout.classList.add("nnhp-lrpick-visible");
  };

  ui.svg.addEventListener("pointerdown", (event) => {
    if (event.target !== ui.overlay || !pickable(model, constants) || event.button !== 0) return;
    event.preventDefault();
    ui.overlay.setPointerCapture(event.pointerId);
    view.dragging = true;
    pickAt(event, false);
  });
  ui.svg.addEventListener("pointermove", (event) => {
    if (view.dragging) pickAt(event, false);
    if (event.target === ui.overlay || view.dragging) readout(event);
    else ui.readout.classList.remove("nnhp-lrpick-visible");
  });
  const release = (event) => {
    if (!view.dragging) return;
    view.dragging = false;
    pickAt(event, true);
  };
  ui.svg.addEventListener("pointerup", release);
  ui.svg.addEventListener("pointercancel", release);
  ui.svg.addEventListener("pointerleave", () => ui.readout.classList.remove("nnhp-lrpick-visible"));

  ui.slider.addEventListener("input", () => {
    ui.touched = true;
    choose(pickRate(10 ** Number(ui.slider.value), model.get("low"), model.get("high")), true);
  });
  // Arrow keys belong to the slider, not to the notebook's cell navigation.
  ui.slider.addEventListener("keydown", (event) => event.stopPropagation());
  ui.reset.addEventListener("click", () => choose(model.get("suggestion"), true));
  ui.copy.addEventListener("click", async () => {
    const text = literal(model.get("chosen"));
    if (!text) return;
    ui.copy.dataset.copied = text;
    ui.fallback.value = text;
    const ok = await copyText(text);
    ui.fallback.classList.toggle("nnhp-lrpick-hidden", ok);
    if (!ok) ui.fallback.select();
    ui.copy.textContent = ok ? "copied" : "select and copy";
    setTimeout(() => { ui.copy.textContent = "copy as code"; }, 1500);
  });

  for (const name of constants.synced) model.on(`change:${name}`, schedule);
  const resized = new ResizeObserver(([entry]) => {
    const width = Math.floor(entry.contentRect.width);
    if (width > 0 && Math.max(260, width) !== ui.width) { ui.width = Math.max(260, width); schedule(); }
  });
  resized.observe(ui.area);
  el.append(ui.root);
  draw();
  return () => {
    resized.disconnect();
    if (view.frame) cancelAnimationFrame(view.frame);
    for (const name of constants.synced) model.off(`change:${name}`, schedule);
  };
}

export default { render };
