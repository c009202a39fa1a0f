// Browser test of field reports against the real server: a citizen files a report with a photo on a
// phone-sized screen (three steps: photo, place from GPS, category and description), an officer
// resolves it in the console, and the citizen sees it resolved.
import path from "node:path";
import type { Browser, BrowserContext, Page } from "playwright-core";
import sharp from "sharp";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type ConsoleServer, PASSWORD, RESULTS, launchBrowser, startConsoleServer } from "./support.ts";

describe("field reports in chromium", { timeout: 120_000 }, () => {
  let sen: ConsoleServer | undefined;
  let browser: Browser | undefined;
  let phone: BrowserContext;
  let citizen: Page;
  let officer: Page;
  let id = "";

  beforeAll(async () => {
    sen = await startConsoleServer("sen-browser-reports-");
    browser = await launchBrowser();
    phone = await browser.newContext({
      viewport: { width: 390, height: 844 },
      deviceScaleFactor: 2,
      isMobile: true,
      hasTouch: true,
      locale: "vi-VN",
      timezoneId: "Asia/Ho_Chi_Minh",
      geolocation: { latitude: 10.46, longitude: 105.63 },
      permissions: ["geolocation"],
    });
    citizen = await phone.newPage();
    const desk = await browser.newContext({ viewport: { width: 1440, height: 900 }, locale: "vi-VN", timezoneId: "Asia/Ho_Chi_Minh" });
    officer = await desk.newPage();
  }, 180_000);

  afterAll(async () => {
    await browser?.close().catch(() => {});
    await sen?.stop();
  }, 30_000);

  it("a citizen files a report with a photo on a phone in three steps", async () => {
    const photo = await sharp({ create: { width: 800, height: 600, channels: 3, background: { r: 30, g: 30, b: 40 } } })
      .jpeg()
      .toBuffer();
    await citizen.goto(`${sen?.base}/app`);
    await citizen.getByRole("link", { name: /Phản ánh hiện trường/ }).click();
    await citizen.getByTestId("report-new").click();
    // Step 1: the photo.
    await citizen.getByTestId("photo-input").setInputFiles({ name: "den-duong.jpg", mimeType: "image/jpeg", buffer: photo });
    await citizen.locator(".rp-photo img").waitFor();
    await citizen.screenshot({ path: path.join(RESULTS, "reports-phone-step1.png") });
    await citizen.getByTestId("report-next").click();
    // Step 2: the place, from the phone's position.
    await citizen.getByRole("button", { name: "Dùng vị trí của tôi" }).click();
    await expect(citizen.getByTestId("report-place").textContent({ timeout: 15_000 })).resolves.toMatch(/Tại (Phường|Xã) /);
    await citizen.getByTestId("report-next").click();
    // Step 3: category and description; markup stays text.
    await citizen.getByLabel("Lĩnh vực").selectOption("HT01");
    await citizen.getByLabel("Mô tả vấn đề").fill("Đèn đường trước số 12 không sáng 3 đêm nay <b>nguy hiểm</b>");
    await citizen.getByLabel("Thư điện tử").fill("dan@example.vn");
    await citizen.screenshot({ path: path.join(RESULTS, "reports-phone-step3.png"), fullPage: true });
    await citizen.getByTestId("report-send").click();
    const done = citizen.getByTestId("report-done");
    await done.waitFor({ timeout: 30_000 });
    id = /Phản ánh số (\d+)/.exec((await done.textContent()) ?? "")?.[1] ?? "";
    expect(id).toMatch(/^\d+$/);
    await citizen.screenshot({ path: path.join(RESULTS, "reports-phone-done.png") });
    await citizen.getByRole("link", { name: "Xem phản ánh" }).click();
    await expect(citizen.getByTestId("report-status").textContent()).resolves.toBe("Mới");
    await expect(citizen.locator(".rp-text").first().textContent()).resolves.toContain("<b>nguy hiểm</b>");
    await citizen.locator(".rp-photo img").waitFor();
  });

  it("an officer sees it in the console's queue and resolves it", async () => {
    await officer.goto(`${sen?.base}/login?next=${encodeURIComponent("/reports")}`);
    await officer.getByLabel("Tên đăng nhập").fill("admin");
    await officer.getByLabel("Mật khẩu", { exact: true }).fill(PASSWORD);
    await officer.getByLabel("Mật khẩu", { exact: true }).press("Enter");
    await officer.waitForURL((url) => url.pathname === "/reports");
    await officer.getByTestId(`report-row-${id}`).click();
    await officer.waitForURL((url) => url.pathname === `/reports/${id}`);
    await expect(officer.getByTestId("report-description").textContent()).resolves.toContain("<b>nguy hiểm</b>");
    await officer.locator(".report-photos img").waitFor();
    await officer.getByTestId("action-start").click();
    await officer.locator(".report-status-in_progress").first().waitFor();
    await officer.getByLabel("Ghi chú").fill("Đã thay bóng đèn LED mới");
    await officer.getByTestId("action-resolve").click();
    await officer.locator(".report-status-resolved").first().waitFor();
    await officer.screenshot({ path: path.join(RESULTS, "reports-console-resolved.png"), fullPage: true });
    // The statistics count it as received and resolved on time.
    await officer.getByRole("link", { name: "Thống kê phản ánh" }).click();
    const stats = officer.getByTestId("report-stats");
    await stats.waitFor();
    await expect(stats.locator("tbody tr").first().textContent()).resolves.toMatch(/Tổng\s*1\s*1\s*100/);
    await officer.screenshot({ path: path.join(RESULTS, "reports-console-stats.png") });
  });

  it("the citizen sees it resolved, with the officer's note, and rates it", async () => {
    await citizen.reload();
    await expect(citizen.getByTestId("report-status").textContent()).resolves.toBe("Đã xử lý");
    await expect(citizen.getByTestId("report-view").textContent()).resolves.toContain("Đã thay bóng đèn LED mới");
    await citizen.getByRole("button", { name: "4 sao" }).click();
    await citizen.getByText("Bạn đã đánh giá 4/5").waitFor();
    await citizen.screenshot({ path: path.join(RESULTS, "reports-phone-resolved.png"), fullPage: true });
    await citizen.goto(`${sen?.base}/app/reports/mine`);
    await expect(citizen.getByTestId("my-reports").textContent()).resolves.toContain(`#${id}`);
    await citizen.goto(`${sen?.base}/app/reports/map`);
    await citizen.getByTestId("reports-map").locator("circle").first().waitFor();
    await citizen.screenshot({ path: path.join(RESULTS, "reports-phone-map.png"), fullPage: true });
  });
});
