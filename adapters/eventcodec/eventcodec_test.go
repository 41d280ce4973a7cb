package eventcodec

import (
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/switchboard-oss/switchboard/domain"
	eventsv1 "github.com/switchboard-oss/switchboard/proto/gen/switchboard/events/v1"
)

var (
	t0 = time.Date(2025, 3, 14, 15, 9, 26, 535897932, time.UTC)
	t1 = t0.Add(1500 * time.Millisecond)
	t2 = t0.Add(-time.Hour)
)

func participant(n string) domain.Participant {
	return domain.Participant{PlatformID: "pid-" + n, Username: "user_" + n, DisplayName: "Name " + n, AvatarURL: "https://cdn.example/" + n + ".png"}
}

func attachments() []domain.Attachment {
	return []domain.Attachment{
		{Type: "image", URL: "https://cdn.example/a.jpg", MimeType: "image/jpeg", PlatformID: "att1", Name: "a.jpg"},
		{Type: "file", URL: "https://cdn.example/b.pdf", MimeType: "application/pdf", PlatformID: "att2", Name: "b.pdf"},
	}
}

// samplePayloads holds one fully populated value of every payload type.
func samplePayloads() []domain.Payload {
	return []domain.Payload{
		domain.TeamCreated{TeamID: "team_1", Name: "Acme"},
		domain.MemberAdded{MemberID: "mem_1", Email: "ada@example.com", Name: "Ada", Role: "owner"},
		domain.APIKeyCreated{KeyID: "key_1", MemberID: "mem_1", KeyHash: "9f86d081884c7d65", InstanceAdmin: true, Prefix: "sb_abcd"},
		domain.APIKeyRevoked{KeyID: "key_1", MemberID: "mem_1", Reason: "revoked"},
		domain.MemberRemoved{MemberID: "mem_1"},
		domain.TagCreated{TagID: "tag_1", Name: "vip", Color: "#ff0000"},
		domain.TagDeleted{TagID: "tag_1"},
		domain.StatusCreated{StatusID: "sts_1", Name: "Qualified", Position: 3},
		domain.AccountLinked{AccountLinkID: "acc_1", Platform: domain.PlatformInstagram, PlatformID: "1784", Username: "acme", DisplayName: "Acme Inc", WebhookPath: "/webhooks/instagram/acc_1"},
		domain.AccountUnlinked{AccountLinkID: "acc_1"},
		domain.AccountHealthChanged{AccountLinkID: "acc_1", Healthy: true, Reason: "token refreshed"},
		domain.AccountTokenRefreshed{AccountLinkID: "acc_1", ExpiresAt: t2},
		domain.WebhookSubscriptionCreated{SubscriptionID: "whs_1", URL: "https://hooks.example/in", Description: "crm",
			MemberID: "mem_1", EventTypes: []string{"message.received.v1", "thread.done.v1"}},
		domain.WebhookSubscriptionUpdated{SubscriptionID: "whs_1", URL: "https://hooks.example/v2", Description: "crm 2",
			EventTypes: []string{"message.received.v1"}, Paused: true},
		domain.WebhookSubscriptionDeleted{SubscriptionID: "whs_1"},
		domain.WebhookSubscriptionDisabled{SubscriptionID: "whs_1", Reason: "HTTP 503 for 72h0m0s"},
		domain.MessageReceived{
			MessageID: "msg_1", ThreadID: "thr_1", ProspectID: "prs_1", AccountLinkID: "acc_1",
			Platform: domain.PlatformWhatsApp, PlatformMessageID: "wamid.1", PlatformConversationID: "conv1",
			Direction: domain.Outbound, Prospect: participant("p"), Sender: participant("s"),
			Text: "héllo 👋", Attachments: attachments(), SentAt: t2,
			ReplyToPlatformMessageID: "wamid.0", ReplyToMessageID: "msg_0",
			Raw: []byte(`{"entry":[]}`), RawContentType: "application/json",
			Decision: fullDecision, ClientMessageID: "msg_9", Automated: true,
		},
		domain.MessageSendRequested{MessageID: "msg_2", ThreadID: "thr_1", ProspectID: "prs_1", AccountLinkID: "acc_1", Platform: domain.PlatformTelegram,
			Text: "hi", Attachments: attachments(), Decision: fullDecision, RecipientPlatformID: "42", PlatformConversationID: "-100",
			ReplyToMessageID: "msg_1", ReplyToPlatformMessageID: "7", MessageTag: "HUMAN_AGENT",
			Template: &domain.Template{Name: "order_update", Language: "en_US", Parameters: []string{"Ada"}}},
		domain.MessageSent{MessageID: "msg_2", ThreadID: "thr_1", ProspectID: "prs_1", PlatformMessageID: "tg-42", SentAt: t2},
		domain.MessageSendFailed{MessageID: "msg_2", ThreadID: "thr_1", ProspectID: "prs_1", Reason: "outside the 24h window", Permanent: true,
			PlatformErrorCode: "10"},
		domain.MessageSendAttempted{MessageID: "msg_2", ThreadID: "thr_1", ProspectID: "prs_1", Attempt: 2},
		domain.MessageSendRetried{MessageID: "msg_2", ThreadID: "thr_1", ProspectID: "prs_1"},
		domain.MessageSendCancelled{MessageID: "msg_2", ThreadID: "thr_1", ProspectID: "prs_1"},
		domain.MessageDeliveryUpdated{MessageID: "msg_2", ThreadID: "thr_1", ProspectID: "prs_1", Status: "read", At: t1},
		domain.MessageEdited{MessageID: "msg_1", ThreadID: "thr_1", ProspectID: "prs_1", Text: "edited", Raw: []byte{0, 1, 2, 0xff}},
		domain.MessageDeleted{MessageID: "msg_1", ThreadID: "thr_1", ProspectID: "prs_1", Raw: []byte("raw")},
		domain.ThreadRead{ThreadID: "thr_1", ProspectID: "prs_1"},
		domain.ThreadSeen{ThreadID: "thr_1", ProspectID: "prs_1", SeenAt: t1},
		domain.ThreadAssigned{ThreadID: "thr_1", ProspectID: "prs_1", MemberID: "mem_1", Decision: fullDecision},
		domain.ThreadUnassigned{ThreadID: "thr_1", ProspectID: "prs_1"},
		domain.ThreadDone{ThreadID: "thr_1", ProspectID: "prs_1", Decision: fullDecision},
		domain.ThreadReopened{ThreadID: "thr_1", ProspectID: "prs_1"},
		domain.ProspectProfileUpdated{ProspectID: "prs_1", Platform: domain.PlatformBluesky, PlatformID: "did:plc:1", Username: "ada.bsky.social", DisplayName: "Ada", AvatarURL: "https://cdn.example/ada.png"},
		domain.ProspectTagged{ProspectID: "prs_1", TagID: "tag_1", Decision: fullDecision},
		domain.ProspectUntagged{ProspectID: "prs_1", TagID: "tag_1"},
		domain.ProspectStatusChanged{ProspectID: "prs_1", StatusID: "sts_1", Decision: fullDecision},
		domain.ProspectContextUpdated{ProspectID: "prs_1", Notes: "met at a fair", Valuation: 1234.5, CustomFields: map[string]string{"company": "Acme", "size": "50"}},
		domain.PlatformUnhandled{AccountLinkID: "acc_1", Platform: domain.PlatformInstagram, Kind: "reaction", Raw: []byte(`{"reaction":"love"}`), RawContentType: "application/json"},
	}
}

