// Package eventcodec is the one place that converts domain events to and from the stored
// format: a binary-marshalled switchboard.events.v1.Envelope. Every event-log adapter stores
// these bytes, so the SQLite file, Kafka topics and exports all hold the same records.
package eventcodec

import (
	"errors"
	"fmt"
	"time"

	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/structpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/switchboard-oss/switchboard/domain"
	"github.com/switchboard-oss/switchboard/eventlog"
	eventsv1 "github.com/switchboard-oss/switchboard/proto/gen/switchboard/events/v1"
)

// Marshal returns the stored form of e.
func Marshal(e domain.Event) ([]byte, error) {
	env, err := ToProto(e)
	if err != nil {
		return nil, err
	}
	b, err := proto.MarshalOptions{Deterministic: true}.Marshal(env)
	if err != nil {
		return nil, fmt.Errorf("eventcodec: marshal event %s: %w", e.ID, err)
	}
	return b, nil
}

// Unmarshal parses the stored form of an event.
func Unmarshal(b []byte) (domain.Event, error) {
	var env eventsv1.Envelope
	if err := proto.Unmarshal(b, &env); err != nil {
		return domain.Event{}, fmt.Errorf("eventcodec: unmarshal envelope: %w", err)
	}
	return FromProto(&env)
}

// ToProto converts e to its envelope. The envelope's type is always the payload's EventType.
func ToProto(e domain.Event) (*eventsv1.Envelope, error) {
	if e.Payload == nil {
		return nil, fmt.Errorf("eventcodec: event %s has no payload", e.ID)
	}
	env := &eventsv1.Envelope{
		EventId:       e.ID,
		Type:          e.Payload.EventType(),
		TeamId:        e.TeamID,
		Key:           e.Key,
		OccurredAt:    timestampOf(e.OccurredAt),
		RecordedAt:    timestampOf(e.RecordedAt),
		Actor:         e.Actor,
		Origin:        string(e.Origin),
		CausationId:   e.CausationID,
		CorrelationId: e.CorrelationID,
	}
	if err := setPayload(env, e.Payload); err != nil {
		return nil, fmt.Errorf("eventcodec: event %s: %w", e.ID, err)
	}
	return env, nil
}

// FromProto converts an envelope to its event. It refuses an envelope whose type does not
// name its payload: a reader must never apply one fact as another.
func FromProto(env *eventsv1.Envelope) (domain.Event, error) {
	if env == nil {
		return domain.Event{}, errors.New("eventcodec: nil envelope")
	}
	if env.Payload == nil {
		// Also what a payload case added after this binary was built looks like.
		return domain.Event{}, fmt.Errorf("eventcodec: envelope %s of type %q has no payload this version knows", env.EventId, env.Type)
	}
	p, err := payloadOf(env)
	if err != nil {
		return domain.Event{}, fmt.Errorf("eventcodec: envelope %s: %w", env.EventId, err)
	}
	if env.Type != p.EventType() {
		return domain.Event{}, fmt.Errorf("eventcodec: envelope %s has type %q but carries a %s payload", env.EventId, env.Type, p.EventType())
	}
	occurred, err := timeOf("occurred_at", env.OccurredAt)
	if err != nil {
		return domain.Event{}, fmt.Errorf("eventcodec: envelope %s: %w", env.EventId, err)
	}
	recorded, err := timeOf("recorded_at", env.RecordedAt)
	if err != nil {
		return domain.Event{}, fmt.Errorf("eventcodec: envelope %s: %w", env.EventId, err)
	}
	return domain.Event{
		ID:            env.EventId,
		TeamID:        env.TeamId,
		Key:           env.Key,
		OccurredAt:    occurred,
		RecordedAt:    recorded,
		Actor:         env.Actor,
		Origin:        domain.Origin(env.Origin),
		CausationID:   env.CausationId,
		CorrelationID: env.CorrelationId,
		Payload:       p,
	}, nil
}

