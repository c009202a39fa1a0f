// Hostile input against report submission: oversized and fake photos, SVG with script, missing
// or foreign locations, markup in text, malformed bodies, privilege games, and 500 concurrent
// submitters with retries — clear errors where due, nothing half-written, nothing lost or doubled.
import sharp from "sharp";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type TestSen, auth, dbTargets, startSen } from "../helpers.ts";

const POINT = { lat: 10.46, lon: 105.63 };

/** A multipart body as a browser would send it: the JSON field and the files. */
async function multipart(field: string, json: unknown, files: Array<{ name: string; type: string; data: Buffer }>) {
  const fd = new FormData();
  fd.append(field, JSON.stringify(json));
  for (const f of files) fd.append("photo", new Blob([new Uint8Array(f.data)], { type: f.type }), f.name);
  const req = new Request("http://localhost/", { method: "POST", body: fd });
  return { payload: Buffer.from(await req.arrayBuffer()), headers: { "content-type": req.headers.get("content-type") as string } };
}

const jpegWithExif = () =>
  sharp({ create: { width: 1200, height: 800, channels: 3, background: { r: 200, g: 80, b: 40 } } })
    .jpeg()
    .withExif({ IFD0: { Make: "SecretPhoneMaker", Model: "Model-X-4242", Copyright: "Nguyen Van Dan" } })
    .toBuffer();

