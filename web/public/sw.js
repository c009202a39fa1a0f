// Sen citizen app service worker (scope /app/). It keeps the app shell (the page, its hashed
// scripts and styles, the manifest and icons) in a cache so the app opens offline. API calls go to
// the network; the province boundary used by the small map is also kept for offline use.
const VERSION = "sen-app-v1";
const SHELL = ["/app/", "/manifest.webmanifest", "/icons/icon-192.png", "/icons/icon-512.png", "/icons/favicon.svg"];
const OFFLINE_API = ["/api/geo/units/82"];

// The page's hashed assets are not known in advance: read them from the page itself.
async function precache() {
  const cache = await caches.open(VERSION);
  await cache.addAll(SHELL);
  const res = await cache.match("/app/");
  if (!res) return;
  const html = await res.text();
  const assets = [...html.matchAll(/(?:src|href)="(\/assets\/[^"]+)"/g)].map((m) => m[1]);
  await cache.addAll([...new Set(assets)]);
}

self.addEventListener("install", (event) => {
  event.waitUntil(precache().then(() => self.skipWaiting()));
});

self.addEventListener("activate", (event) => {
  event.waitUntil(
    caches
      .keys()
      .then((keys) => Promise.all(keys.filter((k) => k.startsWith("sen-app-") && k !== VERSION).map((k) => caches.delete(k))))
      .then(() => self.clients.claim()),
  );
});

async function networkFirst(request, cacheKey) {
  const cache = await caches.open(VERSION);
  try {
    const res = await fetch(request);
    if (res.ok) await cache.put(cacheKey ?? request, res.clone());
    return res;
  } catch (err) {
    const cached = await cache.match(cacheKey ?? request);
    if (cached) return cached;
    throw err;
  }
}

async function cacheFirst(request) {
  const cache = await caches.open(VERSION);
  const cached = await cache.match(request);
  if (cached) return cached;
  const res = await fetch(request);
  if (res.ok) await cache.put(request, res.clone());
  return res;
}

self.addEventListener("fetch", (event) => {
  const { request } = event;
  if (request.method !== "GET") return;
  const url = new URL(request.url);
  if (url.origin !== self.location.origin) return;

  // Pages of the app: fresh when online, the cached shell when offline.
  if (request.mode === "navigate" && url.pathname.startsWith("/app")) {
    event.respondWith(networkFirst(request, "/app/"));
    return;
  }
  // Hashed build output never changes; icons and the manifest rarely do.
  if (url.pathname.startsWith("/assets/") || url.pathname.startsWith("/icons/") || url.pathname === "/manifest.webmanifest") {
    event.respondWith(cacheFirst(request));
    return;
  }
  if (OFFLINE_API.includes(url.pathname)) {
    event.respondWith(networkFirst(request));
  }
});

// Warnings (alerts module): show a pushed alert, and open it when tapped. The payload is the JSON
// Sen's delivery job sends: { id, title, body, severity, msgType, url }.
self.addEventListener("push", (event) => {
  let data = {};
  try {
    data = event.data ? event.data.json() : {};
  } catch {}
  const severe = data.severity === "Extreme" || data.severity === "Severe";
  event.waitUntil(
    self.registration.showNotification(data.title || "Cảnh báo", {
      body: data.body || "",
      tag: data.id,
      renotify: true,
      requireInteraction: severe,
      icon: "/icons/icon-192.png",
      data: { url: data.url || "/app/alerts" },
    }),
  );
});

self.addEventListener("notificationclick", (event) => {
  event.notification.close();
  const url = (event.notification.data && event.notification.data.url) || "/app/alerts";
  event.waitUntil(self.clients.openWindow(url));
});
