// Web Push. The service worker (sw.js, served by the stream service at /demo/sw.js; an
// app serves a copy from its own origin, since a worker must be same-origin with its
// pages) shows a pushed notification and focuses or opens its page on click. Options
// of handle.enablePush / disablePush / pushState (o.request is the handle's API call):
//   serviceWorker  the worker's URL (default "sw.js", relative to the page)
//   scope          the registration's scope (default: the worker's folder)

import { failure } from "./failure.js";

function pushSupported() {
  return typeof navigator !== "undefined" && "serviceWorker" in navigator && typeof PushManager === "function" &&
    typeof Notification === "function";
}

// urlB64ToBytes decodes a base64url VAPID key into the bytes applicationServerKey wants.
export function urlB64ToBytes(s) {
  const b = atob(String(s).replace(/-/g, "+").replace(/_/g, "/").padEnd(Math.ceil(String(s).length / 4) * 4, "="));
  return Uint8Array.from(b, (c) => c.charCodeAt(0));
}

function bytesToUrlB64(buf) {
  if (!buf) return "";
  const bytes = new Uint8Array(buf);
  let b = "";
  for (const x of bytes) b += String.fromCharCode(x);
  return btoa(b).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

function workerURL(o) {
  return new URL(o.serviceWorker || "sw.js", location.href);
}

async function registration(o, register) {
  const url = workerURL(o);
  if (register) return navigator.serviceWorker.register(url.href, o.scope ? { scope: o.scope } : undefined);
  return navigator.serviceWorker.getRegistration(new URL(o.scope || ".", url).href);
}

// subscribe makes (or keeps) the browser's subscription for the server's current VAPID
// key and records it on the server with the key it was made with. A subscription made
// with another key (the keys rotated) is dropped on both sides and made again.
async function subscribe(o, reg) {
  const { public_key: key } = await o.request("GET", "/push/key");
  let sub = await reg.pushManager.getSubscription();
  if (sub && bytesToUrlB64(sub.options.applicationServerKey) !== key) {
    await o.request("DELETE", "/push/subscriptions", sub.toJSON()).catch(() => {});
    await sub.unsubscribe();
    sub = null;
  }
  if (!sub) sub = await reg.pushManager.subscribe({ userVisibleOnly: true, applicationServerKey: urlB64ToBytes(key) });
  await o.request("POST", "/push/subscriptions", { ...sub.toJSON(), public_key: key });
  return sub;
}

// enablePush turns Web Push on for this browser. Call it from a user gesture (a click on
// a switch): the permission prompt comes only then. Resolves {subscribed: true,
// endpoint}; rejects with kind "push-unsupported" | "push-denied" | an HTTP failure.
export async function enablePush(o) {
  if (!pushSupported()) throw failure("push-unsupported");
  // First, while the gesture's activation is fresh.
  const perm = Notification.permission === "granted" ? "granted" : await Notification.requestPermission();
  if (perm !== "granted") throw failure("push-denied", { detail: perm });
  const reg = await registration(o, true);
  await activeWorker(reg);
  const sub = await subscribe(o, reg);
  return { subscribed: true, endpoint: sub.endpoint };
}

// disablePush unsubscribes this browser, on the server and in the browser.
export async function disablePush(o) {
  if (!pushSupported()) return { subscribed: false };
  const reg = await registration(o, false);
  const sub = reg && (await reg.pushManager.getSubscription());
  if (sub) {
    await o.request("DELETE", "/push/subscriptions", sub.toJSON());
    await sub.unsubscribe();
  }
  return { subscribed: false };
}

// pushState tells whether this browser is subscribed, without prompting; call it on
// page load: a subscription made with a VAPID key the server no longer hands out is
// renewed (key rotation) when permission is still granted.
export async function pushState(o) {
  if (!pushSupported()) return { supported: false, permission: "unsupported", subscribed: false };
  const permission = Notification.permission;
  const reg = await registration(o, false);
  let sub = reg && (await reg.pushManager.getSubscription());
  if (sub && permission === "granted") {
    try {
      sub = await subscribe(o, reg);
    } catch {
      // the server is unreachable now: keep what the browser has
    }
  }
  return { supported: true, permission, subscribed: !!sub };
}

function activeWorker(reg) {
  const w = reg.installing || reg.waiting;
  if (reg.active || !w) return Promise.resolve(reg.active);
  return new Promise((resolve) => {
    w.addEventListener("statechange", () => {
      if (w.state === "activated" || w.state === "redundant") resolve(reg.active);
    });
  });
}
