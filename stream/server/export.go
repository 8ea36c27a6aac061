package server

import (
	"net/http"

	"github.com/vividly-edu/notifications/stream/internal/auth"
)

// export serves GET /api/v1/notifications/export (Bearer): everything stored about the
// caller (docs/PRIVACY.md) — the token's user, never another: nothing
// in the request names a user. The notifications of the group and broadcast logs the
// token reads are included with the caller's own.
func (s *Server) export(w http.ResponseWriter, r *http.Request, id auth.Identity) error {
	if s.privacy == nil {
		return &apiError{status: http.StatusNotImplemented, msg: "this deployment has no export"}
	}
	ex, err := s.privacy.Export(r.Context(), id.UserID, streamSources(id)[1:])
	if err != nil {
		return failed("export", err)
	}
	w.Header().Set("Content-Disposition", `attachment; filename="notifications-export.json"`)
	writeJSON(w, http.StatusOK, ex)
	return nil
}
