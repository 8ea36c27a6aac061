package redisscale

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"strings"

	"github.com/cloudevents/sdk-go/v2/binding"
	cehttp "github.com/cloudevents/sdk-go/v2/protocol/http"

	"github.com/vividly-edu/notifications/functions/eventarc"
	"github.com/vividly-edu/notifications/shared/logging"
)

// maxBody bounds a request: a Cloud Monitoring notification is a few KiB.
const maxBody = 256 << 10

// Handler receives Cloud Monitoring's alert notifications from the Pub/Sub channel
// (through Eventarc, as a messagePublished CloudEvent, or as a plain push body) and
// scales on each incident that opens. Like the other entry points it parses each
// request itself with the CloudEvents SDK's HTTP binding (notifier.ServeHTTP says why).
//
// Answers: 200 after a step, and for everything retrying cannot change (an incident
// that closed, an unreadable notification, a refused PATCH: logged at ERROR); 500 when
// the Memorystore API may succeed later (Pub/Sub redelivers, and Scale reads the size
// again first); 400 for a request that is not a delivery; 405 for anything but POST.
type Handler struct {
	Scale func(context.Context) (Result, error)
	Log   *slog.Logger
}

// notification is the part of Cloud Monitoring's notification (schema version 1.2)
// this function reads.
type notification struct {
	Incident *struct {
		IncidentID string `json:"incident_id"`
		PolicyName string `json:"policy_name"`
		State      string `json:"state"` // "open" or "closed"
	} `json:"incident"`
}

func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		http.Error(w, "POST a CloudEvent or a Pub/Sub push body", http.StatusMethodNotAllowed)
		return
	}
	ctx := logging.WithTrace(r.Context(), r.Header)
	r.Body = http.MaxBytesReader(w, r.Body, maxBody)
	d, err := read(ctx, r)
	if err != nil {
		http.Error(w, "not a Pub/Sub delivery: "+err.Error(), http.StatusBadRequest)
		return
	}
	var n notification
	if err := json.Unmarshal(d.Data, &n); err != nil || n.Incident == nil {
		h.Log.ErrorContext(ctx, "redis scale: not a Cloud Monitoring notification", "message_id", d.ID)
		return // 200: redelivering it changes nothing
	}
	in := n.Incident
	log := h.Log.With("incident_id", in.IncidentID, "policy", in.PolicyName, "message_id", d.ID)
	if in.State != "open" {
		log.InfoContext(ctx, "redis scale: incident not open, nothing to do", "state", in.State)
		return
	}
	res, err := h.Scale(ctx)
	switch {
	case errors.Is(err, ErrPermanent):
		log.ErrorContext(ctx, "redis scale refused", "error", err)
	case err != nil:
		log.WarnContext(ctx, "redis scale failed; Pub/Sub will retry", "error", err)
		http.Error(w, "scaling failed; retry", http.StatusInternalServerError)
	case res.Skipped != "":
		// At the ceiling is what an operator must hear about: the alert stays open
		// and memory keeps growing.
		level := slog.LevelInfo
		if res.Skipped == skippedCeiling {
			level = slog.LevelError
		}
		log.Log(ctx, level, "redis scale skipped", "reason", res.Skipped, "size", res.From, "unit", res.Unit, "state", res.State)
	default:
		log.InfoContext(ctx, "redis scale started", "from", res.From, "to", res.To, "unit", res.Unit, "operation", res.Operation)
	}
}

// read decodes the Pub/Sub message of a CloudEvent or of a plain push body.
func read(ctx context.Context, r *http.Request) (eventarc.Delivery, error) {
	if r.Header.Get("Ce-Specversion") != "" || strings.Contains(strings.ToLower(r.Header.Get("Content-Type")), "cloudevents") {
		e, err := binding.ToEvent(ctx, cehttp.NewMessageFromHttpRequest(r))
		if err != nil {
			return eventarc.Delivery{}, err
		}
		return eventarc.DecodeEventDelivery(*e)
	}
	body, err := io.ReadAll(r.Body)
	if err != nil {
		return eventarc.Delivery{}, err
	}
	return eventarc.DecodeDelivery(body, "")
}
