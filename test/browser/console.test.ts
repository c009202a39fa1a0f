// Browser test of the web console and the citizen app against the real server: starts
// `bin/sen.js start` on a free port with a fresh data folder, drives Debian chromium through
// playwright-core, and checks from the screenshot's pixels that the map really drew the boundaries.
import { readFileSync } from "node:fs";
import path from "node:path";
import type { Browser, BrowserContext, Page } from "playwright-core";
import pngjs from "pngjs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type ConsoleServer, PASSWORD, RESULTS, launchBrowser, startConsoleServer } from "./support.ts";

// The map's colours (web/src/console/mapStyle.ts): the commune fill and the province outline.
const COMMUNE_FILL: RGB = [0xcf, 0xe6, 0xd4];
const PROVINCE_LINE: RGB = [0x0e, 0x4a, 0x5a];

type RGB = [number, number, number];

/** The pixel of `color` nearest to the image's centre, in image coordinates. */
function nearestToCentre(png: { width: number; height: number; data: Buffer }, color: RGB, tolerance: number): { x: number; y: number } | null {
  const cx = png.width / 2;
  const cy = png.height / 2;
  let best: { x: number; y: number; d: number } | null = null;
  for (let y = 0; y < png.height; y++) {
    for (let x = 0; x < png.width; x++) {
      const i = (y * png.width + x) * 4;
      if (Math.abs(png.data[i] - color[0]) > tolerance || Math.abs(png.data[i + 1] - color[1]) > tolerance || Math.abs(png.data[i + 2] - color[2]) > tolerance)
        continue;
      const d = (x - cx) ** 2 + (y - cy) ** 2;
      if (!best || d < best.d) best = { x, y, d };
    }
  }
  return best && { x: best.x, y: best.y };
}

/** Share of the image's pixels within `tolerance` (per channel) of `color`, and their count. */
function colourShare(png: { width: number; height: number; data: Buffer }, color: RGB, tolerance: number): { share: number; count: number } {
  let count = 0;
  const total = png.width * png.height;
  for (let i = 0; i < png.data.length; i += 4) {
    if (Math.abs(png.data[i] - color[0]) <= tolerance && Math.abs(png.data[i + 1] - color[1]) <= tolerance && Math.abs(png.data[i + 2] - color[2]) <= tolerance)
      count++;
  }
  return { share: count / total, count };
}