// PayloadStruct returns e's payload as its JSON (proto field names, so analysts see
// snake_case) in a google.protobuf.Struct. Unset fields are included with their zero value, so
// "healthy": false or an empty status_id is shown rather than silently missing.
func PayloadStruct(e domain.Event) (*structpb.Struct, error) {
	env, err := ToProto(e)
	if err != nil {
		return nil, err
	}
	m := env.ProtoReflect()
	fd := m.WhichOneof(m.Descriptor().Oneofs().ByName("payload"))
	if fd == nil {
		return nil, fmt.Errorf("eventcodec: event %s has no payload", e.ID)
	}
	js, err := protojson.MarshalOptions{UseProtoNames: true, EmitUnpopulated: true}.Marshal(m.Get(fd).Message().Interface())
	if err != nil {
		return nil, fmt.Errorf("eventcodec: payload of event %s as json: %w", e.ID, err)
	}
	s := &structpb.Struct{}
	if err := protojson.Unmarshal(js, s); err != nil {
		return nil, fmt.Errorf("eventcodec: payload of event %s as struct: %w", e.ID, err)
	}
	return s, nil
}

// timestampOf maps the zero time to no timestamp, so "unset" survives a round trip.
func timestampOf(t time.Time) *timestamppb.Timestamp {
	if t.IsZero() {
		return nil
	}
	return timestamppb.New(t)
}

// timeOf returns times in UTC, so equal instants compare equal whatever zone wrote them.
func timeOf(field string, ts *timestamppb.Timestamp) (time.Time, error) {
	if ts == nil {
		return time.Time{}, nil
	}
	if err := ts.CheckValid(); err != nil {
		return time.Time{}, fmt.Errorf("%s: %w", field, err)
	}
	return ts.AsTime(), nil
}

func platformName(p domain.Platform) string { return p.String() }

// parsePlatform keeps an unset platform unset; a name this version does not know is an error.
func parsePlatform(name string) (domain.Platform, error) {
	if name == "" {
		return domain.Platform{}, nil
	}
	return domain.ParsePlatform(name)
}

func parseDirection(name string) (domain.Direction, error) {
	if name == "" {
		return domain.Direction{}, nil
	}
	return domain.ParseDirection(name)
}

func participantToProto(p domain.Participant) *eventsv1.Participant {
	if p == (domain.Participant{}) {
		return nil
	}
	return &eventsv1.Participant{PlatformId: p.PlatformID, Username: p.Username, DisplayName: p.DisplayName, AvatarUrl: p.AvatarURL}
}

func participantFromProto(p *eventsv1.Participant) domain.Participant {
	return domain.Participant{PlatformID: p.GetPlatformId(), Username: p.GetUsername(), DisplayName: p.GetDisplayName(), AvatarURL: p.GetAvatarUrl()}
}

func attachmentsToProto(as []domain.Attachment) []*eventsv1.Attachment {
	if len(as) == 0 {
		return nil
	}
	out := make([]*eventsv1.Attachment, len(as))
	for i, a := range as {
		out[i] = &eventsv1.Attachment{Type: a.Type, Url: a.URL, MimeType: a.MimeType, PlatformId: a.PlatformID, Name: a.Name}
	}
	return out
}

func attachmentsFromProto(as []*eventsv1.Attachment) []domain.Attachment {
	if len(as) == 0 {
		return nil
	}
	out := make([]domain.Attachment, len(as))
	for i, a := range as {
		out[i] = domain.Attachment{Type: a.GetType(), URL: a.GetUrl(), MimeType: a.GetMimeType(), PlatformID: a.GetPlatformId(), Name: a.GetName()}
	}
	return out
}

// emptyNil keeps a nil/empty distinction-free representation: proto3 stores neither.
func emptyNil(b []byte) []byte {
	if len(b) == 0 {
		return nil
	}
	return b
}

func mapOrNil(m map[string]string) map[string]string {
	if len(m) == 0 {
		return nil
	}
	return m
}

// MarshalBatch validates (eventlog.Validate) and encodes a batch before any of it is written,
// so every log adapter refuses an incomplete batch whole, with the same error.
func MarshalBatch(events []domain.Event) ([][]byte, error) {
	envelopes := make([][]byte, len(events))
	for i, e := range events {
		if err := eventlog.Validate(e); err != nil {
			return nil, fmt.Errorf("append event %d of %d: %w", i+1, len(events), err)
		}
		b, err := Marshal(e)
		if err != nil {
			return nil, fmt.Errorf("append event %d of %d: %w", i+1, len(events), err)
		}
		envelopes[i] = b
	}
	return envelopes, nil
}
