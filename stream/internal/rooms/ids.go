package rooms

import (
	"strconv"

	"github.com/vividly-edu/notifications/shared/rediskey"
)

// after reports whether message id a comes after b (ids compare as two numbers).
func after(a, b string) bool {
	x, err1 := rediskey.ParseStreamID(a)
	y, err2 := rediskey.ParseStreamID(b)
	return err1 == nil && (err2 != nil || x.Compare(y) > 0)
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