describe("web console and citizen app in chromium", { timeout: 120_000 }, () => {
  let sen: ConsoleServer | undefined;
  let base = "";
  let browser: Browser | undefined;
  let context: BrowserContext;
  let page: Page;
  let mapPixels: { width: number; height: number; data: Buffer } | undefined;

  beforeAll(async () => {
    sen = await startConsoleServer("sen-browser-");
    base = sen.base;

    browser = await launchBrowser();
    context = await browser.newContext({ viewport: { width: 1600, height: 800 }, locale: "vi-VN", timezoneId: "Asia/Ho_Chi_Minh" });
    page = await context.newPage();
  }, 120_000);

  afterAll(async () => {
    await browser?.close().catch(() => {});
    await sen?.stop();
  }, 30_000);

  it("sends an anonymous visitor of /map to the sign-in page", async () => {
    await page.goto(`${base}/map`);
    await page.waitForURL((url) => url.pathname === "/login");
    expect(new URL(page.url()).searchParams.get("next")).toBe("/map");
    await expect(page.getByRole("heading", { name: "Đăng nhập" }).isVisible()).resolves.toBe(true);
  });

  it("signs in as admin and lands on the map with the boundaries drawn", async () => {
    await page.getByLabel("Tên đăng nhập").fill("admin");
    await page.getByLabel("Mật khẩu", { exact: true }).fill(PASSWORD);
    await page.getByLabel("Mật khẩu", { exact: true }).press("Enter");
    await page.waitForURL((url) => url.pathname === "/map");
    await expect(page.getByTestId("province-name").textContent()).resolves.toBe("Tỉnh Đồng Tháp");

    const map = page.locator('[data-testid="map"]');
    await page.locator('[data-map-ready="true"]').waitFor({ timeout: 60_000 });
    const file = path.join(RESULTS, "map.png");
    await map.screenshot({ path: file });
    await page.screenshot({ path: path.join(RESULTS, "console-map.png") });

    const png = pngjs.PNG.sync.read(readFileSync(file));
    mapPixels = png;
    const fill = colourShare(png, COMMUNE_FILL, 10);
    const outline = colourShare(png, PROVINCE_LINE, 30);
    expect(fill.share, "share of pixels with the commune fill colour").toBeGreaterThan(0.15);
    expect(outline.count, "pixels with the province outline colour").toBeGreaterThan(200);
  });

  it("shows a commune's name and code when the map is clicked", async () => {
    const map = page.locator('[data-testid="map"]');
    const box = await map.boundingBox();
    if (!box || !mapPixels) throw new Error("the map has no bounding box or no screenshot");
    // Click the centre of the map, or if the centre falls outside the province (its bounding box's
    // centre lies in the bend between its western and eastern parts), the commune pixel nearest to it.
    const target = nearestToCentre(mapPixels, COMMUNE_FILL, 10);
    if (!target) throw new Error("no commune pixel in the map screenshot");
    const scale = box.width / mapPixels.width;
    await page.mouse.click(box.x + target.x * scale, box.y + target.y * scale);
    const panel = page.getByTestId("commune-panel");
    await panel.waitFor();
    const name = (await page.getByTestId("commune-name").textContent()) ?? "";
    const code = (await page.getByTestId("commune-code").textContent()) ?? "";
    expect(name).toMatch(/^(Xã|Phường) \S/);
    expect(code).toMatch(/^\d{5}$/);
    await page.screenshot({ path: path.join(RESULTS, "console-map-selected.png") });
  });

  it("finds a commune by name without accents", async () => {
    await page.getByLabel("Tìm xã, phường").fill("cao lanh");
    await page.getByRole("button", { name: /Phường Cao Lãnh/ }).click();
    await expect(page.getByTestId("commune-name").textContent()).resolves.toBe("Phường Cao Lãnh");
  });

  it("switches the console to English", async () => {
    const nav = page.getByRole("navigation");
    await expect(nav.getByText("Bản đồ", { exact: true }).isVisible()).resolves.toBe(true);
    await page.locator(".user-button").click();
    await page.getByRole("button", { name: "English" }).click();
    await nav.getByText("Map", { exact: true }).waitFor();
    await expect(nav.getByText("Bản đồ", { exact: true }).count()).resolves.toBe(0);
    await expect(page.getByTestId("province-name").textContent()).resolves.toBe("Dong Thap Province");
    // Back to Vietnamese for the rest of the run (the choice is kept in localStorage).
    await page.getByRole("button", { name: "Tiếng Việt" }).click();
    await nav.getByText("Bản đồ", { exact: true }).waitFor();
  });

  it("shows the overview and the administration pages", async () => {
    await page.getByRole("navigation").getByText("Tổng quan", { exact: true }).click();
    await page.waitForURL((url) => url.pathname === "/");
    await expect(page.getByTestId("count-communes").locator(".stat-value").textContent()).resolves.not.toBe("…");
    await page.getByTestId("count-communes").getByText("102").waitFor();
    await page.getByTestId("health-card").getByText("Hoạt động bình thường").waitFor();

    // The live feed shows an event as it happens: creating a user publishes user.created.
    await page.getByText("Trực tuyến", { exact: true }).waitFor();
    const created = await page.evaluate(async () => {
      const body = { username: "nguyenvana", displayName: "Nguyễn Văn A", password: "a-long-password-1", roles: ["operator"] };
      const res = await fetch("/api/users", { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
      return res.status;
    });
    expect(created).toBe(201);
    await page.locator(".feed-list").getByText("user.created").waitFor();
    await page.screenshot({ path: path.join(RESULTS, "console-overview.png") });

    await page.getByRole("navigation").getByText("Nhật ký hệ thống", { exact: true }).click();
    await page.getByTestId("audit-table").getByText("auth.login").first().waitFor();
    await page.screenshot({ path: path.join(RESULTS, "console-audit.png") });

    await page.getByRole("navigation").getByText("Người dùng", { exact: true }).click();
    await page.getByTestId("users-table").getByRole("cell", { name: "admin", exact: true }).first().waitFor();
  });

  it("serves the citizen app as an installable PWA", async () => {
    const app = await context.newPage();
    await app.setViewportSize({ width: 390, height: 844 });
    await app.goto(`${base}/app/`);
    await expect(app.title()).resolves.toBe("Sen – Đồng Tháp");
    await expect(app.locator('link[rel="manifest"]').getAttribute("href")).resolves.toBe("/manifest.webmanifest");
    const manifest = (await (await fetch(`${base}/manifest.webmanifest`)).json()) as { name: string; start_url: string; icons: { sizes: string }[] };
    expect(manifest.name).toBe("Sen – Đồng Tháp");
    expect(manifest.start_url).toBe("/app/");
    expect(manifest.icons.map((i) => i.sizes)).toEqual(expect.arrayContaining(["192x192", "512x512"]));
    await app.getByRole("heading", { name: "Xã/phường của tôi" }).waitFor();

    const mini = app.getByTestId("mini-map");
    await mini.waitFor();
    const box = await mini.boundingBox();
    if (!box) throw new Error("the small map has no bounding box");
    // Tapping the small map inside the province's western part finds the commune there.
    await app.mouse.click(box.x + box.width * 0.25, box.y + box.height * 0.5);
    const result = app.getByTestId("my-commune-result");
    await result.waitFor();
    await expect(result.textContent()).resolves.toMatch(/(Xã|Phường) .+Tỉnh Đồng Tháp/);

    // The service worker takes control of the app.
    const scope = await app.evaluate(async () => (await navigator.serviceWorker.ready).scope);
    expect(scope).toBe(`${base}/app/`);
    await app.screenshot({ path: path.join(RESULTS, "citizen-app.png"), fullPage: true });
    await app.close();
  });

  it("tells a user who typed a wrong password", async () => {
    const other = await browser?.newContext({ locale: "vi-VN" });
    if (!other) throw new Error("no browser");
    const login = await other.newPage();
    await login.goto(`${base}/login`);
    await login.getByLabel("Tên đăng nhập").fill("admin");
    await login.getByLabel("Mật khẩu", { exact: true }).fill("not-the-password");
    await login.getByRole("button", { name: "Đăng nhập" }).click();
    const error = login.getByTestId("login-error");
    await error.waitFor();
    await expect(error.textContent()).resolves.toContain("Tên đăng nhập hoặc mật khẩu không đúng.");
    expect(new URL(login.url()).pathname).toBe("/login");
    await login.screenshot({ path: path.join(RESULTS, "login-error.png") });
    await other.close();
  });
});
