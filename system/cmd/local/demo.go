package main

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/vividly-edu/notifications/functions/eventarc"
)

// The demo page's two local-only helpers. Neither exists in bin/stream: production
// tokens come from the backend and job events from the content pipeline.

var userPattern = regexp.MustCompile(`^[A-Za-z0-9_-]{1,128}$`)

// devTokenHandler mints development tokens: GET /demo/dev-token?user=u&ttl=1h.
func devTokenHandler(secret, defaultUser string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		user := r.URL.Query().Get("user")
		if user == "" {
			user = defaultUser
		}
		ttl := 24 * time.Hour
		if v := r.URL.Query().Get("ttl"); v != "" {
			d, err := time.ParseDuration(v)
			if err != nil || d < time.Second || d > 24*time.Hour {
				http.Error(w, `{"error":"ttl must be a duration from 1s to 24h"}`, http.StatusBadRequest)
				return
			}
			ttl = d
		}
		if !userPattern.MatchString(user) {
			http.Error(w, `{"error":"user must be 1-128 of A-Z a-z 0-9 _ -"}`, http.StatusBadRequest)
			return
		}
		token, err := devToken(secret, user, ttl)
		if err != nil {
			http.Error(w, `{"error":"signing failed"}`, http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]string{"token": token, "user": user})
	})
}

// publishHandler turns the demo form into a job event for the token's user and posts
// it to the function endpoint as a Pub/Sub push delivery, so it takes the same path
// (Functions Framework → decode → validate → broker) as production events.
func publishHandler(secret, functionURL string) http.Handler {
	client := &http.Client{Timeout: 5 * time.Second}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var in struct{ Title, Status, Token string }
		if err := json.NewDecoder(r.Body).Decode(&in); err != nil {
			http.Error(w, `{"error":"bad JSON"}`, http.StatusBadRequest)
			return
		}
		claims := jwt.MapClaims{}
		if _, err := jwt.ParseWithClaims(in.Token, claims, func(*jwt.Token) (any, error) { return []byte(secret), nil },
			jwt.WithValidMethods([]string{"HS256"})); err != nil {
			http.Error(w, `{"error":"invalid token"}`, http.StatusUnauthorized)
			return
		}
		user, _ := claims["sub"].(string)
		var id [6]byte
		_, _ = rand.Read(id[:])
		req := "demo-" + hex.EncodeToString(id[:])
		job := map[string]string{"request_id": req, "user_id": user, "status": in.Status, "title": in.Title}
		if in.Status == "completed" {
			job["video_url"] = "https://cdn.example/v/" + req + ".mp4"
		} else {
			job["error"] = "The narration step timed out."
		}
		data, _ := json.Marshal(job)
		push := eventarc.PushBody(data, req, time.Now())
		resp, err := client.Post(functionURL, "application/json", bytes.NewReader(push))
		if err != nil {
			http.Error(w, `{"error":"function unreachable"}`, http.StatusBadGateway)
			return
		}
		resp.Body.Close()
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(resp.StatusCode)
		fmt.Fprintf(w, `{"request_id":%q,"function_status":%d}`+"\n", req, resp.StatusCode)
	})
}
