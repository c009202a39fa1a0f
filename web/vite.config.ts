// Vite build of the web: the operations console (index.html) and the citizen app (app/index.html).
// Paths are resolved from this file so the config works whatever the current directory is
// (the server builds the web from the repository root with `build({ configFile: "web/vite.config.ts" })`).
import path from "node:path";
import { fileURLToPath } from "node:url";
import react from "@vitejs/plugin-react";
import { defineConfig } from "vite";

const root = path.dirname(fileURLToPath(import.meta.url));

// The same Content-Security-Policy the server sends, so `vite preview` behaves like production.
const csp =
  "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; worker-src 'self' blob:; " +
  "child-src 'self' blob:; connect-src 'self'; font-src 'self' data:";

// During `vite` (dev) and `vite preview`, API calls go to a Sen server on SEN_API (default http://127.0.0.1:8080).
const api = process.env.SEN_API ?? "http://127.0.0.1:8080";
const proxy = { "/api": { target: api, changeOrigin: false }, "/ogc": { target: api, changeOrigin: false } };

export default defineConfig({
  root,
  base: "/",
  publicDir: path.join(root, "public"),
  plugins: [react()],
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
    },
  },
  server: { proxy },
  preview: { proxy, headers: { "Content-Security-Policy": csp } },
});
