package server

import (
	"context"
	"time"

	"github.com/vividly-edu/notifications/shared/logging"
	"github.com/vividly-edu/notifications/stream/internal/auth"
)

// MemberRecorder records the groups a token shows (redisbroker.Members).
type MemberRecorder interface {
	Record(ctx context.Context, user string, groups []string) error
}

// recordMembership notes the groups id's token shows — the audience of group and
// broadcast push (docs/PROTOCOL.md "Web Push") and of read receipts — when a
// stream opens and when a subscription or device is registered. A failure only delays
// that until the next time, so it is logged and the request goes on.
func (s *Server) recordMembership(ctx context.Context, id auth.Identity) {
	if s.members == nil {
		return
	}
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	if err := s.members.Record(ctx, id.UserID, id.Groups); err != nil {
		s.log.WarnContext(ctx, "record membership", logging.KeyUserID, id.UserID, logging.KeyError, err.Error())
	}
}
