// widgets/scale.js: nice ticks, the scale chosen, limits that a first-epoch spike does not stretch.
import assert from "node:assert/strict";
import { test } from "node:test";

import { chartAxis, hoverText } from "../../widgets/dashboard.js";
import { chooseScale, epochSpan, logTicks, nearestLine, niceStep, niceTicks, robustLimits } from "../../widgets/scale.js";

test("niceStep: 1, 2 or 5 times a power of ten", () => {
  assert.equal(niceStep(14.6 - 3.3, 5), 2);
  assert.equal(niceStep(1, 5), 0.2);
  assert.equal(niceStep(1e6, 4), 200000);
  assert.equal(niceStep(0.07, 5), 0.01);
});

test("niceTicks: round ticks covering the range, limits widened to them, no binary noise", () => {
  assert.deepEqual(niceTicks(3.3, 14.6, 5), { lo: 2, hi: 16, step: 2, ticks: [2, 4, 6, 8, 10, 12, 14, 16] });
  assert.deepEqual(niceTicks(0.11, 0.52, 4).ticks, [0.1, 0.2, 0.3, 0.4, 0.5, 0.6]);
  assert.deepEqual(niceTicks(0, 1, 5).ticks, [0, 0.2, 0.4, 0.6, 0.8, 1]);
  const flat = niceTicks(0.4, 0.4);
  assert.ok(flat.lo < 0.4 && flat.hi > 0.4 && flat.ticks.length >= 2, "a flat range still gets an axis");
});

test("logTicks: powers of ten over many decades, 1-2-5 over a few, linear ticks inside a decade", () => {
  assert.deepEqual(logTicks(0.3, 2e6), [1, 10, 100, 1000, 10000, 100000, 1000000]);
  assert.deepEqual(logTicks(0.3, 40), [0.5, 1, 2, 5, 10, 20]);
  assert.deepEqual(logTicks(0.32, 0.9), [0.4, 0.5, 0.6, 0.7, 0.8, 0.9]);
  assert.deepEqual(logTicks(1e-9, 1e6), [1e-8, 1e-6, 1e-4, 0.01, 1, 100, 10000, 1000000], "every other decade over 15");
});

test("chooseScale: log once the positive values span more than a decade", () => {
  assert.equal(chooseScale([0.4, 0.5, 1.24e6]), "log");
  assert.equal(chooseScale([0.4, 0.5, 3.9]), "linear");
  assert.equal(chooseScale([-1, 0.5, 1e6]), "linear", "log needs positive values");
  assert.equal(chooseScale([null, NaN, 2, 30]), "log");
  assert.equal(chooseScale([]), "linear");
});

test("robustLimits: a first-epoch spike is left off, later epochs keep the height, an MSE never goes negative", () => {
  const curves = [[1.24e6, 0.9, 0.5, 0.42], [3.1, 0.8, 0.6, 0.45], [2.2, 0.7, 0.5, 0.41]];
  const linear = robustLimits(curves, "linear");
  assert.equal(linear.clipped, 3, "on a linear axis every first epoch far above the rest is left off");
  assert.ok(linear.hi > 0.9 && linear.hi < 1, `later epochs set the range (hi ${linear.hi})`);
  assert.ok(linear.lo > 0.35 && linear.lo < 0.41);
  assert.equal(robustLimits([[0.2, 0.1, 0.001]], "linear").lo, 0, "an MSE's axis stops at 0");
  const log = robustLimits(curves, "log");
  assert.equal(log.clipped, 2, "on a log axis 2.2 fits, 3.1 and the spike do not");
  assert.ok(log.lo < 0.41 && log.lo > 0.3 && log.hi < 10);
  assert.equal(robustLimits([[null, NaN]]), null);
  assert.equal(robustLimits([[5]]).clipped, 0, "a lone first epoch is the range");
});

test("chartAxis: a search with a 1e6 spike gets a log axis whose range separates the other curves", () => {
  const series = [
    { trial: 0, metric: "val_loss", values: [1.24e6, 0.9, 0.6, 0.5], kind: "done" },
    { trial: 1, metric: "val_loss", values: [43, 2.1, 1.6, 1.5], kind: "done" },
    { trial: 2, metric: "val_loss", values: [149, 0.7, 0.45, 0.41], kind: "best" },
  ];
  const axis = chartAxis(series, 4);
  assert.equal(axis.scale, "log");
  assert.equal(axis.label, "val_loss (log scale)");
  assert.ok(axis.hi < 1e3, `the spike does not set the top (hi ${axis.hi})`);
  const t = (v) => (Math.log10(v) - Math.log10(axis.lo)) / (Math.log10(axis.hi) - Math.log10(axis.lo));
  assert.ok(t(1.5) - t(0.41) > 0.2, "the last epochs 0.41 and 1.5 lie a fifth of the height apart");
  assert.ok(axis.ticks.every((v) => v > 0), "no negative ticks");
  assert.equal(chartAxis(series, 4, "linear").scale, "linear", "the toggle wins over the automatic choice");
  assert.deepEqual(chartAxis(series, 4, "linear").ticks.slice(0, 2), [0, 0.5], "linear: the first epochs are left off");
});

test("epochSpan: a running trial fills the width, finished ones span their epochs", () => {
  assert.equal(epochSpan(100, 0), 100);
  assert.equal(epochSpan(100, 3), 5);
  assert.equal(epochSpan(100, 20), 30);
  assert.equal(epochSpan(4, 3), 4);
  assert.equal(epochSpan(2, 3), 3);
});

test("nearestLine: the line under the pointer, not another trial's nearer point", () => {
  const lines = [
    { trial: 0, points: [{ x: 0, y: 0, epoch: 1, joined: true }, { x: 100, y: 100, epoch: 2, joined: false }] },
    { trial: 1, points: [{ x: 45, y: 60, epoch: 1, joined: false }] },
  ];
  const found = nearestLine(lines, { x: 50, y: 52 });
  assert.equal(found.line.trial, 0, "the pointer lies on trial 0's segment");
  assert.equal(nearestLine(lines, { x: 300, y: 300 }), null);
  assert.equal(hoverText({ trial: 3, metric: "val_loss" }, { epoch: 2, value: 0.41234 }, { units: 8, lr: 0.001 }),
    "trial 3 · epoch 2 · val_loss 0.4123 · units=8, lr=0.001");
});

test("fencedRange: one bad trial does not stretch a score axis", async () => {
  const { fencedRange } = await import("../../widgets/scale.js");
  assert.deepEqual(fencedRange([0.41, 0.45, 0.5, 0.43, 0.47, 1.2e6]), [0.41, 0.5]);
  assert.deepEqual(fencedRange([0.41, null, 1e6]), [0.41, 1e6], "too few to call anything an outlier");
  assert.equal(fencedRange([null]), null);
});
