// Parsing and checking what devices send, in ThingsBoard's device-API shapes:
//   {"k": v, …}   {"ts": ms, "values": {…}}   [ either of those, … ]
// A message is accepted or rejected whole, with a reason a person can act on.
import { storableJson, storableText } from "../core/text.ts";
import type { KeySpec, TelemetryPoint, TelemetryValue } from "./types.ts";

export const LIMITS = {
  /** Bytes of one message. */
  maxBytes: 64 * 1024,
  /** Nesting of a JSON value. */
  maxDepth: 8,
  maxPointsPerMessage: 1000,
  maxKeyLength: 64,
  maxStringLength: 4096,
  /** How far back and ahead of the server's clock a timestamp may lie. */
  maxAgeMs: 365 * 86_400_000,
  maxSkewMs: 10 * 60_000,
};

export class PayloadError extends Error {}

const KEY = /^[A-Za-z][A-Za-z0-9_.-]*$/;

/** Depth of a JSON value without recursion (a 100,000-deep array must not blow the stack). */
export function jsonDepth(v: unknown, limit: number): number {
  let max = 0;
  const stack: Array<[unknown, number]> = [[v, 1]];
  while (stack.length) {
    const [x, d] = stack.pop() as [unknown, number];
    if (x === null || typeof x !== "object") continue;
    if (d > max) max = d;
    if (max > limit) return max;
    for (const c of Array.isArray(x) ? x : Object.values(x)) if (c !== null && typeof c === "object") stack.push([c, d + 1]);
  }
  return max;
}

/** Parse the bytes of a message as JSON within the size and depth limits. */
export function parseJson(raw: Buffer | string): unknown {
  const size = typeof raw === "string" ? Buffer.byteLength(raw) : raw.length;
  if (size === 0) throw new PayloadError("empty payload");
  if (size > LIMITS.maxBytes) throw new PayloadError(`payload of ${size} bytes is over the limit of ${LIMITS.maxBytes}`);
  const text = typeof raw === "string" ? raw : raw.toString("utf8");
  // Reject absurd nesting before JSON.parse builds it.
  let depth = 0;
  let peak = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x5b || c === 0x7b) {
      if (++depth > peak) peak = depth;
    } else if (c === 0x5d || c === 0x7d) depth--;
    else if (c === 0x22) {
      // skip strings, so brackets inside them do not count
      for (i++; i < text.length && text.charCodeAt(i) !== 0x22; i++) if (text.charCodeAt(i) === 0x5c) i++;
    }
  }
  if (peak > LIMITS.maxDepth + 2) throw new PayloadError(`JSON nested ${peak} levels deep; the limit is ${LIMITS.maxDepth + 2}`);
  try {
    return JSON.parse(text);
  } catch {
    throw new PayloadError("payload is not valid JSON");
  }
}

const UNSTORABLE = "text contains a NUL character or a lone surrogate (not valid Unicode)";

function checkValue(key: string, v: unknown): TelemetryValue {
  if (typeof v === "number") {
    if (!Number.isFinite(v)) throw new PayloadError(`${key}: numbers must be finite`);
    return v;
  }
  if (typeof v === "string") {
    if (v.length > LIMITS.maxStringLength) throw new PayloadError(`${key}: text longer than ${LIMITS.maxStringLength} characters`);
    if (!storableText(v)) throw new PayloadError(`${key}: ${UNSTORABLE}`);
    return v;
  }
  if (typeof v === "boolean") return v;
  if (v !== null && typeof v === "object") {
    if (jsonDepth(v, LIMITS.maxDepth) > LIMITS.maxDepth) throw new PayloadError(`${key}: JSON value nested deeper than ${LIMITS.maxDepth}`);
    if (!storableJson(v)) throw new PayloadError(`${key}: ${UNSTORABLE}`);
    return v as TelemetryValue;
  }
  throw new PayloadError(`${key}: null is not a value`);
}

/**
 * Telemetry points of a message, checked against the device profile's keys: numbers outside a
 * key's range are kept but flagged; a non-number for a numeric key rejects the message.
 */
export function telemetryPoints(body: unknown, now: number, keys: Record<string, KeySpec> = {}): TelemetryPoint[] {
  const entries = Array.isArray(body) ? body : [body];
  if (entries.length === 0) throw new PayloadError("empty array");
  const points: TelemetryPoint[] = [];
  for (const entry of entries) {
    if (entry === null || typeof entry !== "object" || Array.isArray(entry)) throw new PayloadError("each entry must be a JSON object");
    const e = entry as Record<string, unknown>;
    let ts = now;
    let values = e;
    if ("values" in e && "ts" in e) {
      if (typeof e.ts !== "number" || !Number.isInteger(e.ts)) throw new PayloadError("ts must be an integer number of milliseconds since 1970");
      if (e.values === null || typeof e.values !== "object" || Array.isArray(e.values)) throw new PayloadError("values must be a JSON object");
      ts = e.ts;
      values = e.values as Record<string, unknown>;
      if (ts < now - LIMITS.maxAgeMs || ts > now + LIMITS.maxSkewMs)
        throw new PayloadError(`ts ${ts} (${new Date(ts).toISOString()}) is outside the accepted window (up to a year old, at most 10 minutes ahead)`);
    }
    for (const [key, raw] of Object.entries(values)) {
      if (key.length > LIMITS.maxKeyLength || !KEY.test(key))
        throw new PayloadError(`key "${key.slice(0, 80)}" is not a valid name (letters, digits, _ . -; up to ${LIMITS.maxKeyLength})`);
      const value = checkValue(key, raw);
      const spec = keys[key];
      let outOfRange = false;
      if (spec && (spec.min !== undefined || spec.max !== undefined)) {
        if (typeof value !== "number") throw new PayloadError(`${key} must be a number${spec.unit ? ` in ${spec.unit}` : ""}`);
        outOfRange = (spec.min !== undefined && value < spec.min) || (spec.max !== undefined && value > spec.max);
      }
      points.push({ key, ts, value, outOfRange });
      if (points.length > LIMITS.maxPointsPerMessage) throw new PayloadError(`more than ${LIMITS.maxPointsPerMessage} data points in one message`);
    }
  }
  if (points.length === 0) throw new PayloadError("no data points");
  return points;
}

/** Client attributes: a flat-ish JSON object. */
export function attributesOf(body: unknown): Record<string, TelemetryValue> {
  if (body === null || typeof body !== "object" || Array.isArray(body)) throw new PayloadError("attributes must be a JSON object");
  const out: Record<string, TelemetryValue> = {};
  for (const [key, raw] of Object.entries(body)) {
    if (key.length > LIMITS.maxKeyLength || !KEY.test(key)) throw new PayloadError(`attribute "${key.slice(0, 80)}" is not a valid name`);
    out[key] = checkValue(key, raw);
  }
  if (Object.keys(out).length === 0) throw new PayloadError("no attributes");
  return out;
}
