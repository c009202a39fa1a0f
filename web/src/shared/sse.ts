// Reads Sen's server-sent event stream. The server names each event after its topic
// (`event: user.created`), and EventSource only delivers named events to listeners registered for
// that exact name, so the console reads the stream with fetch and parses it itself. It reconnects
// with Last-Event-ID, like EventSource does, so no event is missed across a reconnect.

export interface SenEvent {
  id: number;
  topic: string;
  payload: unknown;
  at: string;
}

export type StreamStatus = "connecting" | "open" | "retrying" | "forbidden";

export function subscribeEvents(url: string, onEvent: (e: SenEvent) => void, onStatus: (s: StreamStatus) => void): () => void {
  const controller = new AbortController();
  let lastId: string | null = null;
  let retryMs = 3000;

  const dispatch = (block: string) => {
    let event = "message";
    let id: string | null = null;
    const data: string[] = [];
    for (const line of block.split(/\r?\n/)) {
      if (!line || line.startsWith(":")) continue;
      const i = line.indexOf(":");
      const field = i < 0 ? line : line.slice(0, i);
      const value = i < 0 ? "" : line.slice(i + 1).replace(/^ /, "");
      if (field === "event") event = value;
      else if (field === "data") data.push(value);
      else if (field === "id") id = value;
      else if (field === "retry" && /^\d+$/.test(value)) retryMs = Number(value);
    }
    if (id !== null) lastId = id;
    if (!data.length) return;
    try {
      const parsed = JSON.parse(data.join("\n")) as Partial<SenEvent>;
      onEvent({ id: Number(parsed.id ?? id ?? 0), topic: parsed.topic ?? event, payload: parsed.payload, at: parsed.at ?? new Date().toISOString() });
    } catch {
      // Not JSON: not one of Sen's events; ignore it.
    }
  };

  const run = async () => {
    while (!controller.signal.aborted) {
      onStatus(lastId === null ? "connecting" : "retrying");
      try {
        const headers: Record<string, string> = { accept: "text/event-stream" };
        if (lastId !== null) headers["last-event-id"] = lastId;
        const res = await fetch(url, { headers, signal: controller.signal, credentials: "same-origin", cache: "no-store" });
        if (res.status === 401 || res.status === 403) {
          onStatus("forbidden");
          return;
        }
        if (!res.ok || !res.body) throw new Error(`HTTP ${res.status}`);
        onStatus("open");
        const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
        let buffer = "";
        for (;;) {
          const { value, done } = await reader.read();
          if (done) break;
          buffer += value;
          const blocks = buffer.split(/\r?\n\r?\n/);
          buffer = blocks.pop() ?? "";
          for (const block of blocks) dispatch(block);
        }
      } catch {
        if (controller.signal.aborted) return;
      }
      onStatus("retrying");
      await new Promise((r) => setTimeout(r, retryMs));
    }
  };
  void run();
  return () => controller.abort();
}