func sampleEvent(p domain.Payload) domain.Event {
	return domain.Event{
		ID: "evt_1", TeamID: "team_1", Key: "prs_1", OccurredAt: t0, RecordedAt: t1,
		Actor: domain.ActorMember("mem_1"), Origin: domain.OriginWebhook,
		CausationID: "evt_0", CorrelationID: "req_1", Payload: p,
	}
}

// assertAllSet fails for every zero field, recursively, so a sample cannot hide a field the
// codec forgets.
func assertAllSet(t *testing.T, path string, v reflect.Value) {
	t.Helper()
	if v.IsZero() {
		t.Errorf("%s is zero: populate it in the sample", path)
		return
	}
	switch v.Kind() {
	case reflect.Struct:
		if v.Type() == reflect.TypeOf(time.Time{}) || v.Type() == reflect.TypeOf(domain.Platform{}) || v.Type() == reflect.TypeOf(domain.Direction{}) {
			return // opaque values: non-zero is all that matters
		}
		for i := range v.NumField() {
			assertAllSet(t, path+"."+v.Type().Field(i).Name, v.Field(i))
		}
	case reflect.Slice:
		if v.Type().Elem().Kind() == reflect.Uint8 {
			return // bytes: a zero byte is data
		}
		for i := range v.Len() {
			assertAllSet(t, path+"["+strconv.Itoa(i)+"]", v.Index(i))
		}
	case reflect.Interface, reflect.Pointer:
		assertAllSet(t, path, v.Elem())
	}
}

// assertProtoAllSet fails for every unset field of m, so a proto field the codec never fills
// (or a domain field that does not exist) is caught.
func assertProtoAllSet(t *testing.T, path string, m protoreflect.Message) {
	t.Helper()
	fields := m.Descriptor().Fields()
	for i := range fields.Len() {
		fd := fields.Get(i)
		if !m.Has(fd) {
			t.Errorf("%s.%s is not set by ToProto", path, fd.Name())
			continue
		}
		if fd.Message() != nil && !fd.IsList() && !fd.IsMap() && fd.Message().FullName() != "google.protobuf.Timestamp" {
			assertProtoAllSet(t, path+"."+string(fd.Name()), m.Get(fd).Message())
		}
	}
}

