package broker_test

import (
	"testing"

	"github.com/vividly-edu/notifications/shared/broker"
	"github.com/vividly-edu/notifications/shared/broker/brokertest"
)

func TestMemoryScheduleContract(t *testing.T) {
	t.Parallel()
	brokertest.RunSchedule(t, func(*testing.T) broker.Schedule { return broker.NewMemorySchedule() })
}
