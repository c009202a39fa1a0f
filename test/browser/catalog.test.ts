// Browser test of open data against the real server: a publisher creates a dataset in the console,
// uploads a CSV with a progress bar, corrects a column type, publishes; a citizen finds it in the
// portal without typing diacritics, filters by facet, and sees the table, chart and downloads.
import path from "node:path";
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type ConsoleServer, PASSWORD, RESULTS, launchBrowser, startConsoleServer } from "./support.ts";

const CSV = [
  "Mã trạm,Tên trạm,Ngày,Mực nước (cm),lat,lon",
  ...Array.from({ length: 60 }, (_, i) => {
    const stations = [
      ["TC01", "Tân Châu", 10.8, 105.24],
      ["CD02", "Châu Đốc", 10.7, 105.11],
      ["CL03", "Cao Lãnh", 10.46, 105.63],
    ] as const;
    const [code, name, lat, lon] = stations[i % 3];
    const day = String(1 + Math.floor(i / 3)).padStart(2, "0");
    return `${code},${name},2025-10-${day},${300 + ((i * 37) % 150)},${lat},${lon}`;
  }),
].join("\n");

describe("open data in chromium", { timeout: 120_000 }, () => {
  let sen: ConsoleServer | undefined;
  let browser: Browser | undefined;
  let publisher: Page;
  let citizen: Page;

  beforeAll(async () => {
    sen = await startConsoleServer("sen-browser-catalog-");
    browser = await launchBrowser();
    publisher = await (await browser.newContext({ viewport: { width: 1440, height: 900 }, locale: "vi-VN", timezoneId: "Asia/Ho_Chi_Minh" })).newPage();
    citizen = await (
      await browser.newContext({
        viewport: { width: 390, height: 844 },
        deviceScaleFactor: 2,
        isMobile: true,
        hasTouch: true,
        locale: "vi-VN",
        timezoneId: "Asia/Ho_Chi_Minh",
      })
    ).newPage();
  }, 180_000);

  afterAll(async () => {
    await browser?.close().catch(() => {});
    await sen?.stop();
  }, 30_000);

  it("a publisher creates a dataset, uploads a file, confirms the column types and publishes", async () => {
    await publisher.goto(`${sen?.base}/login?next=${encodeURIComponent("/catalog")}`);
    await publisher.getByLabel("Tên đăng nhập").fill("admin");
    await publisher.getByLabel("Mật khẩu", { exact: true }).fill(PASSWORD);
    await publisher.getByLabel("Mật khẩu", { exact: true }).press("Enter");
    await publisher.waitForURL((url) => url.pathname === "/catalog");
    await publisher.getByRole("link", { name: "Tạo bộ dữ liệu" }).click();
    await publisher.getByLabel("Tên bộ dữ liệu").fill("Mực nước sông Tiền – ngập lụt Đồng Tháp");
    await expect(publisher.getByLabel("Tên trong địa chỉ").inputValue()).resolves.toBe("muc-nuoc-song-tien-ngap-lut-dong-thap");
    await publisher.getByLabel("Tên tiếng Anh").fill("Tien River water levels");
    await publisher.getByLabel("Mô tả", { exact: true }).fill("Mực nước hằng ngày tại các trạm thủy văn trên sông Tiền và sông Hậu.");
    await publisher.getByLabel("Cơ quan", { exact: true }).selectOption("SNNMT");
    await publisher.getByLabel("Tần suất cập nhật").selectOption("DAILY");
    await publisher.getByLabel("Từ khóa (cách nhau bởi dấu phẩy)").fill("thủy văn, ngập lụt");
    await publisher.getByLabel("Thời tiết, thủy văn").check();
    await publisher.getByRole("button", { name: "Tạo bản nháp" }).click();
    await publisher.waitForURL((url) => url.pathname === "/catalog/d/muc-nuoc-song-tien-ngap-lut-dong-thap");
    await publisher.getByText("Bản nháp").first().waitFor();

    await publisher.getByRole("button", { name: "Thêm tệp dữ liệu" }).click();
    await publisher.getByLabel("Tên tài nguyên").fill("Mực nước tháng 10/2025");
    await publisher.getByRole("button", { name: "Tiếp tục" }).click();
    await publisher.getByTestId("file-input").setInputFiles({ name: "muc-nuoc.csv", mimeType: "text/csv", buffer: Buffer.from(CSV) });
    // The inferred types, for the publisher to check: the station code is corrected to text.
    const columns = publisher.getByTestId("columns");
    await columns.waitFor({ timeout: 30_000 });
    await expect(publisher.getByLabel("Kiểu của cột Mực nước (cm)").inputValue()).resolves.toBe("int8");
    await expect(publisher.getByLabel("Kiểu của cột Ngày").inputValue()).resolves.toBe("date");
    await publisher.getByLabel("Kiểu của cột Mực nước (cm)").selectOption("numeric");
    await publisher.screenshot({ path: path.join(RESULTS, "catalog-confirm-types.png"), fullPage: true });
    await publisher.getByRole("button", { name: "Xác nhận và nạp dữ liệu" }).click();
    await publisher.getByText("Đã nạp 60 dòng.").waitFor({ timeout: 60_000 });
    await publisher.getByRole("button", { name: "Đóng" }).click();
    await publisher.getByText(/60 dòng trong kho dữ liệu/).waitFor();
    await publisher.getByRole("button", { name: "Công bố" }).click();
    await publisher.getByText("Công khai").first().waitFor();
    await publisher.screenshot({ path: path.join(RESULTS, "catalog-workspace.png"), fullPage: true });
  });

  it("a citizen finds it without diacritics, filters by facet, and previews and downloads it", async () => {
    await citizen.goto(`${sen?.base}/app`);
    await citizen.getByRole("link", { name: /Dữ liệu mở/ }).click();
    await citizen.waitForURL((url) => url.pathname === "/app/catalog");
    await citizen.getByPlaceholder(/Tìm bộ dữ liệu/).fill("ngap lut dong thap");
    await citizen.getByRole("button", { name: "Tìm", exact: true }).click();
    await expect(citizen.getByTestId("catalog-count").textContent({ timeout: 15_000 })).resolves.toBe("1 bộ dữ liệu");
    await citizen.getByRole("button", { name: "Bộ lọc" }).click();
    await citizen.locator('[data-facet="res_format"]').getByText("CSV").click();
    await citizen.waitForURL((url) => url.searchParams.get("res_format") === "CSV");
    await expect(citizen.getByTestId("catalog-card").count()).resolves.toBe(1);
    await citizen.screenshot({ path: path.join(RESULTS, "catalog-portal-search.png"), fullPage: true });
    await citizen.getByRole("link", { name: "Mực nước sông Tiền – ngập lụt Đồng Tháp" }).click();
    const table = citizen.getByTestId("catalog-preview");
    await table.waitFor({ timeout: 15_000 });
    await expect(table.locator("tbody tr").count()).resolves.toBe(20);
    await expect(table.locator("tbody tr").first().textContent()).resolves.toContain("Tân Châu");
    await citizen.locator(".catalog-chart rect").first().waitFor();
    await expect(citizen.locator(".catalog-chart rect").count()).resolves.toBe(30);
    await citizen.getByTestId("catalog-map").locator("circle").first().waitFor({ timeout: 15_000 });
    await citizen.screenshot({ path: path.join(RESULTS, "catalog-portal-dataset.png"), fullPage: true });
    const xlsx = citizen.getByRole("link", { name: /XLSX/ });
    const href = await xlsx.getAttribute("href");
    const res = await fetch(`${sen?.base}${href}`);
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toMatch(/spreadsheetml/);
    const csv = await (await fetch(`${sen?.base}${await citizen.getByRole("link", { name: /CSV/ }).getAttribute("href")}`)).text();
    expect(csv.split("\r\n")[1]).toMatch(/^1,TC01,Tân Châu,2025-10-01,300,10\.8,105\.24$/);
    await citizen.getByText("Dùng qua API").click();
    await expect(citizen.locator(".catalog-api pre").first().textContent()).resolves.toContain("/api/3/action/datastore_search?resource_id=");
  });
  it("shows a publisher the load of a larger file moving, then its row count", async () => {
    const login = await fetch(`${sen?.base}/api/auth/login`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ username: "admin", password: PASSWORD }),
    });
    const { token } = (await login.json()) as { token: string };
    const created = await fetch(`${sen?.base}/api/3/action/package_create`, {
      method: "POST",
      headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
      body: JSON.stringify({ name: "quan-trac-lon", title: "Quan trắc mực nước (bảng lớn)", owner_org: "SNNMT" }),
    });
    expect(created.status).toBe(200);
    // About 8 MB: 120,000 rows with Vietnamese text, dates and coordinates.
    const rows = 120_000;
    const lines = ["Mã,Xã,Ngày,Mực nước (cm),lat,lon,Ghi chú"];
    for (let i = 1; i <= rows; i++)
      lines.push(
        `${i},"Phường Mỹ Phú, Cao Lãnh",2025-10-${String(1 + (i % 28)).padStart(2, "0")},${300 + (i % 150)},${(10.4 + (i % 100) / 1000).toFixed(4)},${(105.6 + (i % 100) / 1000).toFixed(4)},quan trắc định kỳ lần ${i}`,
      );
    await publisher.goto(`${sen?.base}/catalog/d/quan-trac-lon`);
    await publisher.getByRole("button", { name: "Thêm tệp dữ liệu" }).click();
    await publisher.getByLabel("Tên tài nguyên").fill("Mực nước từng giờ");
    await publisher.getByRole("button", { name: "Tiếp tục" }).click();
    await publisher.getByTestId("file-input").setInputFiles({ name: "muc-nuoc-lon.csv", mimeType: "text/csv", buffer: Buffer.from(`${lines.join("\n")}\n`) });
    await publisher.getByTestId("columns").waitFor({ timeout: 60_000 });
    await publisher.getByRole("button", { name: "Xác nhận và nạp dữ liệu" }).click();
    // The bar of the load: its value is read until the row count replaces it.
    const seen = new Set<number>();
    const done = publisher.getByText(/Đã nạp [\d.,\s]+ dòng\./);
    while (!(await done.isVisible())) {
      const now = await publisher
        .getByRole("progressbar")
        .getAttribute("aria-valuenow", { timeout: 1_000 })
        .catch(() => null);
      if (now !== null) seen.add(Number(now));
      await publisher.waitForTimeout(100);
    }
    expect((await done.textContent())?.replace(/\D/g, "")).toBe(String(rows));
    await publisher.screenshot({ path: path.join(RESULTS, "catalog-large-loaded.png") });
    // The bar leaves 0 and shows a share on its way to the row count. (The rows copy in a second or
    // two on a quiet machine, and the page polls every 250 ms, so how many shares it shows depends
    // on the machine; the server's own progress steps are counted in test/catalog/large.test.ts.)
    expect([...seen].filter((p) => p > 0 && p < 100).length, `progress values seen: ${[...seen].join(", ")}`).toBeGreaterThanOrEqual(1);
  });
});
