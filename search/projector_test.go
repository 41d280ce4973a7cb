package search

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"slices"
	"sort"
	"testing"
	"time"

	"github.com/switchboard-oss/switchboard/domain"
	"github.com/switchboard-oss/switchboard/eventlog"
)

// memIndex is an in-memory Index for the projector's rules: filters on team and prospect,
// newest first, and a log of calls.
type memIndex struct {
	docs  map[docKey]Doc
	cp    eventlog.Cursor
	puts  int
	calls []string
	err   error
	// search, when set, answers Search instead (service tests).
	search func(Query) (Result, error)
}

func newMemIndex() *memIndex { return &memIndex{docs: map[docKey]Doc{}, cp: eventlog.Cursor{}} }

func (m *memIndex) Put(_ context.Context, docs []Doc) error {
	m.calls = append(m.calls, "put")
	m.puts++
	for _, d := range docs {
		m.docs[docKey{d.TeamID, d.MessageID}] = d
	}
	return m.err
}

func (m *memIndex) Get(_ context.Context, team, id string) (Doc, bool, error) {
	d, ok := m.docs[docKey{team, id}]
	return d, ok, m.err
}

func (m *memIndex) Delete(_ context.Context, team string, ids []string) error {
	m.calls = append(m.calls, "delete")
	for _, id := range ids {
		delete(m.docs, docKey{team, id})
	}
	return m.err
}

func (m *memIndex) Search(_ context.Context, q Query) (Result, error) {
	if m.search != nil {
		return m.search(q)
	}
	var hits []Hit
	for _, d := range m.docs {
		if d.TeamID == q.TeamID && (q.ProspectID == "" || d.ProspectID == q.ProspectID) {
			hits = append(hits, Hit{MessageID: d.MessageID, ThreadID: d.ThreadID, SentAt: d.SentAt})
		}
	}
	sort.Slice(hits, func(i, j int) bool {
		if !hits[i].SentAt.Equal(hits[j].SentAt) {
			return hits[i].SentAt.After(hits[j].SentAt)
		}
		return hits[i].MessageID > hits[j].MessageID
	})
	if a := q.After; a != nil {
		for len(hits) > 0 && (hits[0].SentAt.After(a.SentAt) || hits[0].SentAt.Equal(a.SentAt) && hits[0].MessageID >= a.MessageID) {
			hits = hits[1:]
		}
	}
	total := len(hits)
	if len(hits) > q.Size {
		hits = hits[:q.Size]
	}
	return Result{Hits: hits, Total: int64(total)}, m.err
}

func (m *memIndex) Checkpoint(context.Context) (eventlog.Cursor, error) {
	c := eventlog.Cursor{}
	for p, o := range m.cp {
		c[p] = o
	}
	return c, m.err
}

func (m *memIndex) SetCheckpoint(_ context.Context, c eventlog.Cursor) error {
	m.calls = append(m.calls, "checkpoint "+c.String())
	m.cp = c
	return m.err
}

func (m *memIndex) Ping(context.Context) error { return m.err }
func (m *memIndex) Close() error               { return nil }

// records numbers events from offset 1 on.
type records struct{ next int64 }

var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

func (r *records) of(team string, payloads ...domain.Payload) []eventlog.Record {
	var out []eventlog.Record
	for _, p := range payloads {
		r.next++
		out = append(out, eventlog.Record{Position: eventlog.Position{Offset: r.next}, Event: domain.Event{
			ID: domain.NewID(domain.PrefixEvent), TeamID: team, Key: "k", OccurredAt: t0.Add(time.Duration(r.next) * time.Minute),
			RecordedAt: t0, Payload: p}})
	}
	return out
}

func received(id, prospect, text string) domain.MessageReceived {
	return domain.MessageReceived{MessageID: id, ThreadID: "thr_" + prospect, ProspectID: prospect, AccountLinkID: "acc_1",
		Platform: domain.PlatformAPI, Direction: domain.Inbound, Text: text,
		Prospect: domain.Participant{PlatformID: prospect, Username: prospect + "_u", DisplayName: "Name " + prospect}}
}

