// Bundles each anywidget entry in widgets/ (with the modules it imports) into one ES module, and
// copies its CSS beside it: nnhp_magics/views/static/ is all the Python package loads at runtime.
// The bundles are committed, so installing nnhp-magics needs no Node; rebuild after editing widgets/:
//   npm ci && npm run build            (or: node scripts/build_widgets.mjs OUTDIR)
// No minification, so a diff of the bundles reads like a diff of the sources; the output depends
// only on the sources (paths in its comments are relative to the repository root).

import { copyFile, mkdir } from "node:fs/promises";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const ENTRIES = ["dashboard", "lrfind"];
const BANNER = "// Built by scripts/build_widgets.mjs from widgets/: edit those files, then run `npm run build`.";

const outdir = resolve(process.argv[2] || join(ROOT, "nnhp_magics", "views", "static"));
await mkdir(outdir, { recursive: true });
await build({
  absWorkingDir: ROOT,
  entryPoints: ENTRIES.map((name) => `widgets/${name}.js`),
  outdir,
  bundle: true,
  format: "esm",
  target: "es2020",
  minify: false,
  charset: "utf8",
  legalComments: "inline",
  banner: { js: BANNER },
  logLevel: "warning",
});
for (const name of ENTRIES) await copyFile(join(ROOT, "widgets", `${name}.css`), join(outdir, `${name}.css`));
