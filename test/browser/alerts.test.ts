// Browser test of warnings: an officer composes a warning in the console (template, commune on the
// map, vi/en preview) and submits it; the author cannot approve; a second officer does; the
// citizen app shows it for the citizen's commune with a banner on the home screen.
import { readFileSync } from "node:fs";
import path from "node:path";
import type { Browser, Page } from "playwright-core";
import pngjs from "pngjs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type ConsoleServer, PASSWORD, RESULTS, launchBrowser, startConsoleServer } from "./support.ts";

const CHOSEN: [number, number, number] = [0xc2, 0x41, 0x0c];
const COMMUNE = "29971";

describe("warnings in the console and the citizen app", { timeout: 180_000 }, () => {
  let sen: ConsoleServer | undefined;
  let base = "";
  let browser: Browser | undefined;
  let page: Page;
  let alertId = "";

  const call = async (token: string, method: string, url: string, body?: unknown) => {
    const res = await fetch(`${base}${url}`, {
      method,
      headers: { authorization: `Bearer ${token}`, ...(body ? { "content-type": "application/json" } : {}) },
      body: body ? JSON.stringify(body) : undefined,
    });
    expect(res.status, await res.clone().text()).toBeLessThan(300);
    return res.json();
  };
  const token = async (username: string, password: string) =>
    (
      await (
        await fetch(`${base}/api/auth/login`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ username, password }) })
      ).json()
    ).token as string;

  beforeAll(async () => {
    sen = await startConsoleServer("sen-browser-alerts-");
    base = sen.base;
    const admin = await token("admin", PASSWORD);
    await call(admin, "POST", "/api/users", {
      username: "duyet",
      displayName: "Cán bộ duyệt",
      password: "duyet-password-1",
      roles: ["operator"],
      agency: "TTCDS",
    });
    browser = await launchBrowser();
    const context = await browser.newContext({ viewport: { width: 1400, height: 1000 }, locale: "vi-VN", timezoneId: "Asia/Ho_Chi_Minh" });
    page = await context.newPage();
    page.on("console", (m) => m.type() === "error" && console.log("browser:", m.text()));
    page.on("pageerror", (e) => console.log("page error:", e.message));
  }, 180_000);

  afterAll(async () => {
    await browser?.close().catch(() => {});
    await sen?.stop();
  }, 30_000);

  it("composes a warning from a template with a commune chosen and a vi/en preview, and submits it", async () => {
    await page.goto(`${base}/login?next=/alerts/new`);
    await page.getByLabel("Tên đăng nhập").fill("admin");
    await page.getByLabel("Mật khẩu", { exact: true }).fill(PASSWORD);
    await page.getByLabel("Mật khẩu", { exact: true }).press("Enter");
    await page.waitForURL((url) => url.pathname === "/alerts/new");
    await page.getByRole("heading", { name: "Soạn cảnh báo" }).waitFor();

    await page.locator('select[name="commune"]').selectOption(COMMUNE);
    await page.getByRole("button", { name: "Thêm", exact: true }).click();
    await expect.poll(async () => page.getByTestId("alert-touched").textContent()).toContain("Xã, phường trong vùng: 1");
    await page.locator('select[name="hazard"]').selectOption("epidemic");
    await page.locator('select[name="severity"]').selectOption("Severe");
    await expect.poll(() => page.locator('input[name="vi-headline"]').inputValue()).toContain("Cảnh báo dịch bệnh tại");
    expect(await page.locator('input[name="en-headline"]').inputValue()).toContain("Epidemic warning for");
    await expect.poll(() => page.getByTestId("alert-preview-vi").textContent()).toContain("Nguy hiểm");
    await page.getByRole("button", { name: "English", exact: true }).click();
    await expect.poll(() => page.getByTestId("alert-preview-en").textContent()).toContain("Epidemic warning for");
    await page.locator('[data-testid="alert-area-map"][data-ready="true"]').waitFor({ timeout: 60_000 });
    await page.waitForTimeout(1000); // the map draws the chosen commune (fill #c2410c at 85 % over the background)
    const file = path.join(RESULTS, "alerts-composer.png");
    await page.getByTestId("alert-area-map").screenshot({ path: file });
    await page.screenshot({ path: path.join(RESULTS, "alerts-composer-page.png"), fullPage: true });
    const png = pngjs.PNG.sync.read(readFileSync(file));
    let chosen = 0;
    for (let i = 0; i < png.data.length; i += 4)
      if (Math.abs(png.data[i] - CHOSEN[0]) < 45 && Math.abs(png.data[i + 1] - CHOSEN[1]) < 45 && Math.abs(png.data[i + 2] - CHOSEN[2]) < 45) chosen++;
    expect(chosen, "pixels of the chosen commune's colour on the map").toBeGreaterThan(30);

    await page.getByRole("button", { name: "Lưu và trình duyệt" }).click();
    await page.waitForURL((url) => /^\/alerts\/[0-9a-f-]{36}$/.test(url.pathname));
    alertId = new URL(page.url()).pathname.split("/")[2];
    await expect.poll(() => page.locator(".page-meta").textContent()).toContain("Chờ duyệt");
    // The author's approve button is disabled, with the reason shown.
    await expect(page.getByRole("button", { name: "Duyệt và phát hành" }).isDisabled()).resolves.toBe(true);
    await expect(page.getByText("một cán bộ khác có quyền duyệt phải phê duyệt").isVisible()).resolves.toBe(true);
  });

  it("a second officer approves; the console shows it in force with delivery progress", async () => {
    const second = await token("duyet", "duyet-password-1");
    await call(second, "POST", `/api/alerts/${alertId}/approve`);
    await page.reload();
    await expect.poll(() => page.locator(".page-meta").textContent()).toContain("Đang hiệu lực");
    await page.getByTestId("delivery-progress").waitFor();
    await page.goto(`${base}/alerts?tab=current`);
    await page.getByTestId("alerts-table").waitFor();
    await expect(page.getByTestId("alerts-table").textContent()).resolves.toContain("Cảnh báo dịch bệnh tại");
    await page.screenshot({ path: path.join(RESULTS, "alerts-list.png") });
  });

  it("the citizen app lists it for my commune and shows a banner on the home screen", async () => {
    const context = await (browser as Browser).newContext({ viewport: { width: 400, height: 860 }, locale: "vi-VN", timezoneId: "Asia/Ho_Chi_Minh" });
    const phone = await context.newPage();
    await phone.goto(`${base}/app/alerts`);
    await phone.getByTestId("place-select").selectOption(COMMUNE);
    await phone.getByTestId("alerts-mine").waitFor();
    await expect(phone.getByTestId("alerts-mine").textContent()).resolves.toContain("Cảnh báo dịch bệnh tại");
    await phone.screenshot({ path: path.join(RESULTS, "alerts-citizen.png"), fullPage: true });
    await phone.goto(`${base}/app`);
    const banner = phone.getByTestId("severe-banner");
    await banner.waitFor();
    await expect(banner.textContent()).resolves.toContain("Cảnh báo dịch bệnh tại");
    await phone.screenshot({ path: path.join(RESULTS, "alerts-banner.png") });
    await banner.getByRole("link").click();
    await phone.waitForURL((url) => url.pathname === `/app/alerts/${alertId}`);
    await expect(phone.getByTestId("alert-preview-vi").textContent()).resolves.toContain("Nguy hiểm");
    await context.close();
  });
});
