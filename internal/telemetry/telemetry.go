// Package telemetry sets up OpenTelemetry tracing and traces the event log: an RPC (or a
// webhook) appends events, and the projectors that apply them later continue the same trace.
//
// The envelope's correlation_id carries the trace across the log: Append stamps every event
// that has none with the current trace id, and records one instantaneous span per event whose
// span id derives from the event id (EventSpanID); a projector's span for that event has the
// trace id of its correlation_id and that span as parent. No field is added to the events.
package telemetry

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"strings"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
)

// Enabled reports whether the environment asks for traces, following the OpenTelemetry
// conventions: an OTLP endpoint is set (OTEL_EXPORTER_OTLP_ENDPOINT or
// OTEL_EXPORTER_OTLP_TRACES_ENDPOINT), and neither OTEL_SDK_DISABLED=true nor
// OTEL_TRACES_EXPORTER=none says otherwise.
func Enabled(getenv func(string) string) bool {
	if strings.EqualFold(getenv("OTEL_SDK_DISABLED"), "true") || strings.EqualFold(getenv("OTEL_TRACES_EXPORTER"), "none") {
		return false
	}
	return getenv("OTEL_EXPORTER_OTLP_ENDPOINT") != "" || getenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") != ""
}

// Setup installs a global tracer provider exporting over OTLP/HTTP when Enabled, and the W3C
// trace-context and baggage propagators. The exporter, the batch processor and the sampler read
// their own OTEL_* variables (endpoint, headers, timeout, OTEL_TRACES_SAMPLER, OTEL_BSP_*), and
// OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES name the resource. The returned shutdown
// flushes what is pending; it is a no-op when tracing is off.
func Setup(ctx context.Context, getenv func(string) string, version string) (shutdown func(context.Context) error, err error) {
	otel.SetTextMapPropagator(propagation.NewCompositeTextMapPropagator(propagation.TraceContext{}, propagation.Baggage{}))
	if !Enabled(getenv) {
		return func(context.Context) error { return nil }, nil
	}
	for _, name := range []string{"OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "OTEL_EXPORTER_OTLP_PROTOCOL"} {
		if p := getenv(name); p != "" {
			if p != "http/protobuf" {
				return nil, fmt.Errorf("%s=%s: switchboard exports traces over OTLP http/protobuf only (the collector's port 4318)", name, p)
			}
			break
		}
	}
	exp, err := otlptracehttp.New(ctx)
	if err != nil {
		return nil, fmt.Errorf("OTLP trace exporter: %w", err)
	}
	res, err := resource.New(ctx, resource.WithAttributes(attribute.String("service.name", "switchboard"),
		attribute.String("service.version", version)), resource.WithFromEnv(), resource.WithTelemetrySDK())
	if err != nil {
		return nil, fmt.Errorf("OpenTelemetry resource (OTEL_RESOURCE_ATTRIBUTES): %w", err)
	}
	tp := NewTracerProvider(sdktrace.WithBatcher(exp), sdktrace.WithResource(res))
	otel.SetTracerProvider(tp)
	return tp.Shutdown, nil
}

// NewTracerProvider is sdktrace.NewTracerProvider with the id generator that gives each
// event's span its derived id (EventSpanID). Tests use it with an in-memory exporter.
func NewTracerProvider(opts ...sdktrace.TracerProviderOption) *sdktrace.TracerProvider {
	return sdktrace.NewTracerProvider(append([]sdktrace.TracerProviderOption{sdktrace.WithIDGenerator(idGenerator{})}, opts...)...)
}

// EventSpanID is the span id of an event's span: derived from the event id, so a projector
// that reads the event later can name its parent without any field in the event for it.
func EventSpanID(eventID string) trace.SpanID {
	sum := sha256.Sum256([]byte("switchboard.event/" + eventID))
	var id trace.SpanID
	copy(id[:], sum[:8])
	return id
}

type spanIDKey struct{}

// withSpanID asks the id generator for this span id for the next span started from ctx.
func withSpanID(ctx context.Context, id trace.SpanID) context.Context {
	return context.WithValue(ctx, spanIDKey{}, id)
}

// idGenerator makes random ids, except for a span whose context asks for one (withSpanID).
type idGenerator struct{}

func (idGenerator) NewIDs(ctx context.Context) (trace.TraceID, trace.SpanID) {
	var tid trace.TraceID
	for !tid.IsValid() {
		_, _ = rand.Read(tid[:])
	}
	return tid, idGenerator{}.NewSpanID(ctx, tid)
}

func (idGenerator) NewSpanID(ctx context.Context, _ trace.TraceID) trace.SpanID {
	if id, ok := ctx.Value(spanIDKey{}).(trace.SpanID); ok && id.IsValid() {
		return id
	}
	var sid trace.SpanID
	for !sid.IsValid() {
		binary.BigEndian.PutUint64(sid[:], randUint64())
	}
	return sid
}

func randUint64() uint64 {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return binary.BigEndian.Uint64(b[:])
}
