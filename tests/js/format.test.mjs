// widgets/format.js: numbers and parameter values written the way Python writes them.
import assert from "node:assert/strict";
import { test } from "node:test";

import { fmt, fmtTime, paramText } from "../../widgets/format.js";

test("fmt writes what Python's '{:.4g}' writes", () => {
  // expected values from Python: format(value, ".4g")
  const cases = [
    [0.000123456, "0.0001235"],
    [-0.00012345, "-0.0001234"],
    [1234567.0, "1.235e+06"],
    [12345.6, "1.235e+04"],
    [123.456, "123.5"],
    [0.5, "0.5"],
    [1e-5, "1e-05"],
    [0.1 + 0.2, "0.3"],
    [1e21, "1e+21"],
  ];
  for (const [value, text] of cases) assert.equal(fmt(value), text, String(value));
});

test("fmt keeps small integers whole, has one precision, and leaves blanks and text alone", () => {
  assert.equal(fmt(42), "42");
  assert.equal(fmt(999999), "999999");
  assert.equal(fmt(3.14159265, 6), "3.142", "no per-call precision: one format everywhere");
  assert.equal(fmt(0.0033459293537374483), "0.003346");
  assert.equal(fmt(null), "");
  assert.equal(fmt(undefined), "");
  assert.equal(fmt(NaN), "");
  assert.equal(fmt("relu"), "relu");
});

test("fmtTime writes seconds, minutes, then hours", () => {
  assert.equal(fmtTime(42), "42s");
  assert.equal(fmtTime(59.6), "1:00");
  assert.equal(fmtTime(187), "3:07");
  assert.equal(fmtTime(3723), "1:02:03");
  assert.equal(fmtTime(-3), "0s");
  assert.equal(fmtTime(null), "");
  assert.equal(fmtTime(Infinity), "");
});

test("paramText writes Python literals: None, booleans, tuples", () => {
  assert.equal(paramText(undefined), "");
  assert.equal(paramText(null), "None");
  assert.equal(paramText(true), "True");
  assert.equal(paramText(false), "False");
  assert.equal(paramText([64]), "(64,)");
  assert.equal(paramText([64, 32]), "(64, 32)");
  assert.equal(paramText(0.001234567), "0.001235", "parameters in the same 4 significant digits as scores");
  assert.equal(paramText("relu"), "relu");
});
