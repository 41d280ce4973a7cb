package eventlogtest

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/switchboard-oss/switchboard/domain"
	"github.com/switchboard-oss/switchboard/eventlog"
)

// wait bounds every wait for something asynchronous. It is generous on purpose: the suite
// checks that things happen, never how fast.
const wait = 10 * time.Second

// NewTeamID returns a team id no other test uses, so tests can share one log (one Kafka topic)
// without seeing each other's events.
func NewTeamID() string { return domain.NewID(domain.PrefixTeam) }

// NewEvent returns a valid event of team with the given key and payload. Its times are in UTC
// without a monotonic reading, so a read-back copy is reflect.DeepEqual to it.
func NewEvent(teamID, key string, p domain.Payload) domain.Event {
	now := time.Now().UTC()
	return domain.Event{
		ID:         domain.NewID(domain.PrefixEvent),
		TeamID:     teamID,
		Key:        key,
		OccurredAt: now,
		RecordedAt: now,
		Actor:      domain.ActorSystem,
		Origin:     domain.OriginSystem,
		Payload:    p,
	}
}

// SampleEvents returns events of several payload kinds, every field populated, keyed by the
// team (configuration) or by prospectID (conversation).
func SampleEvents(teamID, prospectID string) []domain.Event {
	at := time.Date(2025, 6, 1, 12, 30, 45, 123456789, time.UTC)
	threadID := domain.NewID(domain.PrefixThread)
	full := func(key string, p domain.Payload) domain.Event {
		e := NewEvent(teamID, key, p)
		e.OccurredAt = at
		e.Actor = domain.ActorMember("mem_sample")
		e.Origin = domain.OriginWebhook
		e.CausationID = domain.NewID(domain.PrefixEvent)
		e.CorrelationID = "req_" + e.ID
		return e
	}
	part := func(n string) domain.Participant {
		return domain.Participant{PlatformID: "p-" + n, Username: "u_" + n, DisplayName: "D " + n, AvatarURL: "https://cdn.example/" + n}
	}
	return []domain.Event{
		full(teamID, domain.TeamCreated{TeamID: teamID, Name: "Sample team"}),
		full(teamID, domain.APIKeyCreated{KeyID: "key_sample", MemberID: "mem_sample", KeyHash: "ab12", InstanceAdmin: true}),
		full(teamID, domain.AccountLinked{AccountLinkID: "acc_sample", Platform: domain.PlatformMessenger, PlatformID: "page1", Username: "acme", DisplayName: "Acme", WebhookPath: "/webhooks/messenger/acc_sample"}),
		full(teamID, domain.AccountHealthChanged{AccountLinkID: "acc_sample", Healthy: false, Reason: "token expired"}),
		full(prospectID, domain.MessageReceived{
			MessageID:                domain.NewID(domain.PrefixMessage),
			ThreadID:                 threadID,
			ProspectID:               prospectID,
			AccountLinkID:            "acc_sample",
			Platform:                 domain.PlatformMessenger,
			PlatformMessageID:        "m_1",
			PlatformConversationID:   "c_1",
			Direction:                domain.Inbound,
			Prospect:                 part("prospect"),
			Sender:                   part("sender"),
			Text:                     "Hello, ünïcode 👋",
			Attachments:              []domain.Attachment{{Type: "image", URL: "https://cdn.example/i.jpg", MimeType: "image/jpeg", PlatformID: "a1", Name: "i.jpg"}},
			SentAt:                   at.Add(-time.Second),
			ReplyToPlatformMessageID: "m_0",
			ReplyToMessageID:         "msg_0",
			Raw:                      []byte{'{', 0, 0xff, '}'},
			RawContentType:           "application/json",
		}),
		full(prospectID, domain.ThreadSeen{ThreadID: threadID, ProspectID: prospectID, SeenAt: at.Add(time.Minute)}),
		full(prospectID, domain.MessageSendFailed{MessageID: "msg_x", ThreadID: threadID, ProspectID: prospectID, Reason: "blocked", Permanent: true}),
		full(prospectID, domain.ProspectContextUpdated{ProspectID: prospectID, Notes: "n", Valuation: 99.5, CustomFields: map[string]string{"a": "1", "b": ""}}),
	}
}

// threadEvent is a small valid conversation event.
func threadEvent(team, prospectID string, n int) domain.Event {
	return NewEvent(team, prospectID, domain.ThreadRead{ThreadID: fmt.Sprintf("thr_%d", n), ProspectID: prospectID})
}

func mustAppend(t *testing.T, log eventlog.Log, events ...domain.Event) []eventlog.AppendResult {
	t.Helper()
	res, err := log.Append(context.Background(), events)
	if err != nil {
		t.Fatalf("Append: %v", err)
	}
	if len(res) != len(events) {
		t.Fatalf("Append returned %d results for %d events", len(res), len(events))
	}
	return res
}

// readAll pages through q's events with small pages.
func readAll(t *testing.T, log eventlog.Log, q eventlog.Query) []eventlog.Record {
	t.Helper()
	q.After = eventlog.Cursor{}
	if q.Limit == 0 {
		q.Limit = 50
	}
	var out []eventlog.Record
	for range 10_000 {
		page, err := log.Read(context.Background(), q)
		if err != nil {
			t.Fatalf("Read: %v", err)
		}
		if len(page) > q.Limit {
			t.Fatalf("Read returned %d records for limit %d", len(page), q.Limit)
		}
		if len(page) == 0 {
			return out
		}
		for _, r := range page {
			q.After.Advance(r.Position)
		}
		out = append(out, page...)
	}
	t.Fatal("Read never reached the end")
	return nil
}

