package broker_test

import (
	"errors"
	"testing"

	"github.com/vividly-edu/notifications/shared/broker"
)

func TestReadDataAndEmptyMark(t *testing.T) {
	t.Parallel()
	if string(broker.ReadData([]string{"1-0"}, false)) != `{"ids":["1-0"]}` {
		t.Errorf("ReadData = %s", broker.ReadData([]string{"1-0"}, false))
	}
	if _, err := (broker.ReadMark{}).Validate(); !errors.Is(err, broker.ErrInvalid) {
		t.Errorf("empty mark: %v", err)
	}
}
