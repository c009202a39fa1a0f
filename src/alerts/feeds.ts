// Index feeds of current alerts in the CAP feed conventions (as the WMO Alert Hub and Google
// Public Alerts read them): Atom 1.0 and RSS 2.0, one entry per current message with a link of
// type application/cap+xml to its CAP document, unique ids, newest first, kept under 100 KB.
import { XMLBuilder } from "fast-xml-parser";
import { capDate } from "./cap.ts";
import { textIn } from "./service.ts";
import type { AlertRow } from "./store.ts";

export const MAX_FEED_BYTES = 100_000;

const builder = new XMLBuilder({ format: true, indentBy: "  ", ignoreAttributes: false, attributeNamePrefix: "@_", suppressEmptyNode: true });

export interface FeedMeta {
  /** Absolute URL of this feed. */
  self: string;
  title: string;
  publicUrl: string;
  lang: "vi" | "en";
}

const summaryOf = (s: string) => (s.length > 400 ? `${s.slice(0, 399)}…` : s);

function atomOf(meta: FeedMeta, rows: AlertRow[]): string {
  const updated = rows.reduce((m, r) => Math.max(m, new Date(r.updated_at).getTime()), 0) || Date.now();
  const feed = {
    feed: {
      "@_xmlns": "http://www.w3.org/2005/Atom",
      "@_xml:lang": meta.lang === "vi" ? "vi" : "en",
      id: meta.self,
      title: meta.title,
      updated: capDate(new Date(updated)),
      author: { name: "Sen" },
      generator: "Sen",
      link: [
        { "@_rel": "self", "@_type": "application/atom+xml", "@_href": meta.self },
        { "@_rel": "alternate", "@_type": "text/html", "@_href": `${meta.publicUrl}/app/alerts` },
      ],
      entry: rows.map((r) => {
        const t = textIn(r, meta.lang);
        return {
          id: r.identifier,
          title: t.headline,
          updated: capDate(r.sent ?? r.updated_at),
          published: capDate(r.sent ?? r.created_at),
          author: { name: t.senderName ?? r.sender_name },
          summary: summaryOf(t.description || t.headline),
          category: r.categories.map((c) => ({ "@_term": c })),
          link: { "@_rel": "alternate", "@_type": "application/cap+xml", "@_href": `${meta.publicUrl}/cap/alerts/${r.id}.xml` },
        };
      }),
    },
  };
  return `<?xml version="1.0" encoding="UTF-8"?>\n${builder.build(feed)}`;
}

const rfc822 = (d: Date | string) => new Date(d).toUTCString();

function rssOf(meta: FeedMeta, rows: AlertRow[]): string {
  const feed = {
    rss: {
      "@_version": "2.0",
      "@_xmlns:atom": "http://www.w3.org/2005/Atom",
      channel: {
        title: meta.title,
        link: `${meta.publicUrl}/app/alerts`,
        description: meta.title,
        language: meta.lang === "vi" ? "vi-VN" : "en-US",
        lastBuildDate: rfc822(new Date()),
        "atom:link": { "@_rel": "self", "@_type": "application/rss+xml", "@_href": meta.self },
        item: rows.map((r) => {
          const t = textIn(r, meta.lang);
          return {
            title: t.headline,
            link: `${meta.publicUrl}/cap/alerts/${r.id}.xml`,
            description: summaryOf(t.description || t.headline),
            category: r.categories,
            guid: { "@_isPermaLink": "false", "#text": r.identifier },
            pubDate: rfc822(r.sent ?? r.created_at),
          };
        }),
      },
    },
  };
  return `<?xml version="1.0" encoding="UTF-8"?>\n${builder.build(feed)}`;
}

/** The feed document; the oldest entries are dropped until it fits under 100 KB. */
export function renderFeed(kind: "atom" | "rss", meta: FeedMeta, rows: AlertRow[]): string {
  let n = rows.length;
  for (;;) {
    const xml = kind === "atom" ? atomOf(meta, rows.slice(0, n)) : rssOf(meta, rows.slice(0, n));
    if (Buffer.byteLength(xml) <= MAX_FEED_BYTES || n === 0) return xml;
    n = Math.floor(n * 0.8);
  }
}
