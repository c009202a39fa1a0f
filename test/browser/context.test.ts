import path from "node:path";
import type { Browser, Page } from "playwright-core";
import pngjs from "pngjs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type ConsoleServer, PASSWORD, RESULTS, launchBrowser, startConsoleServer } from "./support.ts";

// Three stations (id, name, lon, lat, water level); the map's dot colours and how it opens (EntityMap).
const STATIONS: Array<[string, string, number, number, number]> = [
  ["tan-chau", "Trạm Tân Châu", 105.248, 10.8006, 4.12],
  ["cao-lanh", "Trạm Cao Lãnh", 105.63, 10.46, 2.3],
  ["my-tho", "Trạm Mỹ Tho", 106.36, 10.35, 1.4],
];
const DOT: [number, number, number] = [0x0f, 0x76, 0x6e];
const SELECTED_DOT: [number, number, number] = [0xc2, 0x41, 0x0c];
const BOUNDS = [105.18, 10.13, 106.82, 10.98] as const;
const PADDING = 16;

describe("the context broker in the console", { timeout: 180_000 }, () => {
  let sen: ConsoleServer | undefined;
  let base = "";
  let browser: Browser | undefined;
  let page: Page;
  let admin = "";
  const remote: string[] = [];
  const pageErrors: string[] = [];

  const call = async (method: string, url: string, body?: unknown) => {
    const res = await fetch(`${base}${url}`, {
      method,
      headers: { authorization: `Bearer ${admin}`, ...(body ? { "content-type": "application/json" } : {}) },
      body: body ? JSON.stringify(body) : undefined,
    });
    expect(res.status, await res.clone().text()).toBeLessThan(300);
  };

  /**
   * Which stations have a dot of the given colour on the map: a screenshot of the map's canvas,
   * searched around each station's position. The map opens fitted to the province (BOUNDS, with
   * PADDING pixels around), so a position on screen follows from Web Mercator.
   */
  const dotsOnMap = async (file: string, colour: [number, number, number]) => {
    const canvas = page.getByTestId("context-map").locator("canvas");
    const png = pngjs.PNG.sync.read(await canvas.screenshot({ path: path.join(RESULTS, file) }));
    const mx = (lon: number) => (lon + 180) / 360;
    const my = (lat: number) => 0.5 - Math.log(Math.tan(Math.PI / 4 + (lat * Math.PI) / 360)) / (2 * Math.PI);
    const [w, s, e, n] = BOUNDS;
    const scale = Math.min((png.width - 2 * PADDING) / (mx(e) - mx(w)), (png.height - 2 * PADDING) / (my(s) - my(n)));
    const found: Record<string, boolean> = {};
    for (const [id, , lon, lat] of STATIONS) {
      const cx = png.width / 2 + (mx(lon) - (mx(w) + mx(e)) / 2) * scale;
      const cy = png.height / 2 + (my(lat) - (my(s) + my(n)) / 2) * scale;
      let hits = 0;
      for (let y = Math.round(cy - 6); y <= Math.round(cy + 6); y++)
        for (let x = Math.round(cx - 6); x <= Math.round(cx + 6); x++) {
          if (x < 0 || y < 0 || x >= png.width || y >= png.height) continue;
          const i = (y * png.width + x) * 4;
          if (colour.every((c, k) => Math.abs(png.data[i + k] - c) < 40)) hits++;
        }
      found[id] = hits >= 12;
    }
    return found;
  };

  beforeAll(async () => {
    sen = await startConsoleServer("sen-browser-context-");
    base = sen.base;
    admin = (
      await (
        await fetch(`${base}/api/auth/login`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({ username: "admin", password: PASSWORD }),
        })
      ).json()
    ).token;
    const now = Date.now();
    await call(
      "POST",
      "/ngsi-ld/v1/entityOperations/create",
      STATIONS.map(([id, name, lon, lat, level]) => ({
        id: `urn:ngsi-ld:WaterObserved:${id}`,
        type: "WaterObserved",
        name: { type: "Property", value: name },
        waterLevel: { type: "Property", value: level, unitCode: "MTR", observedAt: new Date(now - 3_600_000).toISOString() },
        location: { type: "GeoProperty", value: { type: "Point", coordinates: [lon, lat] } },
      })),
    );
    for (let i = 1; i <= 5; i++)
      await call("PATCH", "/ngsi-ld/v1/entities/urn:ngsi-ld:WaterObserved:tan-chau/attrs", {
        waterLevel: { type: "Property", value: 4.12 + i * 0.05, unitCode: "MTR", observedAt: new Date(now - 3_600_000 + i * 600_000).toISOString() },
      });
    await call("POST", "/ngsi-ld/v1/subscriptions", {
      type: "Subscription",
      subscriptionName: "Cảnh báo lũ Tân Châu",
      entities: [{ type: "WaterObserved" }],
      watchedAttributes: ["waterLevel"],
      q: "waterLevel>4",
      notification: { endpoint: { uri: "http://127.0.0.1:9/nobody" } },
    });
    browser = await launchBrowser();
    const context = await browser.newContext({ viewport: { width: 1400, height: 1100 }, locale: "vi-VN", timezoneId: "Asia/Ho_Chi_Minh" });
    page = await context.newPage();
    // the console works offline: nothing is fetched from anywhere but Sen itself
    page.on("request", (req) => {
      if (!req.url().startsWith(`${base}/`) && !req.url().startsWith("data:") && !req.url().startsWith("blob:")) remote.push(req.url());
    });
    page.on("pageerror", (e) => pageErrors.push(e.message));
  }, 180_000);

  afterAll(async () => {
    await browser?.close().catch(() => {});
    await sen?.stop();
  }, 30_000);

  it("explores entities: type, q, table, map, attributes, history, live updates", async () => {
    await page.goto(`${base}/login?next=/context`);
    await page.getByLabel("Tên đăng nhập").fill("admin");
    await page.getByLabel("Mật khẩu", { exact: true }).fill(PASSWORD);
    await page.getByLabel("Mật khẩu", { exact: true }).press("Enter");
    await page.waitForURL((url) => url.pathname === "/context");
    await page.getByRole("heading", { name: "Dữ liệu ngữ cảnh (NGSI-LD)" }).waitFor();
    await page
      .getByTestId("context-types")
      .getByRole("button", { name: /WaterObserved/ })
      .click();
    await expect.poll(async () => page.getByTestId("context-entities").locator("tbody tr").count()).toBe(3);

    await page.getByTestId("context-q").fill("waterLevel>2");
    await page.getByRole("button", { name: "Lọc", exact: true }).click();
    await expect.poll(async () => page.getByTestId("context-entities").locator("tbody tr").count()).toBe(2);
    // The two stations left by the filter are dots on the map where they are; Mỹ Thơ is not.
    await page.locator('[data-testid="context-map"][data-ready="true"]').waitFor({ timeout: 60_000 });
    await expect.poll(() => dotsOnMap("context-map.png", DOT), { timeout: 20_000 }).toEqual({ "tan-chau": true, "cao-lanh": true, "my-tho": false });

    await page.getByTestId("context-entities").getByText("Trạm Tân Châu").click();
    const detail = page.getByTestId("context-entity");
    await expect.poll(() => detail.textContent()).toContain("urn:ngsi-ld:WaterObserved:tan-chau");
    // the id is shown as written (an NGSI-LD id is case-sensitive): the rendered text, after CSS
    // biome-ignore lint/performance/useDomNodeTextContent: innerText is what text-transform changes
    expect(await detail.getByRole("heading").first().innerText()).toBe("urn:ngsi-ld:WaterObserved:tan-chau");
    expect(await detail.textContent()).toContain("MTR");
    await page.getByTestId("context-history").waitFor();
    await expect.poll(() => detail.textContent()).toContain("6 giá trị");
    // the selected station's dot turns orange; the other stays teal
    await expect
      .poll(() => dotsOnMap("context-map-selected.png", SELECTED_DOT), { timeout: 20_000 })
      .toEqual({ "tan-chau": true, "cao-lanh": false, "my-tho": false });
    expect((await dotsOnMap("context-map-selected.png", DOT))["cao-lanh"]).toBe(true);

    // live: a change made elsewhere shows up without reloading
    await call("PATCH", "/ngsi-ld/v1/entities/urn:ngsi-ld:WaterObserved:tan-chau/attrs", { waterLevel: { type: "Property", value: 4.87, unitCode: "MTR" } });
    await expect.poll(() => detail.textContent(), { timeout: 15_000 }).toContain("4,87");
    await page.screenshot({ path: path.join(RESULTS, "context-explorer.png"), fullPage: true });
    expect(pageErrors).toEqual([]);
    expect(remote).toEqual([]);
  });

  it("lists subscriptions with their delivery status", async () => {
    await page.getByRole("link", { name: "Đăng ký nhận thông báo" }).click();
    await page.waitForURL((url) => url.pathname === "/context/subscriptions");
    const table = page.getByTestId("context-subscriptions");
    await expect.poll(() => table.textContent()).toContain("Cảnh báo lũ Tân Châu");
    // the endpoint refuses connections: the subscription shows as failing after its first attempt
    await expect.poll(() => table.textContent(), { timeout: 20_000 }).toContain("Đang lỗi");
    await page.screenshot({ path: path.join(RESULTS, "context-subscriptions.png"), fullPage: true });
  });
});
