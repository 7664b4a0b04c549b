// Bundles the browser UI: one script and one stylesheet (KaTeX's fonts beside them), minified,
// into codenode/frontend/ui/static, which the frontend serves under /static.
import * as esbuild from "esbuild";
import { fileURLToPath } from "node:url";
import { dirname, join } from "node:path";

const here = dirname(fileURLToPath(import.meta.url));
const out = join(here, "static");

await esbuild.build({
  entryPoints: { app: join(here, "src", "main.ts"), style: join(here, "src", "style.css") },
  bundle: true,
  minify: true,
  sourcemap: true,
  target: "es2022",
  format: "esm",
  outdir: out,
  loader: { ".woff2": "file", ".woff": "file", ".ttf": "file" },
  logLevel: "warning",
});