func ids(recs []eventlog.Record) []string {
	out := make([]string, len(recs))
	for i, r := range recs {
		out[i] = r.Event.ID
	}
	return out
}

func eventIDs(events []domain.Event) []string {
	out := make([]string, len(events))
	for i, e := range events {
		out[i] = e.ID
	}
	return out
}

// byKey groups event ids by key, keeping their order.
func byKey(recs []eventlog.Record) map[string][]string {
	out := map[string][]string{}
	for _, r := range recs {
		out[r.Event.Key] = append(out[r.Event.Key], r.Event.ID)
	}
	return out
}

func byKeyEvents(events []domain.Event) map[string][]string {
	out := map[string][]string{}
	for _, e := range events {
		out[e.Key] = append(out[e.Key], e.ID)
	}
	return out
}

// assertSameSet fails unless got holds exactly the ids of want, each once.
func assertSameSet(t *testing.T, what string, got, want []string) {
	t.Helper()
	g, w := slices.Clone(got), slices.Clone(want)
	slices.Sort(g)
	slices.Sort(w)
	if !slices.Equal(g, w) {
		t.Fatalf("%s: got %d events, want %d (missing %v, unexpected %v, repeated %v)",
			what, len(got), len(want), minus(w, g), minus(g, w), repeated(g))
	}
}

// repeated returns the ids that occur more than once in sorted ids.
func repeated(sorted []string) []string {
	var out []string
	for i := 1; i < len(sorted); i++ {
		if sorted[i] == sorted[i-1] && (len(out) == 0 || out[len(out)-1] != sorted[i]) {
			out = append(out, sorted[i])
		}
	}
	return out
}

func minus(a, b []string) []string {
	var out []string
	for _, x := range a {
		if !slices.Contains(b, x) {
			out = append(out, x)
		}
	}
	return out
}

// assertKeyOrder fails unless, for every key, got holds the key's events in the order of want.
func assertKeyOrder(t *testing.T, got []eventlog.Record, want []domain.Event) {
	t.Helper()
	g, w := byKey(got), byKeyEvents(want)
	for key, wantIDs := range w {
		if !slices.Equal(g[key], wantIDs) {
			t.Fatalf("key %s: got order %v, want %v", key, g[key], wantIDs)
		}
	}
	// Offsets are the per-key version that projections rely on.
	last := map[string]eventlog.Position{}
	for _, r := range got {
		if p, ok := last[r.Event.Key]; ok && (p.Partition != r.Position.Partition || r.Position.Offset <= p.Offset) {
			t.Fatalf("key %s: position %v follows %v", r.Event.Key, r.Position, p)
		}
		last[r.Event.Key] = r.Position
	}
}

func assertEqualEvent(t *testing.T, got, want domain.Event) {
	t.Helper()
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("event %s changed in the log:\n got %#v\nwant %#v", want.ID, got, want)
	}
}

// collector gathers what a consumer's handler accepted for one team.
type collector struct {
	team string
	mu   sync.Mutex
	recs []eventlog.Record
}

func (c *collector) handle(_ context.Context, recs []eventlog.Record) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, r := range recs {
		if r.Event.TeamID == c.team {
			c.recs = append(c.recs, r)
		}
	}
	return nil
}

func (c *collector) snapshot() []eventlog.Record {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.recs)
}

// waitFor polls cond until it holds, failing the test after the suite's generous wait.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(wait)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", wait, what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// waitForCount waits until c holds at least n distinct events.
func (c *collector) waitForCount(t *testing.T, n int) {
	t.Helper()
	waitFor(t, fmt.Sprintf("%d events delivered", n), func() bool { return distinct(c.snapshot()) >= n })
}

func distinct(recs []eventlog.Record) int {
	seen := map[string]bool{}
	for _, r := range recs {
		seen[r.Event.ID] = true
	}
	return len(seen)
}

// consumer is a running Consume call.
type consumer struct {
	cancel context.CancelFunc
	done   chan error
	once   sync.Once
	err    error
}

func startConsumer(t *testing.T, log eventlog.Log, group string, h eventlog.Handler) *consumer {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	c := &consumer{cancel: cancel, done: make(chan error, 1)}
	go func() {
		err := log.Consume(ctx, group, h)
		if ctx.Err() == nil {
			// Otherwise the test would only see a timeout, without the cause.
			t.Errorf("Consume(%s) returned before it was stopped: %v", group, err)
		}
		c.done <- err
	}()
	t.Cleanup(func() { c.stopQuietly() })
	return c
}

func (c *consumer) stopQuietly() error {
	c.once.Do(func() {
		c.cancel()
		select {
		case c.err = <-c.done:
		case <-time.After(wait):
			//lint:ignore ST1005 the message starts with the method's name, which is capitalized
			c.err = errors.New("Consume did not return after its context was cancelled")
		}
	})
	return c.err
}

// stop cancels the consumer and checks that Consume returned the context's error.
func (c *consumer) stop(t *testing.T) {
	t.Helper()
	if err := c.stopQuietly(); !errors.Is(err, context.Canceled) {
		t.Fatalf("Consume returned %v after cancel, want context.Canceled", err)
	}
}

// newGroup returns a consumer group name no other test uses.
func newGroup(name string) string { return "eventlogtest-" + name + "-" + domain.NewID("") }
