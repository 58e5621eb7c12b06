package tracing_test

import (
	"os/exec"
	"strings"
	"testing"
)

// The tracing packages, which every Lambda function links, link neither
// the upstream OTLP exporter nor what made it too big for a Lambda zip:
// the generated OTLP types, the protobuf runtime (proto, protojson,
// reflection) and gRPC. Only protowire, the wire-format primitives.
func TestTracingLinksNoProtobufRuntime(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", "github.com/raprov/raprov/shared/tracing").Output()
	if err != nil {
		t.Fatalf("go list -deps: %v", err)
	}
	deps := strings.Fields(string(out))
	for _, d := range deps {
		for _, banned := range []string{
			"go.opentelemetry.io/otel/exporters/",
			"go.opentelemetry.io/proto/otlp",
			"google.golang.org/grpc",
			"google.golang.org/protobuf/proto",
			"google.golang.org/protobuf/encoding/protojson",
			"google.golang.org/protobuf/reflect/",
			"google.golang.org/protobuf/internal/impl",
		} {
			if strings.HasPrefix(d, banned) {
				t.Errorf("shared/tracing links %s", d)
			}
		}
	}
	if !strings.Contains(string(out), "google.golang.org/protobuf/encoding/protowire\n") {
		t.Error("shared/tracing does not link protowire: is the exporter still raprov's own?")
	}
}
