// The life of a report on a real database: routed to the commune's (or department's) agency, live
// in its queue, overdue when the deadline passes (escalated to the supervising agency), every
// status change reaching the citizen by email and through the gateways, the citizen's reopening
// and rating, duplicates and re-routing, statistics, and who sees what.
import http from "node:http";
import type { AddressInfo } from "node:net";
import sharp from "sharp";
import { SMTPServer } from "smtp-server";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SYSTEM, runWithContext } from "../../src/core/context.ts";
import type { SenEvent } from "../../src/core/events/bus.ts";
import { type TestSen, auth, dbTargets, startSen } from "../helpers.ts";

const POINT = { lat: 10.46, lon: 105.63 };
const HOUR = 3600_000;

interface Mail {
  to: string;
  body: string;
}

function readSse(url: string, headers: Record<string, string>, until: (events: SenEvent[]) => boolean, timeoutMs = 15_000) {
  return new Promise<SenEvent[]>((resolve, reject) => {
    const req = http.get(url, { headers }, (res) => {
      let raw = "";
      const events: SenEvent[] = [];
      const timer = setTimeout(() => {
        req.destroy();
        resolve(events);
      }, timeoutMs);
      res.setEncoding("utf8");
      res.on("data", (chunk: string) => {
        raw += chunk;
        events.length = 0;
        for (const block of raw.split("\n\n")) {
          const data = block.split("\n").find((l) => l.startsWith("data: "));
          if (data && block.includes("id: ")) events.push(JSON.parse(data.slice(6)));
        }
        if (until(events)) {
          clearTimeout(timer);
          req.destroy();
          resolve(events);
        }
      });
    });
    req.on("error", (err) => (err.message.includes("aborted") || err.message.includes("socket hang up") ? undefined : reject(err)));
  });
}