func newTestProjector(idx Index) *Projector {
	return NewProjector(nil, idx, slog.New(slog.NewTextHandler(io.Discard, nil)))
}

func TestProjectorDocuments(t *testing.T) {
	idx := newMemIndex()
	p := newTestProjector(idx)
	r := &records{}
	ctx := context.Background()
	withAtt := received("m1", "p1", "hello")
	withAtt.SentAt = t0.Add(-time.Hour)
	withAtt.Attachments = []domain.Attachment{{Type: "file", MimeType: "application/pdf", Name: "a.pdf"}, {Type: "file", MimeType: "application/pdf"}, {Type: "image"}}
	if err := p.Handle(ctx, r.of("team_1", withAtt, received("m2", "p1", "no time"), domain.ThreadDone{ThreadID: "thr_p1"})); err != nil {
		t.Fatal(err)
	}
	d := idx.docs[docKey{"team_1", "m1"}]
	want := Doc{TeamID: "team_1", MessageID: "m1", ThreadID: "thr_p1", ProspectID: "p1", AccountLinkID: "acc_1", Platform: "api",
		Direction: "inbound", Text: "hello", AttachmentNames: []string{"a.pdf"}, AttachmentTypes: []string{"file", "application/pdf", "image"},
		ProspectName: "Name p1", ProspectUsername: "p1_u", SentAt: t0.Add(-time.Hour)}
	if !docsEqual(d, want) {
		t.Errorf("doc:\n got %+v\nwant %+v", d, want)
	}
	if got := idx.docs[docKey{"team_1", "m2"}].SentAt; !got.Equal(t0.Add(2 * time.Minute)) {
		t.Errorf("a message without sent_at is at %v, want when it occurred", got)
	}
	if idx.cp[0] != 3 || idx.puts != 1 {
		t.Errorf("checkpoint %v after %d puts, want 0-3 after one put", idx.cp, idx.puts)
	}
}

func docsEqual(a, b Doc) bool {
	return a.TeamID == b.TeamID && a.MessageID == b.MessageID && a.ThreadID == b.ThreadID && a.ProspectID == b.ProspectID &&
		a.AccountLinkID == b.AccountLinkID && a.Platform == b.Platform && a.Direction == b.Direction && a.Text == b.Text &&
		slices.Equal(a.AttachmentNames, b.AttachmentNames) && slices.Equal(a.AttachmentTypes, b.AttachmentTypes) &&
		a.ProspectName == b.ProspectName && a.ProspectUsername == b.ProspectUsername && a.SentAt.Equal(b.SentAt)
}

func TestProjectorEditsDeletesAndRedelivery(t *testing.T) {
	idx := newMemIndex()
	p := newTestProjector(idx)
	r := &records{}
	ctx := context.Background()
	edit := func(id, text string) domain.Payload {
		return domain.MessageEdited{MessageID: id, ThreadID: "thr_p1", ProspectID: "p1", Text: text}
	}
	del := func(id string) domain.Payload {
		return domain.MessageDeleted{MessageID: id, ThreadID: "thr_p1", ProspectID: "p1"}
	}

	// Within one batch: received, edited twice; received, deleted, edited (ignored), received again (ignored).
	first := r.of("team_1", received("m1", "p1", "v1"), edit("m1", "v2"), edit("m1", "v3"),
		received("m2", "p1", "gone"), del("m2"), edit("m2", "back?"), received("m2", "p1", "gone again"))
	if err := p.Handle(ctx, first); err != nil {
		t.Fatal(err)
	}
	if got := idx.docs[docKey{"team_1", "m1"}].Text; got != "v3" {
		t.Errorf("m1: %q, want v3", got)
	}
	if _, ok := idx.docs[docKey{"team_1", "m2"}]; ok {
		t.Error("m2 is indexed after its delete")
	}
	// Across batches: a later edit; the same message brought again never undoes it.
	if err := p.Handle(ctx, r.of("team_1", edit("m1", "v4"), received("m1", "p1", "v1 again"), edit("missing", "x"))); err != nil {
		t.Fatal(err)
	}
	if got := idx.docs[docKey{"team_1", "m1"}].Text; got != "v4" {
		t.Errorf("m1: %q, want v4", got)
	}
	if _, ok := idx.docs[docKey{"team_1", "missing"}]; ok {
		t.Error("an edit of an unknown message indexed it")
	}
	// A redelivered batch is skipped: nothing is written, the edit stays.
	calls := len(idx.calls)
	if err := p.Handle(ctx, first); err != nil {
		t.Fatal(err)
	}
	if len(idx.calls) != calls || idx.docs[docKey{"team_1", "m1"}].Text != "v4" {
		t.Errorf("a redelivered batch wrote %v", idx.calls[calls:])
	}
	// A failing index fails the batch, so it is delivered again.
	idx.err = errors.New("disk full")
	if err := p.Handle(ctx, r.of("team_1", received("m3", "p1", "x"))); err == nil {
		t.Error("Handle hid an index failure")
	}
}

