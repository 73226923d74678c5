// Builds web/static/editor.js from src/editor.js and the locked packages
// (`npm ci && npm run build`); CI rebuilds it and fails if the committed file differs.
import * as esbuild from "esbuild";
import { fileURLToPath } from "node:url";

const markdown = fileURLToPath(new URL("./src/markdown.js", import.meta.url));

// codemirror-json-schema renders descriptions through a module that pulls in shiki;
// ours renders them the same way without it.
const plainMarkdown = {
  name: "plain-markdown",
  setup(build) {
    build.onResolve({ filter: /utils\/markdown$/ }, (args) =>
      args.importer.includes("codemirror-json-schema") ? { path: markdown } : undefined,
    );
  },
};

await esbuild.build({
  entryPoints: ["src/editor.js"],
  bundle: true,
  minify: true,
  format: "iife",
  target: "es2020",
  charset: "utf8",
  legalComments: "none",
  outfile: "../static/editor.js",
  plugins: [plainMarkdown],
  logLevel: "warning",
});
