package broker_test

import (
	"testing"
	"time"

	"github.com/vividly-edu/notifications/shared/broker"
	"github.com/vividly-edu/notifications/shared/broker/brokertest"
)

func TestMemoryScheduleContract(t *testing.T) {
	t.Parallel()
	brokertest.RunSchedule(t, func(*testing.T) broker.Schedule { return broker.NewMemorySchedule() })
}

func TestMemoryBefore(t *testing.T) {
	t.Parallel()
	brokertest.RunBefore(t, func(t *testing.T) brokertest.OlderReader {
		m, err := broker.NewMemory(broker.DefaultLimits, time.Now)
		if err != nil {
			t.Fatal(err)
		}
		return m
	})
}
