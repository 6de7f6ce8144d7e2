// nnhp-magics live dashboard, the anywidget entry: bundled with the modules it imports into
// nnhp_magics/views/static/dashboard.js by scripts/build_widgets.mjs.
// The kernel sends batched state (see nnhp_magics/dashboard.py), and in `constants` the names
// this module needs from Python: the synced traits to redraw on, the trial states, the strategies.
// Everything a user does here that needs no Python (sorting, log axis, hover, copy) stays in
// the browser, so it works while a foreground search keeps the kernel busy.

import { copyText, h, s } from "./dom.js";
import { buildExplore, drawExplore, showRunNotice, wireExplore } from "./explore.js";
import { fmt, fmtTime, paramText } from "./format.js";
import { chooseScale, epochSpan, logTicks, nearestLine, niceStep, niceTicks, robustLimits } from "./scale.js";

/** The loss chart's height and margins; its width is the width the page gives it (measured, never scaled). */
const CHART = { width: 640, height: 240, right: 14, top: 10, bottom: 34 };
const LEGEND = [
  ["loss", "running trial: loss"],
  ["val", "running trial: val_loss"],
  ["done", "finished trials"],
  ["best", "best trial"],
];

/** The leaderboard columns that stay in view when the table scrolls sideways. */
const KEY_COLUMNS = ["trial", "state", "score"];

/** Compare two cell values: numbers by value, the rest as text; blanks always last. */
export function compareValues(a, b, ascending) {
  const blankA = a === undefined || a === null || a === "", blankB = b === undefined || b === null || b === "";
  if (blankA || blankB) return blankA === blankB ? 0 : blankA ? 1 : -1;
  let order;
  if (typeof a === "number" && typeof b === "number") order = a - b;
  else if (typeof a === "boolean" && typeof b === "boolean") order = Number(a) - Number(b);
  else order = paramText(a).localeCompare(paramText(b), undefined, { numeric: true });
  return ascending ? order : -order;
}

/** The leaderboard's columns for this search: the names `search.leaderboard()` uses, explained in titles. */
export function columns(info) {
  const objective = info.objective || "score";
  const cols = [
    { key: "trial", label: "trial", title: "trial number, as in search.leaderboard()" },
    { key: "state", label: "state", title: "complete, pruned (stopped early by the pruner), failed, interrupted or running" },
    { key: "score", label: "score", title: `${objective} (${info.direction === "max" ? "higher" : "lower"} is better)` },
  ];
  if (info.cv) cols.push({ key: "score_std", label: "score_std", title: "standard deviation over CV folds" });
  for (const name of info.params || []) cols.push({ key: `p:${name}`, label: name, param: name, title: name });
  cols.push(
    { key: "epochs", label: "epochs", title: info.cv ? "epochs trained, per fold (mean over the folds)" : "epochs trained" },
    { key: "best_epoch", label: "best_epoch", title: "the restored best epoch (mean over the folds under CV)" },
    { key: "seconds", label: "seconds", title: "seconds the trial took" },
    { key: "engine", label: "engine", title: "what trained the trial: graph, packed, or fit (hover a fit cell for why)" });
  if ((info.round || 1) > 1) cols.push({ key: "round", label: "round", title: "the round that ran the trial" });
  return cols;
}

/** One row's value for a column (running rows take epochs and seconds from the live data). */
function cellValue(row, col, live) {
  if (col.param) return row.params ? row.params[col.param] : undefined;
  if (live && (col.key === "epochs" || col.key === "seconds")) {
    return col.key === "epochs" ? live.epoch : live.seconds;
  }
  return row[col.key];
}

/** Rows in display order: by the clicked column, or until a click as `leaderboard_rows` orders them:
 * complete trials by score (best first), then other scored trials (pruned) by score, then the rest by number.
 * `complete` is the complete state's name (Python's `constants`). */
export function sortRows(rows, sort, info, liveByTrial = new Map(), complete = undefined) {
  const minimize = info.direction !== "max";
  const out = rows.slice();
  if (!sort) {
    const rank = (r) => (r.score === null || r.score === undefined ? 2 : r.state === complete ? 0 : 1);
    return out.sort((a, b) => rank(a) - rank(b) || compareValues(a.score, b.score, minimize) || a.trial - b.trial);
  }
  const col = columns(info).find((c) => c.key === sort.key) || { key: sort.key };
  let ascending = sort.ascending;
  if (col.key === "score" && !minimize) ascending = !ascending;
  return out.sort((a, b) =>
    compareValues(cellValue(a, col, liveByTrial.get(a.trial)), cellValue(b, col, liveByTrial.get(b.trial)), ascending)
    || a.trial - b.trial);
}

