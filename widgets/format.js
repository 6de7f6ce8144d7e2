// nnhp-magics front end: numbers and parameter values as text, the way Python writes them.

/** Significant digits of every number the widgets show (Python's views use the same "{:.4g}"). */
export const DIGITS = 4;

/** A number the way Python's "{:.4g}" writes it. */
export function fmt(value) {
  const digits = DIGITS;
  if (value === null || value === undefined || Number.isNaN(value)) return "";
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

/** Seconds as 42s, 3:07 or 1:02:03. */
export function fmtTime(seconds) {
  if (seconds === null || seconds === undefined || !Number.isFinite(seconds)) return "";
  const t = Math.max(0, Math.round(seconds));
  if (t < 60) return `${t}s`;
  const hh = Math.floor(t / 3600), mm = Math.floor((t % 3600) / 60), ss = String(t % 60).padStart(2, "0");
  return hh ? `${hh}:${String(mm).padStart(2, "0")}:${ss}` : `${mm}:${ss}`;
}

/** A parameter value as Python would show it. */
export function paramText(value) {
  if (value === undefined) return "";
  if (value === null) return "None";
  if (value === true) return "True";
  if (value === false) return "False";
  if (Array.isArray(value)) return `(${value.map(paramText).join(", ")}${value.length === 1 ? "," : ""})`;
  if (typeof value === "number") return fmt(value);
  return String(value);
}
