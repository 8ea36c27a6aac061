// Package fcm is the Firebase Cloud Messaging side of push: the users' registered
// devices (Store) and a Sender for FCM's HTTP v1 API. The push worker
// (internal/webpush) decides whether and when a notification is pushed, once for
// Web Push and FCM alike, and hands decided FCM pushes to a queue of their own that
// the FCM sender drains, so a slow FCM never holds Web Push up.
package fcm
