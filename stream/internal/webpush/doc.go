// Package webpush delivers notifications as Web Push messages to users who have no open
// stream: RFC 8291 (aes128gcm) encryption, RFC 8292 (VAPID) authentication and RFC 8030
// headers (TTL, Urgency, Topic). The server wires it in; this package owns the rules.
//
// # Flow
//
// The function, after storing a notification, XADDs {user, n} to a Redis Stream queue
// (Enqueue shows the exact shape; n is the SSE data JSON). Every stream instance runs a
// Worker in one consumer group on that queue, so each entry is handled by exactly one
// instance. Per entry, in queue order for each user, the Worker checks presence (an
// open stream means no push), preferences (push off, muted type), the user's
// subscriptions and the coalescing window, then sends to every subscription at once.
// Requests are bounded per instance and per push service (origin), and each has a
// timeout, so a push service that hangs or fails holds only its own share; 429 and 5xx
// are retried with backoff, honouring Retry-After, while other users' pushes go on.
// An entry is acknowledged (and deleted) only once handled; while a send is being
// retried the Worker keeps renewing its claim, and entries of an instance that died (or
// that failed on a Redis error) are taken over by XAUTOCLAIM after ClaimIdle. Delivery
// is therefore at least once: a crash between sending and acknowledging repeats a push.
//
// # FCM: one decision, two senders
//
// With WorkerOptions.Mobile set, the same decision (presence, preferences, expiry,
// coalescing) also covers the user's FCM devices: a push decided for a user who has
// any is handed, as an fcm.Message, to a second Redis Stream (rediskey FCMQueue, same
// {push} hash tag), drained by a Worker made with NewFCMWorker in a consumer group of
// its own. Each queue has its own slots and request limit (PUSH_CONCURRENCY,
// FCM_CONCURRENCY), so a slow or failing FCM never holds Web Push up, nor the
// reverse. The Worker runs when either sender is configured; without VAPID keys the
// windows' names (FCM collapse keys) are keyed with a random key kept in Redis.
//
// # Coalescing
//
// Per user, a window of Window (60 s) opens with the first pushed notification, which is
// sent at once. Later notifications inside the window are only counted. When the window
// ends, any Worker turns the count into one summary entry on the same queue (so it is
// acknowledged and reclaimed like any other), and that summary opens the next window.
// Pushes to one user are therefore at least one window apart, after the first: ten
// notifications within a minute cost at most two pushes. The first push and its
// summary share a Topic, so a push service still holding the first replaces it with
// the summary (which counts it too). The window lives in one Redis hash per user with
// a TTL plus one due-time sorted set, both named after the queue: a Redis Cluster
// deployment gives the queue name a hash tag (notifications:{push}) so every script
// touches one slot.
//
// A summary's plaintext has the shape of a notification:
//
//	{"id":"<id of the newest counted notification>","type":"summary","severity":"info",
//	 "title":"3 new notifications","count":3,"created_at":"2026-11-26T16:30:45.123Z"}
//
// # Key rotation
//
// Push services bind a subscription to the VAPID public key (applicationServerKey) it
// was made with and refuse pushes signed with any other, and only the browser can make
// a new subscription. So a stored Subscription records its key (PublicKey), and the
// Sender holds the current pair and, during a rotation, the previous one
// (VAPID_PREVIOUS_PUBLIC_KEY, VAPID_PREVIOUS_PRIVATE_KEY): each push is signed with the
// pair its subscription was made with. Clients compare their subscription's key with
// GET …/push/key and re-subscribe when it differs. Once the previous pair is dropped,
// a subscription still recorded under it can never be delivered and is removed like
// one the push service reports gone. docs/RUNBOOK.md has the procedure.
//
// # Tests
//
// webpushtest is a loopback push-service stand-in that verifies VAPID and decrypts
// every message as a browser would; this package's tests and the stream server's use
// it, with PUSH_ALLOW_LOOPBACK=true.
//
// # Library
//
// Encryption and VAPID signing come from github.com/SherClockHolmes/webpush-go
// (v1.4.0): the most used Go implementation, maintained since 2016, implementing the
// final RFC 8291 aes128gcm coding and RFC 8292 VAPID (vapid t=…, k=…), with a context
// aware send and an injectable HTTP client. Its dependencies are golang-jwt/jwt/v5,
// which the stream service already uses for authentication, and x/crypto's hkdf. Two
// quirks are handled here: it prefixes "mailto:" to any subject not starting with
// "https:" (so a mailto: subject is passed without its scheme), and it pads every
// message to its record size (4096 by default), so Sender picks a smaller record size
// per message. The tests check its output with an independent decryptor that is
// itself checked against RFC 8291's published example.
package webpush
