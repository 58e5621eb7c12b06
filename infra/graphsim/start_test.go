package graphsim_test

import (
	"bytes"
	"context"
	"log/slog"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/raprov/raprov/infra/graphsim"
)

// syncBuffer is a bytes.Buffer safe for concurrent writers.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// A client that hangs up mid-handshake is logged by the simulator's logger
// at debug level, not printed on stderr by net/http.
func TestServerErrorsGoToTheLogger(t *testing.T) {
	var logs syncBuffer
	cfg := graphsim.Config{Seed: graphsim.DefaultSeed(),
		Logger: slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))}
	run, err := graphsim.Start(context.Background(), cfg, "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer run.Close()

	conn, err := net.Dial("tcp", strings.TrimPrefix(run.URL, "https://"))
	if err != nil {
		t.Fatal(err)
	}
	conn.Write([]byte("this is not a TLS client hello\r\n\r\n"))
	conn.Close()

	deadline := time.Now().Add(5 * time.Second)
	for !strings.Contains(logs.String(), "TLS handshake error") {
		if time.Now().After(deadline) {
			t.Fatalf("no handshake error in the simulator's log:\n%s", logs.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
	for _, line := range strings.Split(logs.String(), "\n") {
		if strings.Contains(line, "TLS handshake error") && !strings.Contains(line, `"level":"DEBUG"`) {
			t.Errorf("handshake error not at debug level: %s", line)
		}
	}
}