func TestRoundTripEveryPayload(t *testing.T) {
	covered := map[protoreflect.Name]bool{}
	for _, p := range samplePayloads() {
		t.Run(p.EventType(), func(t *testing.T) {
			e := sampleEvent(p)
			assertAllSet(t, "Event", reflect.ValueOf(e))

			env, err := ToProto(e)
			if err != nil {
				t.Fatal(err)
			}
			if env.Type != p.EventType() {
				t.Fatalf("envelope type %q, want %q", env.Type, p.EventType())
			}
			m := env.ProtoReflect()
			fd := m.WhichOneof(m.Descriptor().Oneofs().ByName("payload"))
			covered[fd.Name()] = true
			assertProtoAllSet(t, string(fd.Name()), m.Get(fd).Message())

			b, err := Marshal(e)
			if err != nil {
				t.Fatal(err)
			}
			got, err := Unmarshal(b)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, e) {
				t.Fatalf("round trip differs:\n got %#v\nwant %#v", got, e)
			}
		})
	}
	oneof := (&eventsv1.Envelope{}).ProtoReflect().Descriptor().Oneofs().ByName("payload").Fields()
	for i := range oneof.Len() {
		if name := oneof.Get(i).Name(); !covered[name] {
			t.Errorf("no sample for payload case %s", name)
		}
	}
}

func TestEnvelopeFieldsMapped(t *testing.T) {
	env, err := ToProto(sampleEvent(domain.ThreadDone{ThreadID: "thr_1", ProspectID: "prs_1"}))
	if err != nil {
		t.Fatal(err)
	}
	// Every envelope field is set by a fully populated event.
	m := env.ProtoReflect()
	fields := m.Descriptor().Fields()
	for i := range fields.Len() {
		if fd := fields.Get(i); fd.ContainingOneof() == nil && !m.Has(fd) {
			t.Errorf("envelope field %s not set", fd.Name())
		}
	}
	if !env.OccurredAt.AsTime().Equal(t0) || !env.RecordedAt.AsTime().Equal(t1) {
		t.Fatal("times mapped to the wrong timestamps")
	}
}

func TestZeroTimesAreNilTimestamps(t *testing.T) {
	e := sampleEvent(domain.ThreadSeen{ThreadID: "thr_1", ProspectID: "prs_1"})
	e.OccurredAt = time.Time{}
	env, err := ToProto(e)
	if err != nil {
		t.Fatal(err)
	}
	if env.OccurredAt != nil || env.GetThreadSeen().SeenAt != nil {
		t.Fatal("a zero time must be stored as no timestamp")
	}
	got, err := FromProto(env)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, e) {
		t.Fatalf("round trip differs:\n got %#v\nwant %#v", got, e)
	}
}

func TestTimesComeBackInUTC(t *testing.T) {
	e := sampleEvent(domain.ThreadRead{ThreadID: "thr_1", ProspectID: "prs_1"})
	e.OccurredAt = t0.In(time.FixedZone("CEST", 2*3600))
	b, err := Marshal(e)
	if err != nil {
		t.Fatal(err)
	}
	got, err := Unmarshal(b)
	if err != nil {
		t.Fatal(err)
	}
	if !got.OccurredAt.Equal(t0) || got.OccurredAt.Location() != time.UTC {
		t.Fatalf("occurred_at %v, want %v in UTC", got.OccurredAt, t0)
	}
}

func TestUnsetPlatformAndDirectionSurvive(t *testing.T) {
	e := sampleEvent(domain.MessageReceived{MessageID: "msg_1"})
	b, err := Marshal(e)
	if err != nil {
		t.Fatal(err)
	}
	got, err := Unmarshal(b)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, e) {
		t.Fatalf("round trip differs:\n got %#v\nwant %#v", got, e)
	}
}

type alienPayload struct{}

func (alienPayload) EventType() string { return "alien.v1" }

func TestToProtoErrors(t *testing.T) {
	for name, p := range map[string]domain.Payload{
		"nil payload":     nil,
		"pointer payload": &domain.ThreadDone{ThreadID: "thr_1"},
		"unknown payload": alienPayload{},
	} {
		t.Run(name, func(t *testing.T) {
			if _, err := Marshal(sampleEvent(p)); err == nil {
				t.Fatal("Marshal accepted it")
			}
			if _, err := PayloadStruct(sampleEvent(p)); err == nil {
				t.Fatal("PayloadStruct accepted it")
			}
		})
	}
}

