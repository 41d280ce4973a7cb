// Bundles web/src into web/dist (committed, embedded in the Go binary by web/embed.go).
// Deterministic: the same sources give the same bytes, so `make check-web` can compare.
import * as esbuild from "esbuild";
import { copyFileSync, mkdirSync, rmSync } from "node:fs";

rmSync("dist", { recursive: true, force: true });
mkdirSync("dist/assets", { recursive: true });
await esbuild.build({
  entryPoints: ["src/main.tsx"],
  bundle: true,
  minify: true,
  format: "esm",
  target: ["es2020"],
  jsx: "automatic",
  jsxImportSource: "preact",
  legalComments: "none",
  outfile: "dist/assets/app.js",
  logLevel: "warning",
});
copyFileSync("src/index.html", "dist/index.html");
copyFileSync("src/styles.css", "dist/assets/styles.css");
copyFileSync("src/favicon.svg", "dist/assets/favicon.svg");
