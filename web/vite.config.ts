// Vite build of the web: the operations console (index.html) and the citizen app (app/index.html).
// Paths are resolved from this file so the config works whatever the current directory is
// (the server builds the web from the repository root with `build({ configFile: "web/vite.config.ts" })`).
import path from "node:path";
import { fileURLToPath } from "node:url";
import react from "@vitejs/plugin-react";
import { defineConfig, type Plugin } from "vite";

const root = path.dirname(fileURLToPath(import.meta.url));

// The same Content-Security-Policy the server sends, so `vite preview` behaves like production.
const csp =
  "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; worker-src 'self' blob:; " +
  "child-src 'self' blob:; connect-src 'self'; font-src 'self' data:";

// During `vite` (dev) and `vite preview`, API calls go to a Sen server on SEN_API (default http://127.0.0.1:8080).
const api = process.env.SEN_API ?? "http://127.0.0.1:8080";
const proxy = { "/api": { target: api, changeOrigin: false }, "/ogc": { target: api, changeOrigin: false } };

// A build is always a production build (minified React, production JSX runtime, service worker
// registered), even when the process that builds runs with another NODE_ENV, e.g. the server started
// by a test with NODE_ENV=test. Vite derives "production" from NODE_ENV after reading this file, so
// set it here for the build and put the caller's value back when the build ends.
function productionBuild(command: string): Plugin[] {
  if (command !== "build") return [];
  const previous = process.env.NODE_ENV;
  process.env.NODE_ENV = "production";
  let restored = false;
  const restore = () => {
    if (restored) return;
    restored = true;
    if (previous === undefined) delete process.env.NODE_ENV;
    else process.env.NODE_ENV = previous;
  };
  return [
    {
      name: "sen:production-build",
      apply: "build",
      buildEnd(error) {
        if (error) restore();
      },
      closeBundle: restore,
    },
  ];
}

export default defineConfig(({ command }) => ({
  root,
  base: "/",
  publicDir: path.join(root, "public"),
  plugins: [react(), ...productionBuild(command)],
  build: {
    outDir: path.join(root, "dist"),
    emptyOutDir: true,
    // MapLibre GL alone is ~1 MB minified; it is loaded only by the map page.
    chunkSizeWarningLimit: 1200,
    rolldownOptions: {
      input: {
        console: path.join(root, "index.html"),
        app: path.join(root, "app/index.html"),
      },
      // React and i18next, shared by both pages, in one long-cached chunk of their own.
      output: { codeSplitting: { groups: [{ name: "vendor", test: /node_modules[\\/](react|react-dom|scheduler|i18next|react-i18next)[\\/]/ }] } },
    },
  },
  server: { proxy },
  preview: { proxy, headers: { "Content-Security-Policy": csp } },
}));