/** What the state column says: the state, with the epoch for a pruned trial (`pruned`: the state's name from Python). */
export function stateText(row, pruned) {
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
  const header = h("div", { class: "nnhp-header" },
    h("div", { class: "nnhp-header-line" }, ui.title, ui.status),
    h("div", { class: "nnhp-header-line nnhp-facts" }, ui.counter, ui.elapsed, ui.eta, ui.bestScore),
    ui.plan);

  ui.trialsFill = h("div", { class: "nnhp-fill" });
  ui.trialsLabel = h("span", { class: "nnhp-bar-label" });
  ui.epochFill = h("div", { class: "nnhp-fill" });
  ui.epochLabel = h("span", { class: "nnhp-bar-label" });
  ui.epochRow = h("div", { class: "nnhp-bar-row nnhp-epoch-row" },
    h("div", { class: "nnhp-bar nnhp-epoch-bar" }, ui.epochFill), ui.epochLabel);
  const progress = h("div", { class: "nnhp-progress" },
    h("div", { class: "nnhp-bar-row" }, h("div", { class: "nnhp-bar nnhp-trials-bar" }, ui.trialsFill), ui.trialsLabel),
    ui.epochRow);

  ui.svg = s("svg", { class: "nnhp-chart", role: "img" });
  ui.width = CHART.width;
  ui.tooltip = h("div", { class: "nnhp-tooltip" });
  ui.logToggle = h("input", { type: "checkbox", class: "nnhp-log-toggle" });
  ui.legend = h("span", { class: "nnhp-legend" });
  const chart = h("div", { class: "nnhp-chart-box" },
    h("div", { class: "nnhp-chart-tools" }, ui.legend,
      h("label", { class: "nnhp-log-label", title: "log y is chosen when the values span more than a decade; click to choose" },
        ui.logToggle, " log y")),
    ui.chartArea = h("div", { class: "nnhp-chart-area" }, ui.svg, ui.tooltip));

  ui.table = h("table", { class: "nnhp-board" });
  const board = ui.boardBox = h("div", { class: "nnhp-board-box" }, ui.table);

  ui.code = h("code", { class: "nnhp-best-code" });
  ui.copy = h("button", { class: "nnhp-copy", type: "button", text: "copy as code" });
  ui.bestBox = h("div", { class: "nnhp-best" }, h("span", { class: "nnhp-best-label", text: "best parameters" }),
    ui.code, ui.copy);

  ui.stop = h("button", { class: "nnhp-stop", type: "button", text: "Stop" });
  ui.path = h("input", { class: "nnhp-export-path", type: "text", spellcheck: "false" });
  ui.exportButton = h("button", { class: "nnhp-export", type: "button", text: "Export" });
  ui.overwrite = h("input", { type: "checkbox", class: "nnhp-overwrite" });
  ui.notice = h("span", { class: "nnhp-notice" });
  const controls = h("div", { class: "nnhp-controls" }, ui.stop,
    h("span", { class: "nnhp-export-box" }, ui.path, ui.exportButton,
      h("label", { class: "nnhp-overwrite-label" }, ui.overwrite, " overwrite")), ui.notice);

  ui.explore = buildExplore(constants);
  ui.root = h("div", { class: "nnhp-dash" }, header, progress, chart, board, ui.bestBox, controls, ui.explore.root);
  return ui;
}

