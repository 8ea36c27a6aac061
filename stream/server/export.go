package server

import (
	"net/http"

	"github.com/vividly-edu/notifications/shared/logging"
	"github.com/vividly-edu/notifications/stream/internal/auth"
)

// export serves GET /api/v1/notifications/export (Bearer): everything stored about the
// caller (docs/PRIVACY.md) — the token's user, never another: nothing
// in the request names a user. The notifications of the group and broadcast logs the
// token reads are included with the caller's own.
func (s *Server) export(w http.ResponseWriter, r *http.Request, id auth.Identity) {
	ctx := logging.WithTrace(r.Context(), r.Header)
	if s.privacy == nil {
		writeError(w, http.StatusNotImplemented, "this deployment has no export", 0)
		return
	}
	ex, err := s.privacy.Export(ctx, id.UserID, streamSources(id)[1:])
	if err != nil {
		s.unavailable(ctx, w, id.UserID, "export", err)
		return
	}
	w.Header().Set("Content-Disposition", `attachment; filename="notifications-export.json"`)
	writeJSON(w, http.StatusOK, ex)
}
