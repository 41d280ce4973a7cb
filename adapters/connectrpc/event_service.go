package connectrpc

import (
	"context"
	"errors"
	"time"

	"google.golang.org/protobuf/types/known/structpb"

	"connectrpc.com/connect"

	"github.com/switchboard-oss/switchboard/adapters/eventcodec"
	"github.com/switchboard-oss/switchboard/commands"
	"github.com/switchboard-oss/switchboard/domain"
	"github.com/switchboard-oss/switchboard/eventlog"
	v1 "github.com/switchboard-oss/switchboard/proto/gen/switchboard/v1"
	"github.com/switchboard-oss/switchboard/proto/gen/switchboard/v1/switchboardv1connect"
)

type eventService struct{ d Deps }

// NewEventService returns the EventService handler: the team's history for analysts.
func NewEventService(d Deps) switchboardv1connect.EventServiceHandler { return eventService{d} }

// eventToProto renders a record for its reader. Its position is the reader's token of the
// cursor just past it in its listing or stream, every partition included, not its own partition
// and offset alone: resuming after it (as after_position) neither skips nor repeats an event on
// a log of several partitions, where a lone position would read the other partitions again
// from their start. It costs a longer token: one entry per partition the team's events are in.
func eventToProto(r eventlog.Record, a commands.Actor, position string) (*v1.Event, error) {
	data, err := eventcodec.PayloadStruct(r.Event)
	if err != nil {
		return nil, err
	}
	redact(r.Event.Type(), data, a)
	e := r.Event
	return &v1.Event{Position: position, EventId: e.ID, Type: e.Type(), Key: e.Key,
		OccurredAt: ts(e.OccurredAt), RecordedAt: ts(e.RecordedAt), Actor: e.Actor, Origin: string(e.Origin),
		Data: data, CausationId: e.CausationID, CorrelationId: e.CorrelationID}, nil
}

// ExportEvent renders a record as ListEvents renders it to a team's owner, with position as
// given: what switchboard events export --data-dir writes, so that a file exported from a
// stopped server's folder has the shape of one exported through the API.
func ExportEvent(r eventlog.Record, position string) (*v1.Event, error) {
	return eventToProto(r, commands.Actor{TeamID: r.Event.TeamID, Role: string(domain.RoleOwner)}, position)
}

// securityEvents are shown to owners only; other members see which key or member they concern.
var securityEvents = map[string]bool{domain.TypeAPIKeyCreated: true, domain.TypeAPIKeyRevoked: true}

// redact removes from an event's data what its reader may not see: a key's hash from everyone
// (it is HMAC'd, yet useless to any reader), and the details of security events from members
// who are not owners.
func redact(eventType string, data *structpb.Struct, a commands.Actor) {
	if data == nil {
		return
	}
	delete(data.Fields, "key_hash")
	if securityEvents[eventType] && a.Role != string(domain.RoleOwner) {
		for k := range data.Fields {
			if k != "key_id" && k != "member_id" {
				delete(data.Fields, k)
			}
		}
	}
}

func (s eventService) ListEvents(ctx context.Context, req *connect.Request[v1.ListEventsRequest]) (*connect.Response[v1.ListEventsResponse], error) {
	return handle(s.d, ctx, req, func(ctx context.Context, a commands.Actor, m *v1.ListEventsRequest) (*v1.ListEventsResponse, error) {
		after, err := s.d.Positions.Decode(a.TeamID, "after_position", m.AfterPosition)
		if err != nil {
			return nil, err
		}
		size := int(m.PageSize)
		switch {
		case size < 0:
			return nil, domain.Invalid("page_size", "must not be negative")
		case size == 0:
			size = 100
		case size > 1000:
			size = 1000
		}
		q := eventlog.Query{After: after, TeamID: a.TeamID, Types: m.Types, Key: m.Key, Limit: size}
		if m.From != nil {
			q.From = m.From.AsTime()
		}
		if m.To != nil {
			q.To = m.To.AsTime()
		}
		recs, err := s.d.Log.Read(ctx, q)
		if err != nil {
			return nil, domain.Unavailable("the event log", err)
		}
		out := &v1.ListEventsResponse{Events: make([]*v1.Event, 0, len(recs))}
		for _, r := range recs {
			after.Advance(r.Position)
			e, err := eventToProto(r, a, s.d.Positions.Encode(a.TeamID, after))
			if err != nil {
				return nil, err
			}
			out.Events = append(out.Events, e)
		}
		out.NextPosition = s.d.Positions.Encode(a.TeamID, after)
		return out, nil
	})
}

// changeNotifier is a log that says when it has new events (the embedded one).
type changeNotifier interface {
	Changed() <-chan struct{}
}

// errShuttingDown ends streams when the server stops: Unavailable, so clients reconnect.
var errShuttingDown = connect.NewError(connect.CodeUnavailable,
	errors.New("the server is shutting down: reconnect with after_position set to the last position received"))

// Idle streams on a log without notifications (Kafka) poll, less often the longer they idle.
const (
	minIdlePoll = 100 * time.Millisecond
	maxIdlePoll = time.Second
	// notifiedIdlePoll is a safety net for logs that notify: appends of other processes.
	notifiedIdlePoll = 30 * time.Second
)

// StreamEvents sends the team's events after a position, then tails the log. An idle stream
// waits for the log's notification of new events where the log gives one. It ends when its
// client goes, or at once with Unavailable when the server shuts down.
func (s eventService) StreamEvents(ctx context.Context, req *connect.Request[v1.StreamEventsRequest], stream *connect.ServerStream[v1.Event]) error {
	a := actorFrom(ctx)
	after, err := s.d.Positions.Decode(a.TeamID, "after_position", req.Msg.AfterPosition)
	if err != nil {
		return toConnect(ctx, s.d.Logger, err)
	}
	notifier, _ := s.d.Log.(changeNotifier)
	poll := minIdlePoll
	for {
		var wake <-chan struct{}
		if notifier != nil {
			wake = notifier.Changed() // taken before reading: a commit in between still wakes us
		}
		if s.stopping() {
			return errShuttingDown
		}
		recs, err := s.d.Log.Read(ctx, eventlog.Query{After: after, TeamID: a.TeamID, Types: req.Msg.Types, Limit: 500})
		if err != nil {
			switch {
			case ctx.Err() != nil:
				return nil
			case s.stopping():
				return errShuttingDown
			}
			return toConnect(ctx, s.d.Logger, domain.Unavailable("the event log", err))
		}
		for _, r := range recs {
			after.Advance(r.Position)
			e, err := eventToProto(r, a, s.d.Positions.Encode(a.TeamID, after))
			if err != nil {
				return toConnect(ctx, s.d.Logger, err)
			}
			if err := stream.Send(e); err != nil {
				return err
			}
		}
		if len(recs) > 0 {
			poll = minIdlePoll
			continue
		}
		wait := notifiedIdlePoll
		if notifier == nil {
			wait, poll = poll, min(2*poll, maxIdlePoll)
		}
		timer := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			timer.Stop()
			return nil
		case <-s.d.Stopping:
			timer.Stop()
			return errShuttingDown
		case <-wake:
		case <-timer.C:
		}
		timer.Stop()
	}
}

func (s eventService) stopping() bool {
	select {
	case <-s.d.Stopping:
		return true
	default:
		return false
	}
}