for (const target of dbTargets()) {
  describe(`report workflow on ${target.name}`, () => {
    let sen: TestSen;
    let base: string;
    let commune: string;
    let officer: string;
    let sytOfficer: string;
    let sxdOfficer: string;
    let supervisor: string;
    let admin: string;
    const mails: Mail[] = [];
    const hooks: Array<{ headers: http.IncomingHttpHeaders; body: { event: string; report: { id: string; status: string }; recipient: { phone: string } } }> =
      [];
    let smtp: SMTPServer;
    let hookServer: http.Server;

    beforeAll(async () => {
      smtp = new SMTPServer({
        authOptional: true,
        disabledCommands: ["STARTTLS"],
        onData(stream, session, cb) {
          let body = "";
          stream.on("data", (c: Buffer) => {
            body += c.toString("utf8");
          });
          stream.on("end", () => {
            for (const r of session.envelope.rcptTo) mails.push({ to: r.address, body });
            cb();
          });
        },
      });
      await new Promise<void>((r) => smtp.listen(0, "127.0.0.1", () => r()));
      const smtpPort = (smtp.server.address() as AddressInfo).port;
      hookServer = http.createServer((req, res) => {
        let body = "";
        req.on("data", (c) => {
          body += c;
        });
        req.on("end", () => {
          hooks.push({ headers: req.headers, body: JSON.parse(body) });
          res.end("ok");
        });
      });
      await new Promise<void>((r) => hookServer.listen(0, "127.0.0.1", () => r()));

      sen = await startSen(target, { SMTP_URL: `smtp://127.0.0.1:${smtpPort}`, SMTP_FROM: "Sen <sen@dongthap.gov.vn>" }, { heartbeatMs: 500 });
      await sen.app.listen({ port: 0, host: "127.0.0.1" });
      base = `http://127.0.0.1:${(sen.app.server.address() as AddressInfo).port}`;
      commune = sen.services.geo.locate(POINT.lat, POINT.lon)?.code as string;
      admin = await sen.login();
      await runWithContext({ actor: SYSTEM }, async () => {
        const a = sen.services.accounts;
        await a.createUser({
          username: "xa",
          displayName: "Cán bộ xã",
          password: "password-123",
          roles: ["agency_officer"],
          agency: `UBND-${commune}`,
          email: "xa@dongthap.gov.vn",
        });
        await a.createUser({ username: "syt", displayName: "Cán bộ Sở Y tế", password: "password-123", roles: ["agency_officer"], agency: "SYT" });
        await a.createUser({ username: "sxd", displayName: "Cán bộ Sở Xây dựng", password: "password-123", roles: ["agency_officer"], agency: "SXD" });
        await a.createUser({ username: "tinh", displayName: "Văn phòng UBND tỉnh", password: "password-123", roles: ["agency_officer"], agency: "UBND-82" });
      });
      officer = await sen.login("xa", "password-123");
      sytOfficer = await sen.login("syt", "password-123");
      sxdOfficer = await sen.login("sxd", "password-123");
      supervisor = await sen.login("tinh", "password-123");
      const hook = await sen.app.inject({
        method: "POST",
        url: "/api/reports/webhooks",
        headers: auth(admin),
        payload: { name: "Zalo OA", url: `http://127.0.0.1:${(hookServer.address() as AddressInfo).port}/zalo`, secret: "s3cret" },
      });
      expect(hook.statusCode).toBe(201);
    }, 120_000);
    afterAll(async () => {
      await sen?.dispose();
      await new Promise((r) => smtp?.close(() => r(undefined)));
      hookServer?.close();
    });

    const submit = (payload: Record<string, unknown>, headers: Record<string, string> = {}) =>
      sen.app.inject({
        method: "POST",
        url: "/api/reports",
        headers,
        payload: { category: "HT01", description: "Đèn đường hỏng cả tuần nay", ...POINT, ...payload },
      });
    const act = (token: string, id: string, payload: Record<string, unknown>) =>
      sen.app.inject({ method: "POST", url: `/api/reports/${id}/actions`, headers: auth(token), payload });
    const queueOf = async (token: string, q = "") => (await sen.app.inject({ url: `/api/reports?${q}`, headers: auth(token) })).json() as Array<{ id: string }>;

    let id: string;
    let trackingKey: string;

    it("a report at a point in a commune goes to that commune's committee and appears live in its queue", async () => {
      const live = readSse(`${base}/api/events?topics=report.*`, auth(officer), (ev) => ev.some((e) => e.topic === "report.created"));
      const sytLive = readSse(`${base}/api/events?topics=report.created`, auth(sytOfficer), (ev) => ev.length > 0, 3000);
      await new Promise((r) => setTimeout(r, 300));
      const res = await submit({ email: "dan@example.vn", phone: "0912345678", name: "Nguyễn Văn Dân", channel: "app" });
      expect(res.statusCode).toBe(201);
      const body = res.json();
      id = body.report.id;
      trackingKey = body.trackingKey;
      expect(body.report).toMatchObject({ status: "new", agency: `UBND-${commune}`, commune, category: "HT01" });
      expect(body.report.reporter).toBeUndefined();
      expect(JSON.stringify(body)).not.toContain("0912345678");
      expect(new Date(body.report.deadlineAt).getTime() - new Date(body.report.requestedAt).getTime()).toBeCloseTo(72 * HOUR, -4);

      const events = await live;
      const created = events.find((e) => e.topic === "report.created");
      expect(created?.payload).toMatchObject({ id, agency: `UBND-${commune}`, status: "new" });
      expect(JSON.stringify(created)).not.toMatch(/0912345678|dan@example|Dân/);
      expect((await sytLive).filter((e) => (e.payload as { id: string }).id === id)).toEqual([]);

      expect((await queueOf(officer)).map((r) => r.id)).toContain(id);
      expect((await queueOf(sytOfficer)).map((r) => r.id)).not.toContain(id);
      expect((await sen.app.inject({ url: `/api/reports/${id}`, headers: auth(sytOfficer) })).statusCode).toBe(404);
      // The province's committee supervises the communes' committees: it sees their reports.
      expect((await queueOf(supervisor)).map((r) => r.id)).toContain(id);
      const detail = (await sen.app.inject({ url: `/api/reports/${id}`, headers: auth(officer) })).json();
      expect(detail.reporter).toMatchObject({ phone: "0912345678", email: "dan@example.vn" });
      expect(detail.supervisor).toBe("UBND-82");

      // The citizen and the commune's officer are told by email; the gateway gets the citizen's phone.
      await expect.poll(() => mails.map((m) => m.to), { timeout: 15_000 }).toEqual(expect.arrayContaining(["dan@example.vn", "xa@dongthap.gov.vn"]));
      await expect.poll(() => hooks.filter((h) => h.body.report.id === id).length, { timeout: 15_000 }).toBe(1);
      const hook = hooks.find((h) => h.body.report.id === id);
      expect(hook?.body.recipient.phone).toBe("0912345678");
      expect(hook?.headers["x-sen-signature"]).toMatch(/^sha256=[0-9a-f]{64}$/);
    });

    it("a province-level category goes to its department", async () => {
      const res = await submit({ category: "YT02", description: "Nhiều muỗi, có ca sốt xuất huyết" });
      expect(res.json().report.agency).toBe("SYT");
      expect((await queueOf(sytOfficer)).map((r) => r.id)).toContain(res.json().report.id);
    });

    it("each status change reaches the citizen (email, gateway, in-app event) and lands in the timeline and the audit trail", async () => {
      const citizenLive = readSse(
        `${base}/api/events?topics=report.updated`,
        auth(admin),
        (ev) => ev.filter((e) => (e.payload as { id: string }).id === id).length >= 3,
      );
      await new Promise((r) => setTimeout(r, 300));
      expect((await act(officer, id, { action: "accept" })).json().status).toBe("assigned");
      expect((await act(officer, id, { action: "start", note: "Đã cử đội điện lực xuống kiểm tra" })).json().status).toBe("in_progress");
      expect((await act(officer, id, { action: "note", note: "Cần thay bóng đèn LED 100W", public: false })).statusCode).toBe(200);
      const resolveWithout = await act(officer, id, { action: "resolve" });
      expect(resolveWithout.statusCode).toBe(400);
      const resolved = await act(officer, id, { action: "resolve", note: "Đã thay bóng đèn mới" });
      expect(resolved.json()).toMatchObject({ status: "resolved", statusNotes: "Đã thay bóng đèn mới" });
      expect((await act(officer, id, { action: "start" })).statusCode).toBe(409);

      const statuses = (await citizenLive).filter((e) => (e.payload as { id: string }).id === id).map((e) => (e.payload as { status: string }).status);
      expect(statuses).toEqual(expect.arrayContaining(["assigned", "in_progress", "resolved"]));
      await expect
        .poll(() => mails.filter((m) => m.to === "dan@example.vn").map((m) => m.body.match(/Subject: .*/)?.[0] ?? ""), { timeout: 15_000 })
        .toHaveLength(4);
      const subjects = mails.filter((m) => m.to === "dan@example.vn").map((m) => m.body);
      expect(subjects.some((b) => b.includes(`#${id}`))).toBe(true);
      await expect
        .poll(() => hooks.filter((h) => h.body.report.id === id).map((h) => h.body.report.status), { timeout: 15_000 })
        .toEqual(["new", "assigned", "in_progress", "resolved"]);

      const pub = (await sen.app.inject({ url: `/api/reports/public/${id}` })).json();
      expect(pub.updates.map((u: { status: string | null }) => u.status)).toEqual(["new", "assigned", "in_progress", "resolved"]);
      expect(JSON.stringify(pub)).not.toContain("LED 100W");
      expect(JSON.stringify(pub)).not.toContain("0912345678");
      const staff = (await sen.app.inject({ url: `/api/reports/${id}`, headers: auth(officer) })).json();
      expect(staff.updates.some((u: { note: string }) => u.note === "Cần thay bóng đèn LED 100W")).toBe(true);

      const audit = await sen.services.db.query<{ action: string }>(
        "SELECT action FROM core.audit_log WHERE target_type = 'report' AND target_id = $1 ORDER BY id",
        [id],
      );
      expect(audit.map((a) => a.action)).toEqual(["report.created", "report.accept", "report.start", "report.note", "report.resolve"]);
    });

    it("the citizen reopens with the tracking key (a wrong key is refused), then rates the fix", async () => {
      const wrong = await sen.app.inject({ method: "POST", url: `/api/reports/${id}/reopen`, payload: { note: "Vẫn chưa sáng", key: "wrong-key" } });
      expect(wrong.statusCode).toBe(403);
      const reopened = await sen.app.inject({
        method: "POST",
        url: `/api/reports/${id}/reopen`,
        payload: { note: "Đèn lại tắt sau một ngày", key: trackingKey },
      });
      expect(reopened.statusCode).toBe(200);
      expect(reopened.json().status).toBe("reopened");
      expect((await sen.app.inject({ method: "POST", url: `/api/reports/${id}/rate`, payload: { rating: 2, key: trackingKey } })).statusCode).toBe(409);
      expect((await act(officer, id, { action: "resolve", note: "Đã thay cả bộ đèn" })).json().status).toBe("resolved");
      const rated = await sen.app.inject({ method: "POST", url: `/api/reports/${id}/rate`, payload: { rating: 4, comment: "Cảm ơn", key: trackingKey } });
      expect(rated.statusCode).toBe(200);
      expect(rated.json().rating).toBe(4);
      expect((await sen.app.inject({ method: "POST", url: `/api/reports/${id}/rate`, payload: { rating: 5, key: trackingKey } })).statusCode).toBe(409);
      const mine = (
        await sen.app.inject({
          method: "POST",
          url: "/api/reports/lookup",
          payload: {
            items: [
              { id, key: trackingKey },
              { id, key: "nope" },
            ],
          },
        })
      ).json();
      expect(mine.map((r: { id: string }) => r.id)).toEqual([id]);
    });

    it("goes overdue when the deadline passes, once, escalated to the supervising agency; resolved reports close after 7 days", async () => {
      const other = (await submit({ description: "Đèn đường chập chờn" })).json().report.id as string;
      const live = readSse(`${base}/api/events?topics=report.overdue`, auth(supervisor), (ev) => ev.some((e) => (e.payload as { id: string }).id === other));
      await new Promise((r) => setTimeout(r, 300));
      const later = new Date(Date.now() + 73 * HOUR);
      // Two nodes running the check at the same moment flag the report once.
      const [a, b] = await Promise.all([sen.services.reports.checkDeadlines(later), sen.services.reports.checkDeadlines(later)]);
      expect(a.overdue + b.overdue).toBeGreaterThanOrEqual(1);
      const rows = await sen.services.db.query<{ kind: string }>("SELECT kind FROM reports.updates WHERE report_id = $1 AND kind = 'overdue'", [other]);
      expect(rows).toHaveLength(1);
      expect((await sen.services.reports.checkDeadlines(later)).overdue).toBe(0);
      const ev = (await live).find((e) => (e.payload as { id: string }).id === other);
      expect(ev?.payload).toMatchObject({ overdue: true, agency: `UBND-${commune}`, supervisor: "UBND-82" });
      expect((await queueOf(officer, "overdue=true")).map((r) => r.id)).toContain(other);
      // The officer had the new-report email; now the overdue one.
      await expect.poll(() => mails.filter((m) => m.to === "xa@dongthap.gov.vn" && m.body.includes(`#${other}`)).length, { timeout: 15_000 }).toBe(2);

      const closed = await sen.services.reports.checkDeadlines(new Date(Date.now() + 8 * 24 * HOUR));
      expect(closed.closed).toBeGreaterThanOrEqual(1);
      expect((await sen.app.inject({ url: `/api/reports/public/${id}` })).json().status).toBe("closed");
      const reopenLate = await sen.app.inject({ method: "POST", url: `/api/reports/${id}/reopen`, payload: { note: "x", key: trackingKey } });
      expect(reopenLate.statusCode).toBe(409);
    });

    it("not our responsibility: re-routed to another agency, which sees it live; duplicates are linked", async () => {
      const r = (await submit({ description: "Ổ gà lớn giữa đường" })).json().report.id as string;
      const live = readSse(`${base}/api/events?topics=report.created`, auth(sxdOfficer), (ev) => ev.some((e) => (e.payload as { id: string }).id === r));
      await new Promise((res) => setTimeout(res, 300));
      const moved = await act(officer, r, { action: "reroute", agency: "SXD", note: "Đường tỉnh do Sở Xây dựng quản lý" });
      expect(moved.statusCode).toBe(200);
      expect(moved.json()).toMatchObject({ agency: "SXD", status: "new" });
      expect((await live).some((e) => (e.payload as { id: string }).id === r)).toBe(true);
      expect((await queueOf(sxdOfficer)).map((x) => x.id)).toContain(r);
      expect((await sen.app.inject({ url: `/api/reports/${r}`, headers: auth(officer) })).statusCode).toBe(404);

      const dup = (await submit({ description: "Đèn đường không sáng" })).json().report.id as string;
      expect((await act(officer, dup, { action: "duplicate" })).statusCode).toBe(400);
      const linked = await act(officer, dup, { action: "duplicate", duplicateOf: id, note: "Trùng phản ánh đã xử lý" });
      expect(linked.json()).toMatchObject({ status: "duplicate", duplicateOf: id });
      expect((await act(sytOfficer, dup, { action: "close" })).statusCode).toBe(404);
    });

    it("before filing, nearby open reports of the same category show, and the citizen can follow one", async () => {
      const target = (await submit({ description: "Đèn hỏng gần chợ", lat: 10.4601, lon: 105.6301 })).json().report.id as string;
      const near = await sen.app.inject({ url: "/api/reports/nearby?category=HT01&lat=10.4605&lon=105.6305" });
      expect(near.statusCode).toBe(200);
      const list = near.json() as Array<{ id: string; distance: number; reporter?: unknown }>;
      expect(list.map((x) => x.id)).toContain(target);
      expect(list.every((x) => x.distance <= 200 && x.reporter === undefined)).toBe(true);
      expect((await sen.app.inject({ url: "/api/reports/nearby?category=HT01&lat=10.47&lon=105.64" })).json().map((x: { id: string }) => x.id)).not.toContain(
        target,
      );
      expect((await sen.app.inject({ url: "/api/reports/nearby?category=MT02&lat=10.4605&lon=105.6305" })).json()).toEqual([]);
      const f = await sen.app.inject({ method: "POST", url: `/api/reports/${target}/follow`, payload: { email: "hangxom@example.vn" } });
      expect(f.json()).toEqual({ followers: 1, added: true });
      expect((await sen.app.inject({ method: "POST", url: `/api/reports/${target}/follow`, payload: { email: "hangxom@example.vn" } })).json().added).toBe(
        false,
      );
      await act(officer, target, { action: "start" });
      await expect.poll(() => mails.some((m) => m.to === "hangxom@example.vn"), { timeout: 15_000 }).toBe(true);
    });

    it("admins configure categories (with questions) and routing exceptions; officers attach photos of the fix", async () => {
      const cat = await sen.app.inject({
        method: "PUT",
        url: "/api/reports/categories/XD09",
        headers: auth(admin),
        payload: {
          group: "infrastructure",
          name: "Cống thoát nước hư",
          nameEn: "Broken drain",
          level: "province",
          agency: "SXD",
          deadlineHours: 36,
          attributes: [
            {
              code: "kind",
              datatype: "multivaluelist",
              required: true,
              description: "Hư hỏng gì?",
              order: 1,
              values: [
                { key: "lid", name: "Mất nắp" },
                { key: "clog", name: "Tắc" },
              ],
            },
          ],
        },
      });
      expect(cat.statusCode, cat.body).toBe(200);
      expect((await sen.app.inject({ method: "PUT", url: "/api/reports/categories/XD10", headers: auth(officer), payload: {} })).statusCode).toBe(403);
      const services = (await sen.app.inject({ url: "/open311/v2/services.json" })).json() as Array<{ service_code: string; metadata: boolean }>;
      expect(services.find((x) => x.service_code === "XD09")?.metadata).toBe(true);
      const r = await submit({ category: "XD09", description: "Nắp cống bị mất", attributes: { kind: ["lid", "clog"] } });
      expect(r.json().report).toMatchObject({ agency: "SXD", attributes: { kind: ["lid", "clog"] } });
      expect((await submit({ category: "XD09", description: "x", attributes: { kind: ["gold"] } })).statusCode).toBe(400);

      const routed = await sen.app.inject({
        method: "PUT",
        url: "/api/reports/routes",
        headers: auth(admin),
        payload: { category: "HT01", commune, agency: "SXD" },
      });
      expect(routed.statusCode).toBe(204);
      expect((await submit({ description: "Đèn đường khu công nghiệp" })).json().report.agency).toBe("SXD");
      await sen.app.inject({ method: "PUT", url: "/api/reports/routes", headers: auth(admin), payload: { category: "HT01", commune, agency: null } });
      const back = (await submit({ description: "Đèn hẻm 5" })).json().report;
      expect(back.agency).toBe(`UBND-${commune}`);

      const png = await sharp({ create: { width: 64, height: 48, channels: 3, background: "#3a6" } })
        .png()
        .toBuffer();
      const fd = new FormData();
      fd.append("action", JSON.stringify({ action: "resolve", note: "Đã thay bóng, ảnh kèm theo" }));
      fd.append("photo", new Blob([new Uint8Array(png)], { type: "image/png" }), "sau.png");
      const req = new Request("http://x/", { method: "POST", body: fd });
      const res = await sen.app.inject({
        method: "POST",
        url: `/api/reports/${back.id}/actions`,
        headers: { ...auth(officer), "content-type": req.headers.get("content-type") as string },
        payload: Buffer.from(await req.arrayBuffer()),
      });
      expect(res.statusCode, res.body).toBe(200);
      expect(res.json().status).toBe("resolved");
      expect(res.json().photos.map((p: { kind: string }) => p.kind)).toEqual(["fix"]);
      const pub = (await sen.app.inject({ url: `/api/reports/public/${back.id}` })).json();
      expect(pub.photos).toHaveLength(1);
    });

    it("statistics by agency, commune, category and period", async () => {
      const res = await sen.app.inject({ url: "/api/reports/statistics?by=agency", headers: auth(officer) });
      expect(res.statusCode).toBe(200);
      const s = res.json();
      const mine = s.rows.find((r: { key: string }) => r.key === `UBND-${commune}`);
      expect(mine.received).toBeGreaterThanOrEqual(4);
      expect(mine.resolved).toBe(2);
      expect(mine.onTime).toBe(2);
      expect(mine.onTimeShare).toBe(1);
      expect(mine.satisfaction).toBe(4);
      expect(mine.medianHandlingHours).toBeGreaterThanOrEqual(0);
      expect(s.total.received).toBeGreaterThanOrEqual(mine.received);
      const year = new Date(Date.now() + 7 * HOUR).getUTCFullYear();
      const byPeriod = await sen.services.reports.statistics({ period: String(year), by: "category" });
      expect(byPeriod.rows.find((r) => r.key === "HT01")?.received).toBeGreaterThanOrEqual(4);
      const old = await sen.services.reports.statistics({ period: "2020Q1", commune });
      expect(old.total.received).toBe(0);
      expect((await sen.app.inject({ url: "/api/reports/statistics?period=2025Q5", headers: auth(officer) })).statusCode).toBe(400);
      expect((await sen.app.inject({ url: "/api/reports/statistics" })).statusCode).toBe(401);
    });
  });
}
