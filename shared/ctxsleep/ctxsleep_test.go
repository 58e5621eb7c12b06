package ctxsleep_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/raprov/raprov/shared/ctxsleep"
)

func TestSleep(t *testing.T) {
	if err := ctxsleep.Sleep(context.Background(), time.Millisecond); err != nil {
		t.Fatalf("Sleep = %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	start := time.Now()
	if err := ctxsleep.Sleep(ctx, time.Hour); !errors.Is(err, context.Canceled) || time.Since(start) > time.Second {
		t.Fatalf("Sleep on a done context = %v after %s", err, time.Since(start))
	}
}
