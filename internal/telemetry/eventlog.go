package telemetry

import (
	"context"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"

	"github.com/switchboard-oss/switchboard/domain"
	"github.com/switchboard-oss/switchboard/eventlog"
)

const instrumentation = "github.com/switchboard-oss/switchboard/internal/telemetry"

// replayAge bounds which events a projector traces: a rebuild replays the whole history, and
// its spans would flood traces that ended long ago.
const replayAge = 10 * time.Minute

// Log is an eventlog.Log that traces Append and the handlers of Consume, and tells a Lag what
// each consumer group has applied. Everything else passes through.
type Log struct {
	eventlog.Log
	tracer trace.Tracer
	lag    *Lag
	now    func() time.Time
}

// TraceLog wraps log. tp may be a no-op provider (tracing off); lag may be nil.
func TraceLog(log eventlog.Log, tp trace.TracerProvider, lag *Lag) *Log {
	return &Log{Log: log, tracer: tp.Tracer(instrumentation), lag: lag, now: time.Now}
}

// Oldest passes eventlog.Retention through: a log that keeps everything has dropped nothing.
func (l *Log) Oldest(ctx context.Context) (eventlog.Cursor, error) {
	if r, ok := l.Log.(eventlog.Retention); ok {
		return r.Oldest(ctx)
	}
	return eventlog.Cursor{}, nil
}

// Append stamps events without a correlation id with the current trace id, appends them in an
// "eventlog.append" span, then records each new event's span (see EventSpanID).
func (l *Log) Append(ctx context.Context, events []domain.Event) ([]eventlog.AppendResult, error) {
	return l.traced(ctx, events, l.Log.Append)
}

// AppendStream is Append for the write model's expected-version appends.
func (l *Log) AppendStream(ctx context.Context, teamID, key string, expected int64, events []domain.Event) ([]eventlog.AppendResult, error) {
	return l.traced(ctx, events, func(ctx context.Context, events []domain.Event) ([]eventlog.AppendResult, error) {
		return l.Log.AppendStream(ctx, teamID, key, expected, events)
	})
}

func (l *Log) traced(ctx context.Context, events []domain.Event,
	appendEvents func(context.Context, []domain.Event) ([]eventlog.AppendResult, error)) ([]eventlog.AppendResult, error) {
	ctx, span := l.tracer.Start(ctx, "eventlog.append", trace.WithSpanKind(trace.SpanKindProducer),
		trace.WithAttributes(attribute.Int("switchboard.events", len(events))))
	defer span.End()
	sc := span.SpanContext()
	if sc.IsValid() {
		stamped := make([]domain.Event, len(events))
		for i, e := range events {
			if e.CorrelationID == "" {
				e.CorrelationID = sc.TraceID().String()
			}
			stamped[i] = e
		}
		events = stamped
	}
	started := l.now()
	res, err := appendEvents(ctx, events)
	if err != nil {
		span.RecordError(err)
		span.SetStatus(codes.Error, "append failed")
		return res, err
	}
	if !span.IsRecording() {
		return res, nil
	}
	for i, e := range events {
		if i >= len(res) || res[i].Duplicate || e.CorrelationID != sc.TraceID().String() {
			continue // already in the log (its span was recorded then), or another trace's
		}
		// The event's span covers the append that made it durable: it starts before any projector
		// can have read the event, so its children never start before it.
		_, es := l.tracer.Start(withSpanID(ctx, EventSpanID(e.ID)), "event "+e.Type(), trace.WithTimestamp(started), trace.WithAttributes(
			attribute.String("switchboard.event.id", e.ID), attribute.String("switchboard.event.type", e.Type()),
			attribute.String("switchboard.event.position", res[i].Position.String())))
		es.End()
	}
	return res, nil
}

// Consume wraps h: each record of a batch gets a span in its event's trace, parented on the
// event's span, for as long as the handler works on the batch; the Lag learns what was applied.
func (l *Log) Consume(ctx context.Context, group string, h eventlog.Handler) error {
	return l.Log.Consume(ctx, group, l.tracedHandler(group, h))
}

// ConsumeTypes wraps h as Consume does.
func (l *Log) ConsumeTypes(ctx context.Context, group string, types []string, h eventlog.Handler) error {
	return l.Log.ConsumeTypes(ctx, group, types, l.tracedHandler(group, h))
}

// tracedHandler is h with a span per record and the Lag told what was applied.
func (l *Log) tracedHandler(group string, h eventlog.Handler) eventlog.Handler {
	return func(ctx context.Context, records []eventlog.Record) error {
		var spans []trace.Span
		for _, r := range records {
			tid, err := trace.TraceIDFromHex(r.Event.CorrelationID)
			if err != nil || l.now().Sub(r.Event.RecordedAt) > replayAge {
				continue
			}
			parent := trace.NewSpanContext(trace.SpanContextConfig{TraceID: tid, SpanID: EventSpanID(r.Event.ID),
				TraceFlags: trace.FlagsSampled, Remote: true})
			_, sp := l.tracer.Start(trace.ContextWithRemoteSpanContext(ctx, parent), "project "+group,
				trace.WithSpanKind(trace.SpanKindConsumer), trace.WithAttributes(
					attribute.String("switchboard.projection", group), attribute.String("switchboard.event.id", r.Event.ID),
					attribute.String("switchboard.event.type", r.Event.Type()),
					attribute.String("switchboard.event.position", r.Position.String())))
			spans = append(spans, sp)
		}
		err := h(ctx, records)
		for _, sp := range spans {
			if err != nil {
				sp.RecordError(err)
				sp.SetStatus(codes.Error, "projection failed")
			}
			sp.End()
		}
		if err == nil && l.lag != nil && len(records) > 0 {
			l.lag.applied(group, records[len(records)-1].Event.RecordedAt)
		}
		return err
	}
}
