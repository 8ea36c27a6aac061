package main

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"regexp"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/vividly-edu/notifications/functions/eventarc"
)

// The demo page's two local-only helpers. Neither exists in bin/stream: production
// tokens come from the backend and job events from the content pipeline.
//
// The token helper signs a token for any user it is asked for, so it exists only with
// the local system's own secret (generated at start, or LOCAL_JWT_SECRET): with
// JWT_SECRET set — perhaps a secret real services share — its tokens could open real
// streams. Both helpers listen on loopback only and answer only requests whose Host is
// a loopback name: a page on another site that rebinds its DNS name to 127.0.0.1
// reaches the port with its own name in Host (DNS rebinding), and is refused.

var userPattern = regexp.MustCompile(`^[A-Za-z0-9_-]{1,128}$`)

// demoSecret returns the local system's JWT secret and whether the token helper may
// sign with it: JWT_SECRET as it is, without the helper; else LOCAL_JWT_SECRET, or a
// secret generated for this run, with it.
func demoSecret(jwtSecret, localSecret string) (secret string, mint bool) {
	switch {
	case jwtSecret != "":
		return jwtSecret, false
	case localSecret != "":
		return localSecret, true
	}
	var b [32]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:]), true
}

// mounter is where the helpers are served (the stream server).
type mounter interface {
	Mount(pattern string, h http.Handler)
}

// mountDemo adds the demo page's helpers: the token helper only when mint (it logs
// why not otherwise), the publish helper always; both for loopback Hosts only.
// defaultGroups go in the tokens of requests that name no groups (LOCAL_DEMO_GROUPS).
func mountDemo(srv mounter, log *slog.Logger, secret string, mint bool, user, functionURL string, defaultGroups ...string) {
	if mint {
		srv.Mount("GET /demo/dev-token", loopbackOnly(devTokenHandler(secret, user, defaultGroups...)))
	} else {
		log.Warn("no /demo/dev-token: JWT_SECRET is set, and tokens signed with it might open real services' streams; " +
			"unset it (a secret is generated) or set LOCAL_JWT_SECRET to a local-only one")
	}
	srv.Mount("POST /demo/publish", loopbackOnly(publishHandler(secret, functionURL)))
}

// loopback is the listen address of a local port: 127.0.0.1 only, never every interface.
func loopback(port string) string { return net.JoinHostPort("127.0.0.1", port) }

// loopbackOnly answers 403 unless the request's Host names this machine by a loopback
// name (127.0.0.1, localhost or [::1], any port). The port is not checked: a rebinding
// page needs a name of its own, and any page sends the port it targets.
func loopbackOnly(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		host := r.Host
		if h, _, err := net.SplitHostPort(host); err == nil {
			host = h
		}
		switch strings.ToLower(host) {
		case "127.0.0.1", "localhost", "::1":
			next.ServeHTTP(w, r)
		default:
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusForbidden)
			fmt.Fprintln(w, `{"error":"the demo helpers answer only to 127.0.0.1, localhost or [::1]"}`)
		}
	})
}

// devTokenHandler mints development tokens:
// GET /demo/dev-token?user=u&ttl=1h&groups=class-1,class-2&roles=teacher (the room
// page asks for a teacher's or a student's token this way). A request without groups
// gets defaultGroups: the demo centre asks for none, and LOCAL_DEMO_GROUPS puts its
// students in a class, so a teacher's receipts page (receipts.html) counts them.
func devTokenHandler(secret, defaultUser string, defaultGroups ...string) http.Handler {
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
		groups, roles, ok := listParams(r.URL.Query().Get("groups"), r.URL.Query().Get("roles"))
		if !ok {
			http.Error(w, `{"error":"groups and roles are comma-separated, each 1-128 of A-Z a-z 0-9 _ -"}`, http.StatusBadRequest)
			return
		}
		if !r.URL.Query().Has("groups") {
			groups = defaultGroups
		}
		token, err := devToken(secret, user, ttl, groups, roles)
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

// listParams splits the comma-separated groups and roles of a token request; each
// item follows the user id rules (as group ids do).
func listParams(vs ...string) (groups, roles []string, ok bool) {
	var out [2][]string
	for i, v := range vs {
		if v == "" {
			continue
		}
		for _, item := range strings.Split(v, ",") {
			if !userPattern.MatchString(item) {
				return nil, nil, false
			}
			out[i] = append(out[i], item)
		}
	}
	return out[0], out[1], true
}

// demoRoom is the room the banner's teacher and student tokens may join.
const demoRoom = "demo-class"

// printRoomBanner offers the "Watch together" page and a teacher's and a student's
// token for its room (the page mints its own through /demo/dev-token; the tokens are
// for other clients, such as the load tool or websocat).
func printRoomBanner(out io.Writer, secret, port, student string) error {
	room := []string{demoRoom}
	teacherTok, err := devToken(secret, "teacher-1", 24*time.Hour, room, []string{"teacher"})
	if err != nil {
		return err
	}
	studentTok, err := devToken(secret, student, 24*time.Hour, room)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(out, `Watch a video together (room %[2]q; open both, the student follows the teacher):
  teacher http://127.0.0.1:%[1]s/demo/room.html?room=%[2]s&user=teacher-1&role=teacher
  student http://127.0.0.1:%[1]s/demo/room.html?room=%[2]s&user=%[3]s
  tokens for the room's WebSocket (/api/v1/rooms/%[2]s/ws, subprotocol vividly.rooms.v1):
    export TEACHER_TOKEN=%[4]s
    export STUDENT_TOKEN=%[5]s

`, port, demoRoom, student, teacherTok, studentTok)
	return err
}
