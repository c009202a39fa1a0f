// Text PostgreSQL can store. It refuses the NUL character in text and in jsonb. JSON can also spell
// a lone UTF-16 surrogate ("\ud800"), which no UTF-8 text can hold: jsonb refuses its escape, so
// one such string would fail the whole transaction it is written in.
const LONE_SURROGATE = /\p{Surrogate}/u;

export const storableText = (s: string): boolean => !s.includes("\u0000") && !LONE_SURROGATE.test(s);

/** Every string and every object key in a parsed JSON value is storable text. */
export function storableJson(value: unknown): boolean {
  const stack = [value];
  while (stack.length) {
    const v = stack.pop();
    if (typeof v === "string") {
      if (!storableText(v)) return false;
    } else if (Array.isArray(v)) stack.push(...v);
    else if (v !== null && typeof v === "object") {
      for (const [k, x] of Object.entries(v)) {
        if (!storableText(k)) return false;
        stack.push(x);
      }
    }
  }
  return true;
}

/** `s` with each NUL and lone surrogate replaced by U+FFFD, the replacement character. */
export const storableVersion = (s: string): string => s.replaceAll("\u0000", "\ufffd").replace(/\p{Surrogate}/gu, "\ufffd");
