// widgets/lrfind.js: the picked rate as a literal, its rounding, and the chart's ticks (no DOM needed).
import assert from "node:assert/strict";
import { test } from "node:test";

import lrfind, { literal, lossTicks, pickRate, rateTicks } from "../../widgets/lrfind.js";

test("the module is an anywidget entry", () => {
  assert.equal(typeof lrfind.render, "function");
});

test("literal writes what Python's f'{v:.1e}' writes", () => {
  // expected values from Python: f"{value:.1e}"
  assert.equal(literal(0.0032), "3.2e-03");
  assert.equal(literal(1), "1.0e+00");
  assert.equal(literal(0.000123), "1.2e-04");
  assert.equal(literal(12.34), "1.2e+01");
  assert.equal(literal(NaN), "");
  assert.equal(literal(null), "");
  assert.equal(literal(undefined), "");
});

test("pickRate rounds to the two digits shown and stays inside [low, high]", () => {
  assert.equal(pickRate(0.00123456, 1e-4, 1e-1), 0.0012);
  assert.equal(pickRate(5, 1e-4, 1e-1), 0.1);
  assert.equal(pickRate(1e-6, 1.234e-4, 0.1), 0.00013, "rounded up at the low end");
  assert.equal(pickRate(1, 1e-4, 0.0987), 0.098, "rounded down at the high end");
});

test("rateTicks: every decade across a wide range, with 2 and 5 when under two decades show", () => {
  assert.deepEqual(rateTicks(-4, -1).map((t) => t.label), ["1e-4", "0.001", "0.01", "0.1"]);
  assert.deepEqual(rateTicks(-4, -1).map((t) => t.at), [-4, -3, -2, -1]);
  assert.deepEqual(rateTicks(-3.2, -2.5).map((t) => t.label), ["0.001", "0.002"]);
  assert.deepEqual(rateTicks(-5.5, -4.8).map((t) => t.label), ["5e-6", "1e-5"]);
  assert.deepEqual(rateTicks(-6, -4.5).map((t) => t.label), ["1e-6", "1e-5"]);
  assert.deepEqual(rateTicks(0, 2).map((t) => t.label), ["1", "10", "1e2"]);
});

test("lossTicks: about four round steps across the range", () => {
  assert.deepEqual(lossTicks(0, 1), [0, 0.25, 0.5, 0.75, 1]);
  assert.deepEqual(lossTicks(0.13, 0.87), [0.2, 0.4, 0.6, 0.8]);
  assert.deepEqual(lossTicks(2.3, 41), [10, 20, 30, 40]);
  assert.deepEqual(lossTicks(1, 1), [1]);
});
