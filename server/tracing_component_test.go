package server_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/switchboard-oss/switchboard/internal/telemetry"
	v1 "github.com/switchboard-oss/switchboard/proto/gen/switchboard/v1"
	"github.com/switchboard-oss/switchboard/server"
)

// TestTraceFromRPCToProjectors: an IngestMessage call is one trace: the RPC's span, the append
// under it, the event's span under the append, and under the event each projector's span
// (read model and search), applied later by other goroutines. The event's correlation_id is
// that trace's id.
func TestTraceFromRPCToProjectors(t *testing.T) {
	spans := tracetest.NewInMemoryExporter()
	tp := telemetry.NewTracerProvider(sdktrace.WithSyncer(spans))
	defer tp.Shutdown(context.Background())
	s := startServerWith(t, server.Config{DataDir: t.TempDir(), TracerProvider: tp})
	a := api{t, newConnectClient(s.Addr), adminKey}
	acc := a.link(v1.Platform_PLATFORM_API, "traced-shop")
	res := a.ingest(msg{link: acc.Id, prospect: "cust-1", id: "m-1", dir: v1.Direction_DIRECTION_INBOUND, text: "trace me", at: at(1)})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := s.WaitCaughtUp(ctx); err != nil {
		t.Fatal(err)
	}

	var event *v1.Event
	for _, e := range a.events() {
		if e.Type == "message.received.v1" {
			event = e
		}
	}
	if event == nil {
		t.Fatal("no message.received.v1 event")
	}
	byName := func(name string) tracetest.SpanStub {
		t.Helper()
		var found []tracetest.SpanStub
		for _, sp := range spans.GetSpans() {
			if sp.Name == name && sp.SpanContext.TraceID().String() == event.CorrelationId {
				found = append(found, sp)
			}
		}
		if len(found) == 0 { // a projector retrying a batch would add one more span: still this trace
			var all []string
			for _, sp := range spans.GetSpans() {
				all = append(all, sp.Name+"@"+sp.SpanContext.TraceID().String())
			}
			t.Fatalf("no span %q in trace %q (the event's correlation id); spans: %s", name,
				event.CorrelationId, strings.Join(all, ", "))
		}
		return found[0]
	}
	rpc := byName("switchboard.v1.IngestService/IngestMessage")
	appendSpan := byName("eventlog.append")
	eventSpan := byName("event message.received.v1")
	if appendSpan.Parent.SpanID() != rpc.SpanContext.SpanID() {
		t.Errorf("the append's parent is %s, want the RPC's span %s", appendSpan.Parent.SpanID(), rpc.SpanContext.SpanID())
	}
	if eventSpan.Parent.SpanID() != appendSpan.SpanContext.SpanID() || eventSpan.SpanContext.SpanID() != telemetry.EventSpanID(event.EventId) {
		t.Errorf("the event's span %s (parent %s), want %s under the append", eventSpan.SpanContext.SpanID(), eventSpan.Parent.SpanID(),
			telemetry.EventSpanID(event.EventId))
	}
	for _, group := range []string{"readmodel.v1", "search.v1"} {
		p := byName("project " + group)
		if p.Parent.SpanID() != eventSpan.SpanContext.SpanID() {
			t.Errorf("project %s: parent %s, want the event's span %s", group, p.Parent.SpanID(), eventSpan.SpanContext.SpanID())
		}
		if p.StartTime.Before(eventSpan.StartTime) {
			t.Errorf("project %s started before the event was appended", group)
		}
	}
	if res.MessageId == "" {
		t.Fatal("no message id")
	}
}

// TestProjectorLag: /metrics and /readyz report each projector's lag; caught up, it is 0.
func TestProjectorLag(t *testing.T) {
	s := startServer(t, t.TempDir())
	a := api{t, newConnectClient(s.Addr), adminKey}
	acc := a.link(v1.Platform_PLATFORM_API, "lag-shop")
	a.ingest(msg{link: acc.Id, prospect: "cust-1", id: "m-1", dir: v1.Direction_DIRECTION_INBOUND, text: "hello", at: at(1)})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := s.WaitCaughtUp(ctx); err != nil {
		t.Fatal(err)
	}
	get := func(path string) string {
		t.Helper()
		res, err := http.Get("http://" + s.Addr + path)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		if res.StatusCode != http.StatusOK {
			t.Fatalf("%s: %d %s", path, res.StatusCode, b)
		}
		return string(b)
	}
	metrics := get("/metrics")
	for _, line := range []string{`switchboard_projector_lag_events{group="readmodel.v1"} 0`, `switchboard_projector_lag_events{group="search.v1"} 0`,
		`switchboard_projector_lag_seconds{group="readmodel.v1"} 0`, `switchboard_projector_lag_seconds{group="search.v1"} 0`,
		`switchboard_projector_lag_events{group="analytics.v2"} 0`, `switchboard_projector_lag_seconds{group="analytics.v2"} 0`} {
		if !strings.Contains(metrics, line+"\n") {
			t.Errorf("/metrics has no line %q", line)
		}
	}
	var ready struct {
		Ready bool                          `json:"ready"`
		Lag   map[string]telemetry.GroupLag `json:"projector_lag"`
	}
	if err := json.Unmarshal([]byte(get("/readyz")), &ready); err != nil {
		t.Fatal(err)
	}
	if !ready.Ready || len(ready.Lag) != 3 || ready.Lag["readmodel.v1"] != (telemetry.GroupLag{}) || ready.Lag["search.v1"] != (telemetry.GroupLag{}) ||
		ready.Lag["analytics.v2"] != (telemetry.GroupLag{}) {
		t.Errorf("/readyz: %+v, want ready with the three projectors at lag 0", ready)
	}
}
