// Delivery to subscribers: web push (VAPID, encrypted), email (SMTP) and signed webhooks, chosen
// by commune and category; retries after a failure; a delivery log and progress per alert.
import { createECDH, randomBytes } from "node:crypto";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { SMTPServer } from "smtp-server";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { signBody } from "../../src/core/jobs/outbound.ts";
import { type TestSen, auth, dbTargets, startSen } from "../helpers.ts";
import { draftBody, post, user } from "./util.ts";

interface Hit {
  path: string;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
}

for (const target of dbTargets()) {
  describe(`alert delivery on ${target.name}`, () => {
    let sen: TestSen;
    let admin: string;
    let op1: { token: string; id: string };
    let op2: { token: string; id: string };
    let dan: { token: string; id: string };
    let lan: { token: string; id: string };
    let sink: http.Server;
    let smtp: SMTPServer;
    let base = "";
    const hits: Hit[] = [];
    const mails: string[] = [];
    let failNext = 0;

    beforeAll(async () => {
      sink = http.createServer((req, res) => {
        const chunks: Buffer[] = [];
        req.on("data", (c) => chunks.push(c));
        req.on("end", () => {
          if (failNext > 0 && req.url?.startsWith("/hook")) {
            failNext--;
            res.writeHead(503).end();
            return;
          }
          hits.push({ path: req.url ?? "", headers: req.headers, body: Buffer.concat(chunks) });
          res.writeHead(req.url?.startsWith("/push") ? 201 : 200).end();
        });
      });
      await new Promise<void>((r) => sink.listen(0, "127.0.0.1", r));
      base = `http://127.0.0.1:${(sink.address() as AddressInfo).port}`;
      smtp = new SMTPServer({
        authOptional: true,
        disabledCommands: ["STARTTLS", "AUTH"],
        onData(stream, _s, cb) {
          let s = "";
          stream.on("data", (c: Buffer) => (s += c.toString()));
          stream.on("end", () => {
            mails.push(s);
            cb();
          });
        },
      });
      await new Promise<void>((r) => smtp.listen(0, "127.0.0.1", r));
      process.env.SEN_ALERTS_HTTP_PUSH = "1";
      sen = await startSen(target, {
        SMTP_URL: `smtp://127.0.0.1:${(smtp.server.address() as AddressInfo).port}`,
        SMTP_FROM: "Sen <canhbao@dongthap.example>",
      });
      admin = await sen.login();
      op1 = await user(sen, admin, "d-op1", ["operator"], "TTCDS");
      op2 = await user(sen, admin, "d-op2", ["operator"], "TTCDS");
      dan = await user(sen, admin, "d-dan", ["citizen"], null);
      lan = await user(sen, admin, "d-lan", ["citizen"], null);
    });
    afterAll(async () => {
      await sen?.dispose();
      delete process.env.SEN_ALERTS_HTTP_PUSH;
      sink?.close();
      smtp?.close();
    });

    const browserKeys = () => {
      const ecdh = createECDH("prime256v1");
      ecdh.generateKeys();
      return { p256dh: ecdh.getPublicKey().toString("base64url"), auth: randomBytes(16).toString("base64url") };
    };

    async function publish(over: Record<string, unknown> = {}): Promise<string> {
      const d = await post(sen, op1.token, "/api/alerts", draftBody(over));
      expect(d.statusCode, d.body).toBe(201);
      expect((await post(sen, op1.token, `/api/alerts/${d.json().id}/submit`)).statusCode).toBe(200);
      const p = await post(sen, op2.token, `/api/alerts/${d.json().id}/approve`);
      expect(p.statusCode, p.body).toBe(200);
      return d.json().id;
    }

    it("delivers by push, email and webhook to those who asked for this commune and category", async () => {
      const key = (await sen.app.inject({ url: "/api/alerts/push-key" })).json().publicKey;
      expect(key).toMatch(/^[A-Za-z0-9_-]{80,}$/);
      // The key pair is made once and kept.
      expect((await sen.app.inject({ url: "/api/alerts/push-key" })).json().publicKey).toBe(key);

      const push = await post(sen, dan.token, "/api/alerts/subscriptions", {
        channel: "webpush",
        target: { endpoint: `${base}/push/dan`, keys: browserKeys() },
        communes: ["29971"],
      });
      expect(push.statusCode, push.body).toBe(201);
      const mail = await post(sen, dan.token, "/api/alerts/subscriptions", {
        channel: "email",
        target: { email: "dan@example.vn" },
        communes: ["29971"],
        categories: ["Health"],
        language: "en",
      });
      expect(mail.statusCode, mail.body).toBe(201);
      // Lan lives elsewhere, and another of Dan's subscriptions wants floods only.
      expect(
        (await post(sen, lan.token, "/api/alerts/subscriptions", { channel: "email", target: { email: "lan@example.vn" }, communes: ["28249"] })).statusCode,
      ).toBe(201);
      expect(
        (
          await post(sen, dan.token, "/api/alerts/subscriptions", {
            channel: "email",
            target: { email: "dan2@example.vn" },
            communes: ["29971"],
            categories: ["Met"],
          })
        ).statusCode,
      ).toBe(201);
      // Citizens cannot register webhooks; staff can.
      expect(
        (await post(sen, dan.token, "/api/alerts/subscriptions", { channel: "webhook", target: { url: `${base}/hook` }, communes: ["29971"] })).statusCode,
      ).toBe(400);
      const hook = await post(sen, admin, "/api/alerts/subscriptions", {
        name: "Zalo OA",
        channel: "webhook",
        target: { url: `${base}/hook/zalo`, secret: "s3cret" },
        communes: ["29983"],
      });
      expect(hook.statusCode, hook.body).toBe(201);
      expect(hook.json().target).toEqual({ url: `${base}/hook/zalo` });

      const id = await publish();
      await expect.poll(() => hits.length + mails.length, { timeout: 20_000 }).toBe(3);
      const p = hits.find((h) => h.path === "/push/dan") as Hit;
      expect(p.headers.authorization).toMatch(new RegExp(`^vapid t=[\\w.-]+, k=${key}$`));
      expect(p.headers["content-encoding"]).toBe("aes128gcm");
      expect(p.headers.urgency).toBe("normal");
      expect(p.body.length).toBeGreaterThan(50);
      const w = hits.find((h) => h.path === "/hook/zalo") as Hit;
      expect(w.headers["x-sen-delivery"]).toBe(`${id}:${hook.json().id}`);
      expect(w.headers["x-sen-signature"]).toBe(signBody("s3cret", w.body.toString()));
      const payload = JSON.parse(w.body.toString());
      expect(payload.alert).toMatchObject({ id, msgType: "Alert", severity: "Moderate", headline: "Cảnh báo sốt xuất huyết tăng" });
      expect(mails).toHaveLength(1);
      expect(mails[0]).toContain("To: dan@example.vn");
      expect(mails[0]).toContain("Dengue cases rising");

      // A receiver sees its call before the sender has recorded the answer: wait for the records.
      const deliveries = async () => (await sen.app.inject({ url: `/api/alerts/${id}/deliveries`, headers: auth(op1.token) })).json();
      await expect.poll(async () => (await deliveries()).pending, { timeout: 10_000 }).toBe(0);
      const progress = await deliveries();
      expect(progress).toMatchObject({ matched: 3, sent: 3, failed: 0, pending: 0, fanoutDone: true });
      expect(progress.byChannel).toEqual({ webpush: { sent: 1, failed: 0 }, email: { sent: 1, failed: 0 }, webhook: { sent: 1, failed: 0 } });
      expect((await sen.app.inject({ url: `/api/alerts/${id}/deliveries`, headers: auth(dan.token) })).statusCode).toBe(403);
    });

    it("retries a failed webhook and logs the attempts; exercises reach systems only", async () => {
      hits.length = 0;
      mails.length = 0;
      failNext = 1;
      const id = await publish({ area: { communes: ["29983"] }, status: "Exercise" });
      await expect.poll(() => hits.length, { timeout: 20_000 }).toBe(1);
      // As above: the receiver has its call before Sen has recorded the answer.
      const deliveries = async () => (await sen.app.inject({ url: `/api/alerts/${id}/deliveries`, headers: auth(op1.token) })).json();
      await expect.poll(async () => (await deliveries()).pending, { timeout: 10_000 }).toBe(0);
      const progress = await deliveries();
      expect(progress.recent[0]).toMatchObject({ channel: "webhook", status: "sent", attempts: 2 });
      expect(mails).toHaveLength(0);
    });

    it("a citizen lists and removes only their own subscriptions", async () => {
      const mine = (await sen.app.inject({ url: "/api/alerts/subscriptions", headers: auth(dan.token) })).json();
      expect(mine).toHaveLength(3);
      expect(mine.find((s: { channel: string }) => s.channel === "webpush").target.endpoint).not.toContain("/push/dan");
      const lans = (await sen.app.inject({ url: "/api/alerts/subscriptions", headers: auth(lan.token) })).json();
      expect((await sen.app.inject({ method: "DELETE", url: `/api/alerts/subscriptions/${lans[0].id}`, headers: auth(dan.token) })).statusCode).toBe(404);
      expect((await sen.app.inject({ method: "DELETE", url: `/api/alerts/subscriptions/${mine[0].id}`, headers: auth(dan.token) })).statusCode).toBe(204);
      expect((await sen.app.inject({ url: "/api/alerts/subscriptions", headers: auth(dan.token) })).json()).toHaveLength(2);
      expect((await sen.app.inject({ url: "/api/alerts/subscriptions" })).statusCode).toBe(401);
      // Bad targets are refused.
      for (const bad of [
        { channel: "email", target: { email: "not-an-email" }, communes: ["29971"] },
        { channel: "webpush", target: { endpoint: "ftp://x", keys: browserKeys() }, communes: ["29971"] },
        { channel: "email", target: { email: "a@b.vn" }, communes: [] },
        { channel: "email", target: { email: "a@b.vn" }, communes: ["00001"] },
        { channel: "email", target: { email: "a@b.vn" }, lat: 21.0, lon: 105.8 },
      ])
        expect((await post(sen, dan.token, "/api/alerts/subscriptions", bad)).statusCode, JSON.stringify(bad)).toBe(400);
    });
  });
}
