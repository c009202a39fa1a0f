// The leaders' dashboard in chromium: the plan scorecard (26 targets, green/amber/red, sparklines,
// forecast) and the choropleth of the communes, drawn offline; then a commune officer's form.
import { readFileSync } from "node:fs";
import path from "node:path";
import pngjs from "pngjs";
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type ConsoleServer, PASSWORD, RESULTS, launchBrowser, startConsoleServer } from "./support.ts";

const YEAR = new Date(Date.now() + 7 * 3600_000).getUTCFullYear() - 1;

describe("indicators dashboard in chromium", { timeout: 180_000 }, () => {
  let sen: ConsoleServer | undefined;
  let browser: Browser | undefined;
  let page: Page;
  let token = "";
  let communes: string[] = [];

  const call = async (method: string, url: string, body?: unknown) => {
    const res = await fetch(`${sen?.base}${url}`, {
      method,
      headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    if (!res.ok) throw new Error(`${method} ${url}: ${res.status} ${await res.text()}`);
    return res.status === 204 ? undefined : res.json();
  };

  beforeAll(async () => {
    sen = await startConsoleServer("sen-browser-ind-");
    const login = await fetch(`${sen.base}/api/auth/login`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ username: "admin", password: PASSWORD }),
    });
    token = (await login.json()).token;
    communes = ((await call("GET", "/api/geo/units?parent=82&limit=200")) as Array<{ code: string }>).map((u) => u.code);

    // Five years of a few targets, so the scorecard has every colour.
    const series: Record<string, number[]> = {
      "agri.smart_villages": [2, 4, 6, 8, 10],
      "commerce.online_shoppers": [30, 40, 48, 56, 60],
      "commerce.ecommerce_enterprises": [18, 19, 20, 21, 22],
      "edu.online_training_schools": [10, 20, 28, 35, 42],
      "health.emr_regional_hospitals": [0, 20, 35, 60, 80],
    };
    const dataValues = Object.entries(series).flatMap(([de, vals]) =>
      vals.map((value, i) => ({ dataElement: de, period: String(YEAR - 4 + i), orgUnit: "82", value })),
    );
    await call("POST", "/api/dataValueSets", { dataValues });

    // A yearly commune indicator for the map: households with broadband, per commune.
    await call("PUT", "/api/indicators/elements/households", { name: "Số hộ gia đình", nameEn: "Households", valueType: "integer" });
    await call("PUT", "/api/indicators/elements/households_broadband", { name: "Hộ có cáp quang", nameEn: "Households with broadband", valueType: "integer" });
    await call("PUT", "/api/indicators/definitions/broadband_rate", {
      name: "Tỷ lệ hộ có cáp quang",
      nameEn: "Households with broadband",
      numerator: "#{households_broadband}",
      denominator: "#{households}",
      factor: 100,
    });
    await call("PUT", "/api/indicators/forms/commune-yearly", {
      name: "Báo cáo năm của xã",
      nameEn: "Commune yearly report",
      periodType: "yearly",
      elements: ["households", "households_broadband"],
      units: ["OU_GROUP-communes"],
    });
    await call("POST", "/api/dataValueSets", {
      dataValues: communes.flatMap((ou, i) => [
        { dataElement: "households", period: String(YEAR), orgUnit: ou, value: 1000 },
        { dataElement: "households_broadband", period: String(YEAR), orgUnit: ou, value: 200 + ((i * 37) % 700) },
      ]),
    });

    browser = await launchBrowser();
    const context = await browser.newContext({ viewport: { width: 1600, height: 1000 }, locale: "vi-VN", timezoneId: "Asia/Ho_Chi_Minh" });
    page = await context.newPage();
    page.on("pageerror", (err) => console.log("page error:", err.message));
    await page.goto(`${sen.base}/login?next=/indicators`);
    await page.getByLabel("Tên đăng nhập").waitFor({ timeout: 90_000 }); // a loaded machine may be slow to serve the app
    await page.getByLabel("Tên đăng nhập").fill("admin");
    await page.getByLabel("Mật khẩu", { exact: true }).fill(PASSWORD);
    await page.getByLabel("Mật khẩu", { exact: true }).press("Enter");
    await page.waitForURL((url) => url.pathname === "/indicators");
  }, 180_000);

  afterAll(async () => {
    await browser?.close().catch(() => {});
    await sen?.stop();
  }, 30_000);

  it("renders the scorecard: 26 targets by sector, coloured by status, with sparklines and forecasts", async () => {
    await page.getByTestId("scorecard").locator("[data-target]").nth(25).waitFor({ timeout: 30_000 });
    const rows = page.getByTestId("scorecard").locator("[data-target]");
    expect(await rows.count()).toBe(26);
    await expect(page.locator('[data-target="commerce.online_shoppers"]').getAttribute("data-status")).resolves.toBe("met");
    await expect(page.locator('[data-target="commerce.ecommerce_enterprises"]').getAttribute("data-status")).resolves.toBe("off_track");
    await expect(page.locator('[data-target="agri.smart_villages"] .ind-chip').textContent()).resolves.toMatch(/Đúng tiến độ|Có nguy cơ|Đã đạt/);
    expect(await page.locator('[data-target="agri.smart_villages"] polyline').count()).toBe(1);
    await expect(page.locator('[data-target="agri.smart_villages"] .ind-forecast').textContent()).resolves.toContain("đạt mục tiêu");
    await expect(page.getByRole("heading", { name: "Nông nghiệp" }).isVisible()).resolves.toBe(true);
    // Choosing a target draws its chart with the goal line.
    await page.locator('[data-target="agri.smart_villages"]').click();
    await page.getByTestId("target-chart").locator("canvas").first().waitFor();
  });

  it("draws the communes as a choropleth of the chosen indicator", async () => {
    await page.getByLabel("Chỉ số", { exact: true }).selectOption("broadband_rate");
    await page.getByLabel("Kỳ", { exact: true }).selectOption(String(YEAR));
    const map = page.getByTestId("commune-map");
    await page.locator('[data-map-ready="true"]').waitFor({ timeout: 60_000 });
    await expect.poll(() => map.getAttribute("data-choropleth"), { timeout: 30_000 }).toBe(String(communes.length));
    await page.waitForTimeout(1500); // let the map repaint with the values (screenshot only)
    const file = path.join(RESULTS, "indicators-map.png");
    await map.screenshot({ path: file });
    await page.screenshot({ path: path.join(RESULTS, "indicators-dashboard.png"), fullPage: true });
    // The ramp's colours cover a good part of the map: the communes are filled by value.
    const png = pngjs.PNG.sync.read(readFileSync(file));
    let warm = 0;
    let pick: { x: number; y: number; d: number } | undefined;
    for (let i = 0; i < png.data.length; i += 4) {
      const [r, b] = [png.data[i] as number, png.data[i + 2] as number];
      if (r > 170 && b < 170 && r - b > 40) {
        warm++;
        const x = (i / 4) % png.width;
        const y = Math.floor(i / 4 / png.width);
        const d = (x - png.width / 2) ** 2 + (y - png.height / 2) ** 2;
        if (!pick || d < pick.d) pick = { x, y, d };
      }
    }
    expect(warm / (png.width * png.height)).toBeGreaterThan(0.1);
    // Drill-down: a click on a commune (the filled pixel nearest the centre) shows its last twelve months.
    const box = await map.boundingBox();
    if (!box || !pick) throw new Error("no map box or no filled pixel");
    const px = box.x + pick.x * (box.width / png.width);
    const py = box.y + pick.y * (box.height / png.height);
    await page.mouse.move(px, py);
    await page.mouse.move(px + 1, py + 1);
    await page.locator(".ind-map-tip").waitFor();
    await page.mouse.click(px + 1, py + 1);
    await page.getByTestId("commune-detail").waitFor({ timeout: 10_000 });
  });

  it("opens a commune's form for entry with inline checks", async () => {
    await page.goto(`${sen?.base}/indicators/forms/commune-yearly/${communes[0]}/${YEAR}`);
    const input = page.getByLabel("Hộ có cáp quang");
    await input.waitFor();
    await expect(input.inputValue()).resolves.toBe(String(200));
    await input.fill("nhiều");
    await expect(page.getByText("Không phải là số").isVisible()).resolves.toBe(true);
    await input.fill("250");
    await page.getByRole("button", { name: "Lưu nháp" }).click();
    await page.getByText("Đã lưu 1 thay đổi.").waitFor();
    await page.screenshot({ path: path.join(RESULTS, "indicators-entry.png"), fullPage: true });
  });

  it("shows the officer's page with completeness, and the setup page", async () => {
    await page.goto(`${sen?.base}/indicators/forms`);
    await page.getByTestId("completeness").waitFor();
    await page.getByRole("combobox", { name: "Biểu mẫu" }).selectOption("commune-yearly");
    await expect.poll(async () => (await page.getByTestId("completeness").textContent()) ?? "").toContain(String(YEAR));
    await page.screenshot({ path: path.join(RESULTS, "indicators-forms.png"), fullPage: true });
    await page.goto(`${sen?.base}/indicators/admin`);
    await page.getByText("households_broadband").first().waitFor();
  });
});
