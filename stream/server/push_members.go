package server

import (
	"context"
	"time"

	"github.com/vividly-edu/notifications/shared/logging"
	"github.com/vividly-edu/notifications/stream/internal/auth"
)

// recordMembership notes the groups id's token shows, for pushing group and broadcast
// notifications (DESIGN "Push for groups and everyone"): when a stream opens and when
// a subscription or device is registered. A failure only delays that until the next
// time, so it is logged and the request goes on.
func (s *Server) recordMembership(ctx context.Context, id auth.Identity) {
	if s.push == nil || s.push.members == nil {
		return
	}
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	if err := s.push.members.Record(ctx, id.UserID, id.Groups); err != nil {
		s.log.WarnContext(ctx, "record push membership", logging.KeyUserID, id.UserID, logging.KeyError, err.Error())
	}
}
