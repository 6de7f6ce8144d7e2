// widgets/dashboard.js: the leaderboard's order and the chart's series (no DOM needed).
import assert from "node:assert/strict";
import { test } from "node:test";

import dashboard, { chartSeries, compareValues, sortRows } from "../../widgets/dashboard.js";

test("the module is an anywidget entry", () => {
  assert.equal(typeof dashboard.render, "function");
});

test("compareValues: numbers by value, text naturally, blanks last whichever the direction", () => {
  assert.ok(compareValues(1, 2, true) < 0);
  assert.ok(compareValues(1, 2, false) > 0);
  assert.ok(compareValues("a2", "a10", true) < 0);
  assert.ok(compareValues(false, true, true) < 0);
  assert.ok(compareValues([8], [16], true) < 0, "tuples compare as Python writes them, numerically");
  for (const ascending of [true, false]) {
    assert.ok(compareValues(null, 1, ascending) > 0);
    assert.ok(compareValues(1, undefined, ascending) < 0);
    assert.ok(compareValues("", 0, ascending) > 0);
    assert.equal(compareValues(null, undefined, ascending), 0);
  }
});

const rows = [
  { trial: 0, state: "complete", score: 0.5, params: { units: 32 }, epochs: 5, seconds: 3 },
  { trial: 1, state: "failed", score: null, params: { units: 64 }, epochs: 1, seconds: 1 },
  { trial: 2, state: "complete", score: 0.2, params: { units: 16 }, epochs: 5, seconds: 4 },
  { trial: 3, state: "complete", score: 0.5, params: { units: 8 }, epochs: 4, seconds: 2 },
  { trial: 4, state: "running", score: null, params: { units: 128 }, epochs: 0, seconds: 0 },
];
const info = { objective: "val_loss", direction: "min", params: ["units"] };
const order = (sorted) => sorted.map((r) => r.trial);

test("sortRows: best score first until a click, ties by trial number, blanks last", () => {
  assert.deepEqual(order(sortRows(rows, null, info)), [2, 0, 3, 1, 4]);
  assert.deepEqual(order(sortRows(rows, null, { ...info, direction: "max" })), [0, 3, 2, 1, 4]);
  assert.deepEqual(order(rows), [0, 1, 2, 3, 4], "the rows given are not reordered");
});

test("sortRows: a first click on the score puts the best first, for either direction", () => {
  assert.deepEqual(order(sortRows(rows, { key: "score", ascending: true }, info)), [2, 0, 3, 1, 4]);
  assert.deepEqual(order(sortRows(rows, { key: "score", ascending: true }, { ...info, direction: "max" })), [0, 3, 2, 1, 4]);
  assert.deepEqual(order(sortRows(rows, { key: "score", ascending: false }, info)), [0, 3, 2, 1, 4]);
});

test("sortRows: by a parameter, and running rows by their live epochs and seconds", () => {
  assert.deepEqual(order(sortRows(rows, { key: "p:units", ascending: true }, info)), [3, 2, 0, 1, 4]);
  const live = new Map([[4, { epoch: 9, seconds: 30 }]]);
  assert.deepEqual(order(sortRows(rows, { key: "epochs", ascending: false }, info, live)), [4, 0, 2, 3, 1]);
  assert.deepEqual(order(sortRows(rows, { key: "seconds", ascending: true }, info, live)), [1, 3, 0, 2, 4]);
});

test("chartSeries: finished curves first, the best last of them, then each running trial's loss and val_loss", () => {
  const curves = [
    { trial: 0, metric: "val_loss", values: [1, 0.8] },
    { trial: 2, metric: "val_loss", values: [0.9, 0.5] },
    { trial: 3, metric: "val_loss", values: [1.1, 0.7] },
  ];
  const running = [
    { trial: 4, fold: 1, folds: 1, loss: [1.2], val_loss: [1.3] },
    { trial: 5, fold: 2, folds: 3, loss: [1.0, 0.9], val_loss: [null, null] },
  ];
  const series = chartSeries(curves, running, { trial: 2 });
  assert.deepEqual(series.map((sr) => [sr.trial, sr.kind, sr.metric]), [
    [0, "done", "val_loss"],
    [3, "done", "val_loss"],
    [2, "best", "val_loss"],
    [4, "loss", "loss"],
    [4, "val", "val_loss"],
    [5, "loss", "loss (fold 2/3)"],
  ]);
  assert.deepEqual(series[3].values, [1.2]);
  assert.deepEqual(chartSeries(curves, [], {}).map((sr) => sr.kind), ["done", "done", "done"]);
});

import { columns, etaText, stateText } from "../../widgets/dashboard.js";

test("sortRows: complete trials rank above pruned ones whatever their score, as leaderboard_rows does", () => {
  const mixed = [
    { trial: 0, state: "pruned", score: 0.1, epochs: 2 },
    { trial: 1, state: "complete", score: 0.4 },
    { trial: 2, state: "complete", score: 0.3 },
    { trial: 3, state: "failed", score: null },
  ];
  assert.deepEqual(order(sortRows(mixed, null, info, new Map(), "complete")), [2, 1, 0, 3]);
});

test("stateText: a pruned trial says at which epoch", () => {
  assert.equal(stateText({ state: "pruned", epochs: 3 }, "pruned"), "pruned at epoch 3");
  assert.equal(stateText({ state: "complete", epochs: 3 }, "pruned"), "complete");
});

test("columns: the names search.leaderboard() uses, the objective and ± explained in titles", () => {
  const cols = columns({ ...info, cv: 3 });
  assert.deepEqual(cols.map((c) => c.label),
    ["trial", "state", "score", "score_std", "units", "epochs", "best_epoch", "seconds", "engine"]);
  assert.match(cols[2].title, /val_loss/);
  assert.equal(cols[3].title, "standard deviation over CV folds");
});

test("etaText: blank until estimated and once it runs out, never 'ETA 0s'", () => {
  assert.equal(etaText(null, 0, true), "");
  assert.equal(etaText(30, 31, true), "");
  assert.equal(etaText(65, 0, true), "ETA 1:05");
  assert.equal(etaText(65, 0, false), "");
});