func TestProjectorRenamesProspect(t *testing.T) {
	idx := newMemIndex()
	p := newTestProjector(idx)
	r := &records{}
	ctx := context.Background()
	var msgs []domain.Payload
	for i := range 250 { // more than a page of the index's search
		msgs = append(msgs, received("m"+string(rune('a'+i%26))+string(rune('a'+i/26)), "p1", "x"))
	}
	if err := p.Handle(ctx, r.of("team_1", msgs...)); err != nil {
		t.Fatal(err)
	}
	if err := p.Handle(ctx, r.of("team_2", received("o1", "p1", "other team"))); err != nil {
		t.Fatal(err)
	}
	if err := p.Handle(ctx, r.of("team_1", received("n1", "p2", "other prospect"), received("new", "p1", "same batch"),
		domain.ProspectProfileUpdated{ProspectID: "p1", DisplayName: "Renamed"})); err != nil {
		t.Fatal(err)
	}
	for k, d := range idx.docs {
		want := "Name " + d.ProspectID
		if k.team == "team_1" && d.ProspectID == "p1" {
			want = "Renamed"
		}
		if d.ProspectName != want || d.ProspectUsername != d.ProspectID+"_u" {
			t.Errorf("%v: name %q, username %q; want %q and the username kept", k, d.ProspectName, d.ProspectUsername, want)
		}
	}
}

// fakeLog records how Run rewinds the group before consuming.
type fakeLog struct {
	eventlog.Log
	calls []string
}

func (l *fakeLog) SetCheckpoint(_ context.Context, group string, c eventlog.Cursor) error {
	l.calls = append(l.calls, "rewind "+group+" to "+c.String())
	return nil
}

func (l *fakeLog) Consume(_ context.Context, group string, _ eventlog.Handler) error {
	l.calls = append(l.calls, "consume "+group)
	return nil
}

func TestProjectorRunResumesFromTheIndex(t *testing.T) {
	idx := newMemIndex()
	idx.cp = eventlog.Cursor{0: 7}
	log := &fakeLog{}
	if err := NewProjector(log, idx, slog.New(slog.NewTextHandler(io.Discard, nil))).Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	if want := []string{"rewind search.v1 to 0-7", "consume search.v1"}; !slices.Equal(log.calls, want) {
		t.Errorf("Run: %v, want %v", log.calls, want)
	}
}

func TestProjectorWaitFor(t *testing.T) {
	idx := newMemIndex()
	p := newTestProjector(idx)
	r := &records{}
	done := make(chan error, 1)
	go func() { done <- p.WaitFor(context.Background(), eventlog.Cursor{0: 1}) }()
	if err := p.Handle(context.Background(), r.of("team_1", received("m1", "p1", "x"))); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("WaitFor did not return once the index covered the cursor")
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := p.WaitFor(ctx, eventlog.Cursor{0: 99}); !errors.Is(err, context.Canceled) {
		t.Errorf("WaitFor on a canceled context: %v", err)
	}
}
