package main

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	coltracepb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	"google.golang.org/protobuf/proto"

	v1 "github.com/switchboard-oss/switchboard/proto/gen/switchboard/v1"
	"github.com/switchboard-oss/switchboard/proto/gen/switchboard/v1/switchboardv1connect"
)

// With OTEL_EXPORTER_OTLP_ENDPOINT set, the binary exports its spans over OTLP/HTTP: an RPC's
// span, the append, and the projectors', which a collector receives as one trace.
func TestTracesReachAnOTLPCollector(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the real binary")
	}
	var mu sync.Mutex
	names := map[string]map[string]bool{} // trace id → span names
	collector := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		var req coltracepb.ExportTraceServiceRequest
		if r.URL.Path != "/v1/traces" || proto.Unmarshal(body, &req) != nil {
			http.Error(w, "not an OTLP trace export", http.StatusBadRequest)
			return
		}
		mu.Lock()
		for _, rs := range req.ResourceSpans {
			for _, ss := range rs.ScopeSpans {
				for _, sp := range ss.Spans {
					id := string(sp.TraceId)
					if names[id] == nil {
						names[id] = map[string]bool{}
					}
					names[id][sp.Name] = true
				}
			}
		}
		mu.Unlock()
		w.Header().Set("Content-Type", "application/x-protobuf")
		b, _ := proto.Marshal(&coltracepb.ExportTraceServiceResponse{})
		_, _ = w.Write(b)
	}))
	defer collector.Close()
	t.Setenv("OTEL_EXPORTER_OTLP_ENDPOINT", collector.URL)
	t.Setenv("OTEL_BSP_SCHEDULE_DELAY", "100")

	p := startProcess(t, t.TempDir())
	base := "http://" + p.addr
	ctx := context.Background()
	link, err := switchboardv1connect.NewAccountServiceClient(http.DefaultClient, base).LinkAccount(ctx,
		authed(&v1.LinkAccountRequest{Platform: v1.Platform_PLATFORM_API, PlatformId: "otlp-shop"}))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := switchboardv1connect.NewIngestServiceClient(http.DefaultClient, base).IngestMessage(ctx, authed(&v1.IngestMessageRequest{
		AccountLinkId: link.Msg.AccountLink.Id, PlatformMessageId: "o1", Direction: v1.Direction_DIRECTION_INBOUND,
		Participant: &v1.Participant{PlatformId: "cust"}, Text: "traced"})); err != nil {
		t.Fatal(err)
	}
	want := []string{"switchboard.v1.IngestService/IngestMessage", "eventlog.append", "event message.received.v1",
		"project readmodel.v1", "project search.v1"}
	deadline := time.Now().Add(15 * time.Second)
	for {
		mu.Lock()
		var found bool
		for _, spans := range names {
			all := true
			for _, w := range want {
				all = all && spans[w]
			}
			found = found || all
		}
		got := len(names)
		mu.Unlock()
		if found {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the collector received %d traces, none with all of %v", got, want)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