for (const target of dbTargets()) {
  describe(`hostile report input on ${target.name}`, () => {
    let sen: TestSen;
    let admin: string;
    beforeAll(async () => {
      sen = await startSen(target);
      admin = await sen.login();
    }, 120_000);
    afterAll(() => sen?.dispose());

    const report = (extra: Record<string, unknown> = {}) => ({ category: "MT02", description: "Rác thải đổ bừa bãi bên đường", ...POINT, ...extra });
    const post = (payload: unknown, headers: Record<string, string> = {}) =>
      sen.app.inject({ method: "POST", url: "/api/reports", headers, payload: payload as object });
    const unchanged = async (fn: () => Promise<void>) => {
      const [r, p, a] = [await sen.count("reports.reports"), await sen.count("reports.photos"), await sen.count("core.audit_log")];
      await fn();
      expect([await sen.count("reports.reports"), await sen.count("reports.photos")]).toEqual([r, p]);
      expect(await sen.count("core.audit_log")).toBeLessThanOrEqual(a + 1); // at most a denial entry
    };

    it("a real photo is accepted, re-encoded without its EXIF, with a thumbnail", async () => {
      const original = await jpegWithExif();
      expect(original.includes("SecretPhoneMaker")).toBe(true);
      const body = await multipart("report", report(), [{ name: "rac.jpg", type: "image/jpeg", data: original }]);
      const res = await sen.app.inject({ method: "POST", url: "/api/reports", ...body });
      expect(res.statusCode, res.body).toBe(201);
      const photo = res.json().report.photos[0];
      expect(photo).toMatchObject({ kind: "report", width: 1200, height: 800 });
      const full = await sen.app.inject({ url: photo.url });
      expect(full.statusCode).toBe(200);
      expect(full.headers["content-type"]).toBe("image/jpeg");
      expect(full.rawPayload.includes("SecretPhoneMaker")).toBe(false);
      expect(full.rawPayload.includes("Model-X-4242")).toBe(false);
      expect((await sharp(full.rawPayload).metadata()).exif).toBeUndefined();
      const thumb = await sen.app.inject({ url: photo.thumbUrl });
      const meta = await sharp(thumb.rawPayload).metadata();
      expect(Math.max(meta.width ?? 0, meta.height ?? 0)).toBeLessThanOrEqual(320);
    });

    it("a 30 MB photo is refused with 413 and nothing is stored", async () => {
      await unchanged(async () => {
        const big = Buffer.alloc(30 * 1024 * 1024, 0xff);
        big.set([0xff, 0xd8, 0xff, 0xe0], 0);
        const body = await multipart("report", report(), [{ name: "big.jpg", type: "image/jpeg", data: big }]);
        const res = await sen.app.inject({ method: "POST", url: "/api/reports", ...body });
        expect(res.statusCode).toBe(413);
        expect(res.json().detail).toMatch(/10 MB/);
      });
    });

    it("an executable renamed .jpg, an SVG with script, a GIF and a truncated JPEG are refused by content", async () => {
      const elf = Buffer.concat([Buffer.from([0x7f, 0x45, 0x4c, 0x46, 2, 1, 1, 0]), Buffer.alloc(4096, 0x90)]);
      const svg = Buffer.from(
        '<svg xmlns="http://www.w3.org/2000/svg" width="100" height="100"><script>alert(document.cookie)</script><rect width="100" height="100"/></svg>',
      );
      const gif = await sharp({ create: { width: 10, height: 10, channels: 3, background: "#000" } })
        .gif()
        .toBuffer();
      const truncated = (await jpegWithExif()).subarray(0, 400);
      for (const [name, data, why] of [
        ["setup.jpg", elf, /not an image/],
        ["cute.jpg", svg, /svg.*only JPEG, PNG and WebP/i],
        ["anim.gif", gif, /gif.*only JPEG, PNG and WebP/i],
        ["cut.jpg", truncated, /could not be read|not an image/],
      ] as const) {
        await unchanged(async () => {
          const body = await multipart("report", report(), [{ name, type: "image/jpeg", data }]);
          const res = await sen.app.inject({ method: "POST", url: "/api/reports", ...body });
          expect(res.statusCode, `${name}: ${res.body}`).toBe(400);
          expect(res.json().detail).toMatch(why);
        });
      }
    });

    it("six photos, unknown form fields and a broken JSON field are refused", async () => {
      const png = await sharp({ create: { width: 20, height: 20, channels: 4, background: "#0a0" } })
        .png()
        .toBuffer();
      await unchanged(async () => {
        const six = await multipart(
          "report",
          report(),
          Array.from({ length: 6 }, (_, i) => ({ name: `${i}.png`, type: "image/png", data: png })),
        );
        expect((await sen.app.inject({ method: "POST", url: "/api/reports", ...six })).statusCode).toBe(400);
        const stray = await multipart("evil", report(), []);
        expect((await sen.app.inject({ method: "POST", url: "/api/reports", ...stray })).statusCode).toBe(400);
        const fd = new FormData();
        fd.append("report", "{not json");
        const req = new Request("http://x/", { method: "POST", body: fd });
        const broken = await sen.app.inject({
          method: "POST",
          url: "/api/reports",
          payload: Buffer.from(await req.arrayBuffer()),
          headers: { "content-type": req.headers.get("content-type") as string },
        });
        expect(broken.statusCode).toBe(400);
        // Text no database can store, in the multipart JSON field: refused, not stored altered.
        for (const bad of [{ description: "a\u0000b" }, { description: "lũ \ud800" }, { "\udfffkey": 1 }]) {
          const res = await sen.app.inject({ method: "POST", url: "/api/reports", ...(await multipart("report", report(bad), [])) });
          expect(res.statusCode, JSON.stringify(bad)).toBe(400);
          expect(res.json().detail).toMatch(/NUL characters or lone surrogates/);
        }
      });
    });

    it("missing location, a point in Cambodia, half a position, bad types and unknown fields are clear 400s", async () => {
      await unchanged(async () => {
        const cases: Array<[unknown, RegExp]> = [
          [{ category: "MT02", description: "x" }, /location/],
          [report({ lat: 11.56, lon: 104.92 }), /outside the province/],
          [report({ lat: 21.03, lon: 105.85 }), /outside the province/],
          [report({ lon: null }), /both lat and long/],
          [report({ lat: "10.46" }), /lat/],
          [report({ lat: 95 }), /lat/],
          [report({ description: "" }), /description/],
          [report({ description: "x".repeat(4001) }), /description/],
          [report({ admin: true }), /admin|additional/i],
          [report({ category: "NOPE" }), /NOPE/],
          [report({ description: "a\u0000b" }), /NUL/],
          [report({ email: "not-an-email" }), /email/],
        ];
        for (const [payload, why] of cases) {
          const res = await post(payload);
          expect([400, 404], JSON.stringify(payload).slice(0, 80)).toContain(res.statusCode);
          expect(res.json().detail, JSON.stringify(payload).slice(0, 80)).toMatch(why);
        }
        expect(
          (await sen.app.inject({ method: "POST", url: "/api/reports", headers: { "content-type": "application/json" }, payload: "{bad json" })).statusCode,
        ).toBe(400);
        expect(
          (
            await sen.app.inject({
              method: "POST",
              url: "/api/reports",
              headers: { "content-type": "application/xml" },
              payload: "<!DOCTYPE x [<!ENTITY e SYSTEM 'file:///etc/passwd'>]><x>&e;</x>",
            })
          ).statusCode,
        ).toBe(415);
        expect(
          (
            await sen.app.inject({
              method: "POST",
              url: "/api/reports",
              headers: { "content-type": "application/json" },
              payload: JSON.stringify({ ...report(), description: "x".repeat(2_000_000) }),
            })
          ).statusCode,
        ).toBe(413);
      });
    });

    it("only staff may file for the hotline or name a commune; an operator files a hotline call by address", async () => {
      await unchanged(async () => {
        expect((await post(report({ channel: "hotline" }))).statusCode).toBe(403);
        expect((await post({ category: "MT02", description: "x", address: "Ấp 3", commune: "00001" })).statusCode).toBe(400);
      });
      const communes = await sen.services.geo.list({ parent: "82", limit: 1, offset: 0 });
      const res = await post(
        {
          category: "MT02",
          description: "Người dân gọi 1022: rác ùn ứ ở chợ",
          address: "Chợ xã, ấp 2",
          commune: communes[0].code,
          channel: "hotline",
          name: "Trần Thị B",
          phone: "0987654321",
        },
        auth(admin),
      );
      expect(res.statusCode, res.body).toBe(201);
      expect(res.json().report).toMatchObject({ channel: "hotline", commune: communes[0].code, agency: `UBND-${communes[0].code}`, lat: null });
      expect(JSON.stringify(res.json())).not.toContain("0987654321");
    });

    it("HTML and script in a description are stored as text, unchanged, and never become markup", async () => {
      const evil = `<img src=x onerror="alert(1)"><script>fetch('/api/users')</script>'; DROP TABLE reports.reports; --`;
      const res = await post(report({ description: evil }));
      expect(res.statusCode).toBe(201);
      const pub = await sen.app.inject({ url: `/api/reports/public/${res.json().report.id}` });
      expect(pub.headers["content-type"]).toMatch(/^application\/json/);
      expect(pub.json().description).toBe(evil);
      expect(await sen.count("reports.reports")).toBeGreaterThan(0);
    });

    it("500 concurrent submitters, with retries of the same idempotency key: none lost, none duplicated", async () => {
      const before = await sen.count("reports.reports");
      const n = 500;
      const tasks = Array.from({ length: n }, (_, i) => post(report({ description: `Phản ánh số ${i}` }), { "idempotency-key": `load-${i}` }));
      // A fifth of the clients retry at once (lost answer on a flaky phone connection).
      const retries = Array.from({ length: 100 }, (_, i) => post(report({ description: `Phản ánh số ${i * 5}` }), { "idempotency-key": `load-${i * 5}` }));
      const results = await Promise.all([...tasks, ...retries]);
      expect(results.every((r) => r.statusCode === 201 || r.statusCode === 200)).toBe(true);
      const ids = results.slice(0, n).map((r) => r.json().report.id as string);
      expect(new Set(ids).size).toBe(n);
      for (const [i, r] of results.slice(n).entries()) expect(r.json().report.id).toBe(ids[i * 5]);
      expect(await sen.count("reports.reports")).toBe(before + n);
      const rows = await sen.services.db.query<{ d: string }>("SELECT description AS d FROM reports.reports WHERE client_key LIKE 'api:load-%'");
      expect(new Set(rows.map((r) => r.d)).size).toBe(n);
    }, 180_000);
  });
}
