// widgets/explore.js: the Explore panel's axes, brushing selection and the copied cell (no DOM needed).
import assert from "node:assert/strict";
import { test } from "node:test";

import { axisExtent, cellText, exploreAxes, selectedTrials } from "../../widgets/explore.js";

const close = (actual, expected) => {
  assert.equal(actual.length, expected.length);
  actual.forEach((v, i) => assert.ok(Math.abs(v - expected[i]) < 1e-9, `${actual} != ${expected}`));
};

test("axisExtent: a choice's axis spans its labels, half a step beyond each end", () => {
  assert.deepEqual(axisExtent({ labels: ["relu", "tanh", "gelu"] }, [0, 2]), [-0.5, 2.5]);
});

test("axisExtent: a number's axis spans its bounds and its values, padded 4%", () => {
  close(axisExtent({ low: 0, high: 10 }, [2, 3]), [-0.4, 10.4]);
  close(axisExtent({ low: 0, high: 10 }, [12, null]), [-0.48, 12.48]);
  close(axisExtent({ log: true, low: 1e-4, high: 1e-1 }, [-3]), [-4.12, -0.88]);
});

test("axisExtent: one value without bounds gets a unit-wide axis; nothing at all gets [0, 1]", () => {
  close(axisExtent({ low: null, high: null }, [0.3]), [-0.24, 0.84]);
  assert.deepEqual(axisExtent({ low: null, high: null }, [null]), [0, 1]);
});

const data = {
  trials: [3, 4, 7],
  objective: "val_loss",
  scores: [0.5, 0.3, null],
  params: [
    { name: "lr", log: true, low: 1e-4, high: 1e-1, labels: null, values: [1e-3, 1e-2, null] },
    { name: "act", log: false, low: null, high: null, labels: ["relu", "tanh"], values: [0, 1, 1] },
  ],
};

test("exploreAxes: one axis per parameter (log10 for log ones), then the score", () => {
  const axes = exploreAxes(data);
  assert.deepEqual(axes.map((a) => a.key), ["lr", "act", "__score__"]);
  assert.deepEqual(axes.map((a) => a.name), ["lr", "act", "val_loss"]);
  close(axes[0].positions.slice(0, 2), [-3, -2]);
  assert.equal(axes[0].positions[2], null);
  assert.deepEqual(axes[1].positions, [0, 1, 1]);
  assert.deepEqual(axes[1].extent, [-0.5, 1.5]);
  assert.deepEqual(axes[2].positions, [0.5, 0.3, null]);
  assert.equal(exploreAxes({ trials: [], params: [], scores: [] })[0].name, "score");
});

test("selectedTrials: null without brushes; else the trials inside every brush", () => {
  const axes = exploreAxes(data);
  assert.equal(selectedTrials(data, axes, new Map()), null);
  assert.deepEqual([...selectedTrials(data, axes, new Map([["act", [0.5, 1.5]]]))], [4, 7]);
  assert.deepEqual([...selectedTrials(data, axes, new Map([["act", [0.5, 1.5]], ["lr", [-2.5, -1]]]))], [4]);
  assert.deepEqual([...selectedTrials(data, axes, new Map([["__score__", [0, 1]]]))], [3, 4], "a missing score is outside");
  assert.equal(selectedTrials(data, axes, new Map([["lr", [0, 1]]])).size, 0);
});

test("cellText: the magic line with the round's strategy and trials, then the spec", () => {
  assert.equal(cellText("%%hpsearch build X y", "bayes", 20, "\n\nunits = [16, 32]\n"),
    "%%hpsearch build X y --strategy bayes --trials 20\nunits = [16, 32]\n");
  assert.equal(cellText(null, "bayes", 20, "\nunits = [16, 32]\n"), "units = [16, 32]\n");
});

import { brushRange, svgCoordinate } from "../../widgets/explore.js";

// Two screen geometries of the same 210-unit-wide scatter: drawn at 210 px from x=100, then (after a
// redraw moved it) at 420 px from x=300. A drag must be read with the SVG on the page now.
const first = { a: 1, b: 0, c: 0, d: 1, e: 100, f: 50 };
const second = { a: 2, b: 0, c: 0, d: 2, e: 300, f: 80 };
const toPosition = (px) => (px - 50) / 146; // SCATTER: left 50, plot width 210 - 50 - 14

test("svgCoordinate: client pixels to SVG units for either geometry, x or y", () => {
  assert.equal(svgCoordinate(first, 150, 60, false), 50);
  assert.equal(svgCoordinate(second, 400, 100, false), 50);
  assert.equal(svgCoordinate(second, 400, 100, true), 10);
});

test("brushRange: a 0.3 to 0.7 drag read with the live geometry selects 0.3 to 0.7, whichever the direction", () => {
  const client = (geometry, f) => geometry.e + geometry.a * (50 + f * 146);
  const live = (f) => svgCoordinate(second, client(second, f), 0, false);
  close(brushRange(live(0.3), live(0.7), toPosition), [0.3, 0.7]);
  close(brushRange(live(0.7), live(0.3), toPosition), [0.3, 0.7]);
  const stale = svgCoordinate(first, client(second, 0.7), 0, false);
  assert.ok(toPosition(stale) > 1, "read with the old geometry the same pointer lies past the right edge");
});

import { scoreColour } from "../../widgets/explore.js";

test("scoreColour: mixes the theme's brand and error colours, no fixed colour", () => {
  assert.equal(scoreColour(0.1, 0.1, 0.5, true), "color-mix(in srgb, var(--jp-error-color1, #d32f2f) 0%, var(--jp-brand-color1, #1976d2))");
  assert.match(scoreColour(0.5, 0.1, 0.5, true), /error-color1[^)]*\) 100%/);
  assert.match(scoreColour(0.5, 0.1, 0.5, false), /\) 0%/);
  assert.equal(scoreColour(null, 0, 1, true), "var(--jp-brand-color1, #1976d2)");
});

test("refineCaption: the trials the spec is around, in the Refine button's words", async () => {
  const { refineCaption } = await import("../../widgets/explore.js");
  assert.equal(refineCaption({ around: [0, 3, 4], selected: [], top: 0.25 }), "around trials 0, 3, 4 (the top 25%)");
  assert.equal(refineCaption({ around: [7], selected: [7], top: 0.25 }), "around trial 7 (selected)");
  assert.equal(refineCaption({}), "", "nothing before Refine is clicked");
});