/** The series the chart draws: finished trials faint, the best marked, running trials bold. */
export function chartSeries(curves, running, best) {
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

/** The chart's y axis for these series: the scale (the user's pick, else log when the values span more than a
 * decade), its limits (first-epoch spikes left off) and ticks, and a label naming the metrics drawn. */
export function chartAxis(series, span, scalePick = null) {
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
    svg.append(s("text", { x: W / 2, y: H / 2, "text-anchor": "middle", class: "nnhp-axis-text" },
      "curves appear after the first epoch"));
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
  axes.append(s("text", { x: 0, y: 0, "text-anchor": "middle", class: "nnhp-axis-text nnhp-y-label",
    transform: `translate(12 ${(y0 + y1) / 2}) rotate(-90)` }, axis.label));
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
  ui.legend.replaceChildren(...LEGEND.filter(([kind]) => kinds.has(kind)).map(([kind, text]) =>
    h("span", { class: `nnhp-key nnhp-key-${kind}` }, h("i"), kind === "best" ? `${text} (#${best.trial})` : text)));
}

/** The tooltip's text: the trial under the pointer, the epoch, the metric's value and the trial's parameters. */
export function hoverText(line, point, params) {
  const names = params ? Object.entries(params).map(([k, v]) => `${k}=${paramText(v)}`).join(", ") : "";
  return `trial ${line.trial} · epoch ${point.epoch} · ${line.metric} ${fmt(point.value)}${names ? ` · ${names}` : ""}`;
}

function hover(ui, model, event) {
  const box = ui.svg.getBoundingClientRect();
  if (!ui.lines || !ui.lines.length) return;
  const p = { x: event.clientX - box.left, y: event.clientY - box.top };
  const found = nearestLine(ui.lines, p);
  if (!found) { hideHover(ui); return; }
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
    const tr = h("tr", { class: `nnhp-row nnhp-row-${row.state}`,
      dataset: { trial: row.trial, state: row.state, round: row.round || 1 } });
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

/** The leaderboard's key columns (trial, state, score) stay at the left while the rest scrolls: each is sticky
 * at the summed width of those before it. */
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
  ui.title.textContent = info.strategy
    ? `${info.strategy} search · ${info.objective} (${info.direction})${info.cv ? ` · ${info.cv}-fold CV` : ""}${round}`
    : "waiting for the search to start";
  ui.status.textContent = model.get("stopping") && live ? "stopping…" : status;
  ui.plan.textContent = info.plan || "";
  ui.plan.classList.toggle("nnhp-hidden", !info.plan);
  ui.status.dataset.status = status;
  // A count of finished trials, never a trial number: rows number trials from 0, counts start at 1.
  ui.counter.textContent = `${counted} of ${budget} trials${live && running.length ? ` · ${running.length} running` : ""}`;
  ui.counter.dataset.finished = String(counted);
  ui.counter.dataset.budget = String(budget);
  ui.trialsFill.style.width = `${budget ? (100 * counted) / budget : 0}%`;
  ui.trialsLabel.textContent = `${counted}/${budget} trials`;
  ui.bestScore.textContent = best.trial === undefined ? "best: –" : `best ${fmt(best.score)} (trial ${best.trial})`;
  const first = running[0];
  ui.epochRow.classList.toggle("nnhp-hidden", !first);
  if (first) {
    const max = first.max_epochs || info.max_epochs || first.epoch;
    ui.epochFill.style.width = `${max ? (100 * first.epoch) / max : 0}%`;
    const fold = first.folds > 1 ? ` · fold ${first.fold}/${first.folds}` : "";
    ui.epochLabel.textContent = `trial ${first.trial} · epoch ${first.epoch}/${max}${fold}`;
  }
  tick(ui, model, view);
}

/** "ETA 1:05" from Python's estimate less the seconds since it came; blank until it can be estimated or once it runs out. */
export function etaText(eta, since, live) {
  if (!live || eta === null || eta === undefined) return "";
  const left = eta - since;
  return left >= 1 ? `ETA ${fmtTime(left)}` : "";
}

function tick(ui, model, view) {
  const clock = model.get("clock") || {};
  const live = model.get("status") === view.constants.running;
  const since = live ? (performance.now() - view.clockAt) / 1000 : 0;
  ui.elapsed.textContent = `elapsed ${fmtTime((clock.elapsed || 0) + since)}`;
  ui.eta.textContent = etaText(clock.eta, since, live);
}

function drawControls(ui, model, view) {
  const live = model.get("status") === view.constants.running;
  const stoppable = model.get("stoppable");
  ui.stop.disabled = !live || !stoppable || model.get("stopping") || view.stopClicked === model.get("run_id");
  ui.stop.textContent = live && (model.get("stopping") || view.stopClicked === model.get("run_id")) ? "Stopping…" : "Stop";
  ui.stop.title = live && !stoppable
    ? "This kernel takes no clicks while a foreground search runs: interrupt the kernel (■) to stop it; finished trials are kept."
    : "End the search: finished trials are kept, running ones are interrupted.";
  ui.exportButton.disabled = !model.get("exportable");
  ui.exportButton.title = model.get("exportable")
    ? "Save the best model (.keras), its parameters and the leaderboard"
    : "Export works once the search has ended with a complete trial";
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
  const view = { sort: null, scalePick: null, clockAt: performance.now(), frame: 0, noticeSeq: undefined, stopClicked: null,
    constants };
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
  // A brush redraws the panel while it drags, and the leaderboard it filters once it ends.
  const selectionChanged = (done = true) => {
    drawExplore(ui.explore, model, view, selectionChanged);
    if (done) drawTable(ui, model, view);
  };
  const schedule = () => {
    if (!view.frame) view.frame = requestAnimationFrame(draw);
  };
  const onClock = () => { view.clockAt = performance.now(); };

  ui.logToggle.addEventListener("change", () => { view.scalePick = ui.logToggle.checked ? "log" : "linear"; draw(); });
  ui.svg.addEventListener("mousemove", (event) => hover(ui, model, event));
  ui.svg.addEventListener("mouseleave", () => hideHover(ui));
  ui.copy.addEventListener("click", async () => {
    const ok = await copyText(ui.code.dataset.code);
    ui.copy.textContent = ok ? "copied" : "select and copy";
    setTimeout(() => { ui.copy.textContent = "copy as code"; }, 1500);
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
  const timer = setInterval(() => tick(ui, model, view), 1000);
  // The chart is drawn at the width its box has (text keeps its size at any width): redrawn when that changes.
  // The Explore panel's parallel coordinates likewise take the panel's width.
  const resized = new ResizeObserver((entries) => {
    for (const entry of entries) {
      const width = Math.floor(entry.contentRect.width);
      if (entry.target === ui.boardBox) { pinKeyColumns(ui.table); continue; }
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

export default { render };
