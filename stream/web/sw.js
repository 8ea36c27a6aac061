// Vividly notifications — service worker for Web Push. It shows a pushed notification
// (the same JSON as the stream's `data`, or a "summary" of a coalesced burst) and, on a
// click, focuses a page of this origin already showing the link or opens it.
//
// Served by the stream service at /demo/sw.js for the demo; an app serves a copy from
// its own origin and passes its URL to handle.enablePush({serviceWorker}).

const ICON = "data:image/svg+xml;utf8," + encodeURIComponent(
  '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 24 24"><path fill="#1d70b8" d="M12 22a2.5 2.5 0 0 0 2.45-2h-4.9A2.5 2.5 0 0 0 12 22Zm7-6V11a7 7 0 0 0-5-6.71V3.5a2 2 0 0 0-4 0v.79A7 7 0 0 0 5 11v5l-2 2v1h18v-1Z"/></svg>');

const SEVERITIES = ["info", "success", "warning", "error"];

// expired reports a notification whose expires_at has passed: the push service may hold
// a message for a sleeping device up to its TTL, and the server cuts the TTL to
// expires_at, but a device's clock and a push already in flight can still bring one late.
function expired(n) {
  const at = typeof n.expires_at === "string" ? Date.parse(n.expires_at) : NaN;
  return !Number.isNaN(at) && at <= Date.now();
}

// present turns a notification into showNotification's title and options.
function present(n) {
  const t = n.title ? `“${n.title}”` : "Your video";
  let title = n.title || "Vividly";
  let body = n.body || "";
  if (n.type === "video_complete") {
    title = "Video ready";
    body = `${t} is ready to watch`;
  } else if (n.type === "video_failed") {
    title = "Video failed";
    body = `${t} could not be generated${n.error ? `: ${n.error}` : ""}`;
  } else if (n.type === "summary") {
    title = n.title || "New notifications";
    body = "Open Vividly to see them";
  }
  // The Notifications API has no severity: a warning or an error says so in its title,
  // and an error stays on screen until the student acts on it.
  const severity = SEVERITIES.includes(n.severity) ? n.severity : "info";
  if (severity === "warning") title = `Warning: ${title}`;
  if (severity === "error") title = `Error: ${title}`;
  const link = (n.type === "video_complete" ? n.video_url : n.link) || self.registration.scope;
  return {
    title,
    options: {
      body,
      icon: n.icon || ICON,
      tag: n.type === "summary" ? "vividly-summary" : `vividly-${n.id || Date.now()}`,
      renotify: n.type === "summary",
      requireInteraction: severity === "error",
      data: { id: n.id || "", type: n.type || "", severity, link },
    },
  };
}

self.addEventListener("install", () => self.skipWaiting());
self.addEventListener("activate", (event) => event.waitUntil(self.clients.claim()));

self.addEventListener("push", (event) => {
  let n;
  try {
    n = event.data ? event.data.json() : {};
  } catch {
    n = { title: event.data ? event.data.text() : "" };
  }
  if (!n || typeof n !== "object") n = {};
  if (expired(n)) {
    // Not shown. Chromium may then show its own "updated in the background" notice
    // (userVisibleOnly); that is still better than an announcement that no longer holds.
    event.waitUntil(tell({ vividly: "push-dropped", id: n.id || "", reason: "expired" }));
    return;
  }
  const { title, options } = present(n);
  event.waitUntil(
    self.registration.showNotification(title, options).then(() =>
      tell({ vividly: "push-shown", title, body: options.body, link: options.data.link, icon: options.icon,
        severity: options.data.severity, requireInteraction: options.requireInteraction })),
  );
});

// tell posts msg to every open page of this origin (the demo and tests listen).
async function tell(msg) {
  const list = await self.clients.matchAll({ type: "window", includeUncontrolled: true });
  for (const c of list) c.postMessage(msg);
}

self.addEventListener("notificationclick", (event) => {
  event.notification.close();
  const link = (event.notification.data && event.notification.data.link) || self.registration.scope;
  event.waitUntil(
    (async () => {
      const list = await self.clients.matchAll({ type: "window", includeUncontrolled: true });
      const same = list.find((c) => c.url === link) || list.find((c) => c.url.startsWith(self.registration.scope));
      if (same && new URL(link).origin === self.location.origin) {
        if (same.url !== link && "navigate" in same) await same.navigate(link).catch(() => {});
        return same.focus();
      }
      return self.clients.openWindow(link);
    })(),
  );
});
