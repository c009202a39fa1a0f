// One live event stream (/api/events) for the whole console, shared by every component that
// follows it: the alarm banner, the map, the device pages and the overview's feed each register
// a handler here instead of opening a stream of their own (a browser allows only a few
// connections per server). The stream opens with the first handler and closes after the last.
import { useEffect, useRef, useSyncExternalStore } from "react";
import { type SenEvent, type StreamStatus, subscribeEvents } from "../shared/sse";

type Handler = (e: SenEvent) => void;

const handlers = new Set<Handler>();
const statusListeners = new Set<() => void>();
let status: StreamStatus = "connecting";
let stop: (() => void) | null = null;
let closeTimer: number | undefined;

function setStatus(s: StreamStatus) {
  status = s;
  for (const l of statusListeners) l();
}

function open() {
  window.clearTimeout(closeTimer);
  if (stop) return;
  stop = subscribeEvents(
    "/api/events",
    (e) => {
      for (const h of handlers) {
        try {
          h(e);
        } catch (err) {
          console.error("live event handler failed", err);
        }
      }
    },
    setStatus,
  );
}

function closeSoon() {
  // Pages unmount and mount in one go when navigating: wait a moment before closing the stream.
  window.clearTimeout(closeTimer);
  closeTimer = window.setTimeout(() => {
    if (handlers.size || !stop) return;
    stop();
    stop = null;
    setStatus("connecting");
  }, 2000);
}

/** Calls `handler` for every live event while the component is mounted (the latest handler is used). */
export function useLiveEvents(handler: Handler, enabled = true): void {
  const ref = useRef(handler);
  ref.current = handler;
  useEffect(() => {
    if (!enabled) return;
    const h: Handler = (e) => ref.current(e);
    handlers.add(h);
    open();
    return () => {
      handlers.delete(h);
      if (!handlers.size) closeSoon();
    };
  }, [enabled]);
}

/** The shared stream's state: connecting, open, retrying, or forbidden (no right to read events). */
export function useStreamStatus(): StreamStatus {
  return useSyncExternalStore(
    (l) => {
      statusListeners.add(l);
      return () => statusListeners.delete(l);
    },
    () => status,
  );
}

/**
 * Calls `fn` at most once per `ms`: the first call runs at once, later ones are merged into one
 * trailing call. Returns the throttled function and a cancel.
 */
export function throttle(fn: () => void, ms: number): { run: () => void; cancel: () => void } {
  let last = 0;
  let timer: number | undefined;
  const fire = () => {
    timer = undefined;
    last = Date.now();
    fn();
  };
  return {
    run: () => {
      if (timer !== undefined) return;
      const wait = last + ms - Date.now();
      if (wait <= 0) fire();
      else timer = window.setTimeout(fire, wait);
    },
    cancel: () => {
      window.clearTimeout(timer);
      timer = undefined;
    },
  };
}