func TestUnmarshalErrors(t *testing.T) {
	valid := func() *eventsv1.Envelope {
		env, err := ToProto(sampleEvent(domain.AccountLinked{AccountLinkID: "acc_1", Platform: domain.PlatformX}))
		if err != nil {
			t.Fatal(err)
		}
		return env
	}
	cases := map[string]struct {
		env     func() *eventsv1.Envelope
		wantErr string
	}{
		"type does not match payload": {func() *eventsv1.Envelope {
			env := valid()
			env.Type = domain.TypeAccountUnlinked
			return env
		}, `type "account.unlinked.v1" but carries a account.linked.v1 payload`},
		"no type": {func() *eventsv1.Envelope {
			env := valid()
			env.Type = ""
			return env
		}, "carries a account.linked.v1 payload"},
		"no payload": {func() *eventsv1.Envelope {
			env := valid()
			env.Payload = nil
			return env
		}, "no payload"},
		"unknown platform": {func() *eventsv1.Envelope {
			env := valid()
			env.GetAccountLinked().Platform = "myspace"
			return env
		}, "unknown platform"},
		"unknown direction": {func() *eventsv1.Envelope {
			env, _ := ToProto(sampleEvent(domain.MessageReceived{MessageID: "msg_1", Direction: domain.Inbound}))
			env.GetMessageReceived().Direction = "sideways"
			return env
		}, "direction"},
		"invalid timestamp": {func() *eventsv1.Envelope {
			env := valid()
			env.OccurredAt = &timestamppb.Timestamp{Seconds: 1, Nanos: 2e9}
			return env
		}, "occurred_at"},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			b, err := proto.Marshal(c.env())
			if err != nil {
				t.Fatal(err)
			}
			_, err = Unmarshal(b)
			if err == nil {
				t.Fatal("Unmarshal accepted it")
			}
			if !strings.Contains(err.Error(), c.wantErr) {
				t.Fatalf("error %q does not say %q", err, c.wantErr)
			}
		})
	}
	if _, err := Unmarshal([]byte{0xff, 0xff, 0xff}); err == nil {
		t.Fatal("Unmarshal accepted garbage")
	}
	if _, err := FromProto(nil); err == nil {
		t.Fatal("FromProto accepted nil")
	}
}

func TestPayloadStruct(t *testing.T) {
	var msg domain.MessageReceived
	for _, p := range samplePayloads() {
		if m, ok := p.(domain.MessageReceived); ok {
			msg = m
		}
	}
	s, err := PayloadStruct(sampleEvent(msg))
	if err != nil {
		t.Fatal(err)
	}
	f := s.GetFields()
	if got := f["platform_message_id"].GetStringValue(); got != msg.PlatformMessageID {
		t.Fatalf("platform_message_id = %q", got)
	}
	if got := f["reply_to_message_id"].GetStringValue(); got != msg.ReplyToMessageID {
		t.Fatalf("reply_to_message_id = %q", got)
	}
	if got := f["platform"].GetStringValue(); got != "whatsapp" {
		t.Fatalf("platform = %q", got)
	}
	if got := f["prospect"].GetStructValue().GetFields()["display_name"].GetStringValue(); got != msg.Prospect.DisplayName {
		t.Fatalf("prospect.display_name = %q", got)
	}
	if got := len(f["attachments"].GetListValue().GetValues()); got != 2 {
		t.Fatalf("%d attachments", got)
	}
	for k := range f {
		if strings.ToLower(k) != k {
			t.Errorf("field %q is not snake_case", k)
		}
	}

	// A false or empty field is shown, not dropped: "healthy": false is the fact itself.
	s, err = PayloadStruct(sampleEvent(domain.AccountHealthChanged{AccountLinkID: "acc_1"}))
	if err != nil {
		t.Fatal(err)
	}
	if v, ok := s.GetFields()["healthy"]; !ok || v.GetBoolValue() {
		t.Fatalf("healthy = %v, present %v", v, ok)
	}
}

// fullDecision sets every field of a decision, so the round trip checks each.
var fullDecision = domain.Decision{Decided: true, OpensRequest: true, Reopens: true, AnsweredRequests: []string{"thr_1", "thr_2"}}

// TestUndecidedEventsStayUndecided: an event of the first release has no decision, and
// re-encoding it must not invent one (its readers decide it from the state it found).
func TestUndecidedEventsStayUndecided(t *testing.T) {
	env, err := ToProto(sampleEvent(domain.ThreadDone{ThreadID: "thr_1", ProspectID: "prs_1"}))
	if err != nil {
		t.Fatal(err)
	}
	if env.GetThreadDone().GetDecision() != nil {
		t.Fatalf("undecided event encoded with a decision: %v", env.GetThreadDone().GetDecision())
	}
	back, err := FromProto(env)
	if err != nil {
		t.Fatal(err)
	}
	if back.Payload.(domain.ThreadDone).Decision.Decided {
		t.Fatal("undecided event decoded as decided")
	}
}
