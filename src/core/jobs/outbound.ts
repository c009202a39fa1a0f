// Talking to the outside world from jobs: webhooks (signed JSON POSTs) and email (SMTP through
// nodemailer). Both throw on failure so the job queue retries; a 4xx other than 408/429 from a
// webhook is permanent (the receiver refuses this payload, retrying will not help).
import { createHmac } from "node:crypto";
import type { Transporter } from "nodemailer";
import { PermanentJobError } from "./queue.ts";

export interface WebhookTarget {
  url: string;
  /** HMAC-SHA256 key; the signature goes in X-Sen-Signature: sha256=<hex>. */
  secret?: string;
}

export interface WebhookResult {
  status: number;
  ms: number;
}

/** The signature a receiver recomputes over the raw body to trust a delivery. */
export function signBody(secret: string, body: string): string {
  return `sha256=${createHmac("sha256", secret).update(body).digest("hex")}`;
}

/**
 * POST `payload` as JSON. `deliveryId` is sent as X-Sen-Delivery (and Idempotency-Key) so the
 * receiver can drop a repeat after a crash-and-retry.
 */
export async function postWebhook(
  target: WebhookTarget,
  event: string,
  deliveryId: string,
  payload: unknown,
  opts: { timeoutMs?: number } = {},
): Promise<WebhookResult> {
  const body = JSON.stringify(payload);
  const headers: Record<string, string> = {
    "content-type": "application/json; charset=utf-8",
    "user-agent": "Sen-Webhook/1",
    "x-sen-event": event,
    "x-sen-delivery": deliveryId,
    "idempotency-key": deliveryId,
    "x-sen-timestamp": new Date().toISOString(),
  };
  if (target.secret) headers["x-sen-signature"] = signBody(target.secret, body);
  const t0 = performance.now();
  let res: Response;
  try {
    res = await fetch(target.url, { method: "POST", headers, body, redirect: "error", signal: AbortSignal.timeout(opts.timeoutMs ?? 10_000) });
  } catch (err) {
    throw new Error(`webhook ${target.url} unreachable: ${(err as Error).message}`);
  }
  // Read (and discard) the body so the connection goes back to the pool.
  await res.arrayBuffer().catch(() => undefined);
  const ms = Math.round(performance.now() - t0);
  if (res.ok) return { status: res.status, ms };
  const msg = `webhook ${target.url} answered ${res.status}`;
  if (res.status >= 400 && res.status < 500 && res.status !== 408 && res.status !== 429) throw new PermanentJobError(msg);
  throw new Error(msg);
}

export interface Mail {
  to: string;
  subject: string;
  text: string;
  html?: string;
}

export interface Mailer {
  /** False when SMTP_URL is not set: email channels are then reported as unavailable. */
  readonly configured: boolean;
  send(mail: Mail): Promise<{ messageId: string }>;
  close(): void;
}

/** An SMTP mailer from SMTP_URL (smtp://user:pass@host:port, smtps://…) and SMTP_FROM. */
export function createMailer(smtpUrl: string | undefined, from: string): Mailer {
  if (!smtpUrl)
    return {
      configured: false,
      async send() {
        throw new PermanentJobError("email is not configured (SMTP_URL is unset)");
      },
      close() {},
    };
  // nodemailer is loaded with the first mail, not with the server (about 15 MB).
  let transport: Promise<Transporter> | undefined;
  return {
    configured: true,
    async send(mail) {
      transport ??= import("nodemailer").then(({ default: nodemailer }) => nodemailer.createTransport(smtpUrl, { from }));
      const info = await (await transport).sendMail({ from, ...mail });
      return { messageId: String(info.messageId) };
    },
    close: () => void transport?.then((t) => t.close()),
  };
}
