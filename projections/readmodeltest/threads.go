package readmodeltest

import (
	"context"
	"errors"
	"log/slog"
	"maps"
	"slices"
	"strconv"
	"testing"

	"github.com/switchboard-oss/switchboard/domain"
	"github.com/switchboard-oss/switchboard/eventlog"
	"github.com/switchboard-oss/switchboard/projections"
)

var (
	all      = projections.ThreadQuery{View: projections.ViewAll}
	inbox    = projections.ThreadQuery{View: projections.ViewInbox}
	noReply  = projections.ThreadQuery{View: projections.ViewNoReply}
	requests = projections.ThreadQuery{View: projections.ViewRequests}
	archived = projections.ThreadQuery{View: projections.ViewArchived}
)

func testReceivedCreatesProspectAndThread(t *testing.T, s projections.Store) {
	f := newFx(t, s)
	l := f.link(domain.PlatformMessenger, "page-1", at(0))
	thr, prs := threadID(l, "alice"), prospectID(l, "alice")

	f.apply(received(l, "alice", "m1", domain.Inbound, "Hello", at(1)))
	th := f.thread(thr)
	eq(t, "request after a first inbound contact", th.Request, true)
	eq(t, "done", th.Done, false)
	eq(t, "message count", th.MessageCount, int32(1))
	eq(t, "unread count", th.UnreadCount, int32(1))
	eq(t, "last message id", th.LastMessageID, messageID(l, "m1"))
	eq(t, "last message text", th.LastMessageText, "Hello")
	eq(t, "last message direction", th.LastMessageDirection, "inbound")
	eqTime(t, "last message at", th.LastMessageAt, at(1))
	eq(t, "thread platform", th.Platform, "messenger")
	eq(t, "thread platform id", th.PlatformID, conversation("alice"))
	eq(t, "thread account link", th.AccountLinkID, l.ID)
	eq(t, "thread prospect", th.ProspectID, prs)
	eq(t, "thread team", th.TeamID, f.team)
	if th.Prospect == nil {
		t.Fatal("Thread.Prospect is nil")
	}
	eq(t, "thread's prospect id", th.Prospect.ID, prs)
	eq(t, "thread's prospect username", th.Prospect.Username, "alice")
	eq(t, "thread's prospect display name", th.Prospect.DisplayName, "Name of alice")
	eq(t, "thread's prospect avatar", th.Prospect.AvatarURL, "https://cdn.example/alice.png")

	p := f.prospect(prs)
	eq(t, "prospect platform", p.Platform, "messenger")
	eq(t, "prospect platform id", p.PlatformID, "alice")
	eq(t, "prospect username", p.Username, "alice")
	eq(t, "prospect display name", p.DisplayName, "Name of alice")
	eqTime(t, "prospect first seen", p.FirstSeenAt, at(1))
	eqTime(t, "prospect last seen", p.LastSeenAt, at(1))
	eq(t, "prospect status", p.Status == nil, true)
	eq(t, "prospect tags", len(p.Tags), 0)

	ms := f.messages(thr)
	if len(ms) != 1 {
		t.Fatalf("messages = %d, want 1", len(ms))
	}
	m := ms[0]
	eq(t, "message id", m.ID, messageID(l, "m1"))
	eq(t, "message thread", m.ThreadID, thr)
	eq(t, "message prospect", m.ProspectID, prs)
	eq(t, "message account link", m.AccountLinkID, l.ID)
	eq(t, "message platform", m.Platform, "messenger")
	eq(t, "message platform id", m.PlatformID, "m1")
	eq(t, "message direction", m.Direction, "inbound")
	eq(t, "message status", m.Status, "received")
	eq(t, "message text", m.Text, "Hello")
	eq(t, "message sender (the prospect)", m.SenderPlatformID, "alice")
	eq(t, "message sender username", m.SenderUsername, "alice")
	eqTime(t, "message sent at", m.SentAt, at(1))
	eq(t, "message edited", m.Edited, false)
	eq(t, "message deleted", m.Deleted, false)
	if got := f.message(m.ID); got.Text != "Hello" || got.ThreadID != thr {
		t.Errorf("Message(%s) = %+v", m.ID, got)
	}

	f.apply(received(l, "alice", "m2", domain.Inbound, "Are you there?", at(2)))
	th = f.thread(thr)
	eq(t, "message count after a second inbound", th.MessageCount, int32(2))
	eq(t, "unread count after a second inbound", th.UnreadCount, int32(2))
	eq(t, "last message text", th.LastMessageText, "Are you there?")
	eq(t, "still a request", th.Request, true)

	f.apply(received(l, "alice", "m3", domain.Outbound, "Yes, hi!", at(3)))
	th = f.thread(thr)
	eq(t, "message count after a reply", th.MessageCount, int32(3))
	eq(t, "unread count after a reply", th.UnreadCount, int32(2))
	eq(t, "request after the team replied", th.Request, false)
	eq(t, "last message direction", th.LastMessageDirection, "outbound")
	eq(t, "last message text", th.LastMessageText, "Yes, hi!")
	eqTime(t, "last message at", th.LastMessageAt, at(3))
	out := f.message(messageID(l, "m3"))
	eq(t, "outbound message status", out.Status, "sent")
	eq(t, "outbound message direction", out.Direction, "outbound")
	eq(t, "outbound sender (the account)", out.SenderPlatformID, "page-1")
	p = f.prospect(prs)
	eqTime(t, "prospect first seen", p.FirstSeenAt, at(1))
	eqTime(t, "prospect last seen", p.LastSeenAt, at(3))
	eqIDs(t, "messages newest first", messageIDs(f.messages(thr)),
		[]string{messageID(l, "m3"), messageID(l, "m2"), messageID(l, "m1")})
}

func testOutboundFirstIsNotARequest(t *testing.T, s projections.Store) {
	f := newFx(t, s)
	l := f.link(domain.PlatformInstagram, "ig-1", at(0))
	f.apply(received(l, "bob", "m1", domain.Outbound, "Hi Bob, saw your post", at(1)))
	th := f.thread(threadID(l, "bob"))
	eq(t, "request when the team wrote first", th.Request, false)
	eq(t, "unread count", th.UnreadCount, int32(0))
	f.apply(received(l, "bob", "m2", domain.Inbound, "Hi!", at(2)))
	th = f.thread(threadID(l, "bob"))
	eq(t, "request after the prospect answered", th.Request, false)
	eq(t, "unread count", th.UnreadCount, int32(1))
	f.wantThreads("REQUESTS", requests)
	f.wantThreads("INBOX", inbox, threadID(l, "bob"))
}

func testSecondLinkIsNotARequest(t *testing.T, s projections.Store) {
	f := newFx(t, s)
	a := f.link(domain.PlatformMessenger, "page-a", at(0))
	b := f.link(domain.PlatformMessenger, "page-b", at(0))
	f.apply(received(a, "alice", "m1", domain.Inbound, "Hello page A", at(1)))
	f.apply(received(b, "alice", "m2", domain.Inbound, "Hello page B", at(2)))
	eq(t, "one prospect for both links", prospectID(a, "alice"), prospectID(b, "alice"))
	eq(t, "first thread is a request", f.thread(threadID(a, "alice")).Request, true)
	eq(t, "thread on a second link is a request", f.thread(threadID(b, "alice")).Request, false)
	f.wantThreads("REQUESTS", requests, threadID(a, "alice"))
	f.wantThreads("threads of the prospect", projections.ThreadQuery{View: projections.ViewAll, ProspectID: prospectID(a, "alice")},
		threadID(b, "alice"), threadID(a, "alice"))
}

func testBackfillKeepsLastMessage(t *testing.T, s projections.Store) {
	f := newFx(t, s)
	l := f.link(domain.PlatformWhatsApp, "wa-1", at(0))
	thr := threadID(l, "carol")
	f.apply(received(l, "carol", "new", domain.Inbound, "newest", at(10)))
	f.apply(backfilled(received(l, "carol", "old", domain.Outbound, "older", at(5))))
	th := f.thread(thr)
	eq(t, "message count", th.MessageCount, int32(2))
	eq(t, "last message id", th.LastMessageID, messageID(l, "new"))
	eq(t, "last message text", th.LastMessageText, "newest")
	eq(t, "last message direction", th.LastMessageDirection, "inbound")
	eqTime(t, "last message at", th.LastMessageAt, at(10))
	eqIDs(t, "messages newest first", messageIDs(f.messages(thr)), []string{messageID(l, "new"), messageID(l, "old")})
	p := f.prospect(prospectID(l, "carol"))
	eqTime(t, "prospect first seen moves back", p.FirstSeenAt, at(5))
	eqTime(t, "prospect last seen", p.LastSeenAt, at(10))
}

func testSameMessageTwice(t *testing.T, s projections.Store) {
	f := newFx(t, s)
	l := f.link(domain.PlatformTelegram, "bot-1", at(0))
	thr := threadID(l, "dan")
	first := received(l, "dan", "m1", domain.Inbound, "hello", at(1))
	f.apply(first, again(first))
	f.apply(again(first))
	th := f.thread(thr)
	eq(t, "message count", th.MessageCount, int32(1))
	eq(t, "unread count", th.UnreadCount, int32(1))
	eq(t, "messages", len(f.messages(thr)), 1)

	out := received(l, "dan", "m2", domain.Outbound, "hi dan", at(2))
	f.apply(out, read(l, "dan", at(3)), again(out))
	th = f.thread(thr)
	eq(t, "message count after a duplicated reply", th.MessageCount, int32(2))
	eq(t, "unread count after reading", th.UnreadCount, int32(0))
	eq(t, "messages", len(f.messages(thr)), 2)
}

func testProjectorRedelivery(t *testing.T, s projections.Store) {
	ctx := context.Background()
	f := newFx(t, s)
	l := newLink(f.team, domain.PlatformMessenger, "page-1")
	p := projections.NewProjector(nil, s, slog.New(slog.DiscardHandler))

	cp, err := s.Checkpoint(ctx, projections.ReadModelProjection)
	if err != nil {
		t.Fatal(err)
	}
	if cp == nil || len(cp) != 0 {
		t.Fatalf("checkpoint of a new store = %#v, want an empty cursor", cp)
	}

	batch := records(0, 10,
		linked(l, at(0)),
		received(l, "alice", "m1", domain.Inbound, "one", at(1)),
		received(l, "alice", "m2", domain.Inbound, "two", at(2)),
		received(l, "alice", "m3", domain.Outbound, "three", at(3)),
		received(l, "alice", "m4", domain.Inbound, "four", at(4)),
	) // offsets 10..14
	thr := threadID(l, "alice")
	check := func(when string, count, unread int32, last string) {
		t.Helper()
		th := f.thread(thr)
		eq(t, when+": message count", th.MessageCount, count)
		eq(t, when+": unread count", th.UnreadCount, unread)
		eq(t, when+": last message", th.LastMessageText, last)
		eq(t, when+": messages", len(f.messages(thr)), int(count))
	}
	if err := p.Handle(ctx, batch); err != nil {
		t.Fatal(err)
	}
	check("first delivery", 4, 3, "four")
	if err := p.Handle(ctx, batch); err != nil {
		t.Fatal(err)
	}
	check("redelivery", 4, 3, "four")

	// A batch that overlaps the checkpoint: its first records were applied, the last is new.
	// The read (offset 16) is not a message event: the checkpoint alone must stop it.
	overlap := append(slices.Clone(batch[2:]), records(0, 15,
		received(l, "alice", "m5", domain.Inbound, "five", at(5)))...)
	if err := p.Handle(ctx, overlap); err != nil {
		t.Fatal(err)
	}
	check("overlapping batch", 5, 4, "five")
	readRec := records(0, 16, read(l, "alice", at(6)))
	if err := p.Handle(ctx, readRec); err != nil {
		t.Fatal(err)
	}
	check("read", 5, 0, "five")
	if err := p.Handle(ctx, append(slices.Clone(overlap), readRec...)); err != nil {
		t.Fatal(err)
	}
	check("everything again", 5, 0, "five")

	// A second partition has its own offsets.
	other := records(1, 0,
		received(l, "bob", "b1", domain.Inbound, "bob here", at(7)),
		received(l, "bob", "b2", domain.Inbound, "bob again", at(8)))
	if err := p.Handle(ctx, other); err != nil {
		t.Fatal(err)
	}
	if err := p.Handle(ctx, other[:1]); err != nil {
		t.Fatal(err)
	}
	bob := f.thread(threadID(l, "bob"))
	eq(t, "second partition: message count", bob.MessageCount, int32(2))

	cp, err = s.Checkpoint(ctx, projections.ReadModelProjection)
	if err != nil {
		t.Fatal(err)
	}
	want := eventlog.Cursor{0: 16, 1: 1}
	if cp.String() != want.String() {
		t.Errorf("checkpoint = %s, want %s", cp, want)
	}
	if !cp.Covers(want) {
		t.Errorf("checkpoint %s does not cover %s", cp, want)
	}
	if cp, err := s.Checkpoint(ctx, "another.projection"); err != nil || cp == nil || len(cp) != 0 {
		t.Errorf("checkpoint of a projection never run = %#v, %v; want an empty cursor", cp, err)
	}
}

func testUpdateIsAtomic(t *testing.T, s projections.Store) {
	ctx := context.Background()
	f := newFx(t, s)
	l := newLink(f.team, domain.PlatformMessenger, "page-1")
	boom := errors.New("boom")
	err := s.Update(ctx, func(tx projections.Tx) error {
		if err := projections.Apply(tx, linked(l, at(0))); err != nil {
			return err
		}
		if err := projections.Apply(tx, received(l, "alice", "m1", domain.Inbound, "hi", at(1))); err != nil {
			return err
		}
		if err := tx.SetCheckpoint(projections.ReadModelProjection, eventlog.Cursor{0: 1}); err != nil {
			return err
		}
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("Update = %v, want the error of fn", err)
	}
	_, err = s.Thread(ctx, f.team, threadID(l, "alice"))
	notFound(t, "thread written by a failed Update", err)
	_, err = s.AccountLink(ctx, f.team, l.ID)
	notFound(t, "account link written by a failed Update", err)
	if cp, err := s.Checkpoint(ctx, projections.ReadModelProjection); err != nil || len(cp) != 0 {
		t.Errorf("checkpoint after a failed Update = %v, %v; want empty", cp, err)
	}
	// The store is still usable.
	f.apply(linked(l, at(0)), received(l, "alice", "m1", domain.Inbound, "hi", at(1)))
	eq(t, "message count after a good Update", f.thread(threadID(l, "alice")).MessageCount, int32(1))
}

func testViews(t *testing.T, s projections.Store) {
	f := newFx(t, s)
	l := f.link(domain.PlatformMessenger, "page-1", at(0))
	f.apply(
		// A first contact, unanswered: a request.
		received(l, "req", "r1", domain.Inbound, "hello?", at(1)),
		// The team wrote first, the prospect answered: inbox.
		received(l, "inb", "i1", domain.Outbound, "hi", at(2)),
		received(l, "inb", "i2", domain.Inbound, "hey", at(3)),
		// The team answered last: inbox and no-reply.
		received(l, "nor", "n1", domain.Inbound, "question", at(4)),
		received(l, "nor", "n2", domain.Outbound, "answer", at(5)),
		// Done threads.
		received(l, "don", "d1", domain.Inbound, "thanks", at(6)),
		received(l, "don", "d2", domain.Outbound, "bye", at(7)),
		done(l, "don", at(7)),
		received(l, "drq", "q1", domain.Inbound, "spam", at(8)),
		done(l, "drq", at(8)),
	)
	req, inb, nor, don, drq := threadID(l, "req"), threadID(l, "inb"), threadID(l, "nor"), threadID(l, "don"), threadID(l, "drq")
	f.wantThreads("INBOX", inbox, nor, inb)
	f.wantThreads("NO_REPLY", noReply, nor)
	f.wantThreads("REQUESTS", requests, req)
	f.wantThreads("ARCHIVED", archived, drq, don)
	f.wantThreads("ALL", all, drq, don, nor, inb, req)
	// Which of some threads a view holds (what live updates ask after an event).
	f.wantThreads("INBOX of three threads", projections.ThreadQuery{View: projections.ViewInbox, IDs: []string{req, nor, don}}, nor)
	f.wantThreads("ALL of two threads", projections.ThreadQuery{View: projections.ViewAll, IDs: []string{req, drq}}, drq, req)
	eq(t, "a done request is no longer a request", f.thread(drq).Request, false)
	eq(t, "done", f.thread(don).Done, true)

	// The prospect of the no-reply thread answers: it leaves NO_REPLY, stays in INBOX.
	f.apply(received(l, "nor", "n3", domain.Inbound, "ok", at(9)))
	f.wantThreads("NO_REPLY after the answer", noReply)
	f.wantThreads("INBOX after the answer", inbox, nor, inb)
	// A done thread whose last message is outbound is not in NO_REPLY.
	f.apply(received(l, "inb", "i3", domain.Outbound, "see you", at(10)), done(l, "inb", at(10)))
	f.wantThreads("NO_REPLY with a done thread", noReply)
	f.wantThreads("ARCHIVED", archived, inb, drq, don)
}

func testRequestLeavesRequests(t *testing.T, s projections.Store) {
	actions := []struct {
		name string
		// act acts on the request thread of user on l.
		act      func(f *fx, l link, user string) []domain.Event
		archived bool
	}{
		{"outbound reply", func(f *fx, l link, user string) []domain.Event {
			return []domain.Event{received(l, user, "reply", domain.Outbound, "hello!", at(2))}
		}, false},
		{"assign", func(f *fx, l link, user string) []domain.Event {
			return []domain.Event{memberAdded(f.team, "mem_1", "ann", at(0)), assigned(l, user, "mem_1", at(2))}
		}, false},
		{"tag", func(f *fx, l link, user string) []domain.Event {
			return []domain.Event{tagCreated(f.team, "tag_1", "lead"), tagged(l, user, "tag_1", at(2))}
		}, false},
		{"status change", func(f *fx, l link, user string) []domain.Event {
			return []domain.Event{statusCreated(f.team, "sts_1", "New", 1), statusChanged(l, user, "sts_1", at(2))}
		}, false},
		{"done", func(f *fx, l link, user string) []domain.Event {
			return []domain.Event{done(l, user, at(2))}
		}, true},
	}
	for _, a := range actions {
		t.Run(a.name, func(t *testing.T) {
			f := newFx(t, s)
			l := f.link(domain.PlatformInstagram, "ig-1", at(0))
			thr := threadID(l, "zoe")
			f.apply(received(l, "zoe", "z1", domain.Inbound, "hi there", at(1)))
			f.wantThreads("REQUESTS before", requests, thr)
			f.apply(a.act(f, l, "zoe")...)
			f.wantThreads("REQUESTS after "+a.name, requests)
			eq(t, "request after "+a.name, f.thread(thr).Request, false)
			if a.archived {
				f.wantThreads("ARCHIVED after "+a.name, archived, thr)
				f.wantThreads("INBOX after "+a.name, inbox)
			} else {
				f.wantThreads("INBOX after "+a.name, inbox, thr)
			}
			// Once answered, a new message of the prospect does not make it a request again.
			f.apply(received(l, "zoe", "z2", domain.Inbound, "still there?", at(3)))
			f.wantThreads("REQUESTS after a new message", requests)
			f.wantThreads("INBOX after a new message", inbox, thr)
		})
	}
}

func testDoneThreadReopens(t *testing.T, s projections.Store) {
	f := newFx(t, s)
	l := f.link(domain.PlatformX, "x-1", at(0))
	a, b, c := threadID(l, "amy"), threadID(l, "ben"), threadID(l, "cid")
	for _, u := range []string{"amy", "ben", "cid"} {
		f.apply(received(l, u, u+"1", domain.Inbound, "hi", at(1)),
			received(l, u, u+"2", domain.Outbound, "hello", at(2)),
			done(l, u, at(3)))
	}
	// Same last message time: the tie-break is the id, descending.
	f.wantThreads("ARCHIVED", archived, idsDesc(a, b, c)...)
	f.wantThreads("INBOX", inbox)

	f.apply(received(l, "amy", "amy3", domain.Inbound, "one more thing", at(4)))
	eq(t, "done after a new inbound message", f.thread(a).Done, false)
	f.apply(backfilled(received(l, "ben", "ben0", domain.Inbound, "an old message", at(0))))
	eq(t, "done after a backfilled inbound message", f.thread(b).Done, true)
	f.apply(reopened(l, "cid", at(5)))
	eq(t, "done after thread.reopened", f.thread(c).Done, false)
	f.wantThreads("ARCHIVED after", archived, b)
	f.wantThreads("INBOX after", inbox, a, c)
	eq(t, "a reopened thread is not a request", f.thread(a).Request, false)
}

func testFilters(t *testing.T, s projections.Store) {
	f := newFx(t, s)
	la := f.link(domain.PlatformMessenger, "page-a", at(0))
	lb := f.link(domain.PlatformMessenger, "page-b", at(0))
	li := f.link(domain.PlatformInstagram, "ig-1", at(0))
	f.apply(
		memberAdded(f.team, "mem_ann", "ann", at(0)),
		tagCreated(f.team, "tag_vip", "vip"),
		tagCreated(f.team, "tag_cold", "cold"),
		statusCreated(f.team, "sts_won", "Won", 1),
		received(la, "alice", "a1", domain.Inbound, "a on A", at(1)),
		received(lb, "alice", "a2", domain.Inbound, "a on B", at(2)),
		received(la, "bob", "b1", domain.Inbound, "b on A", at(3)),
		received(li, "carol", "c1", domain.Inbound, "c on IG", at(4)),
		received(la, "dan", "d1", domain.Inbound, "d on A", at(5)),
		received(li, "erin", "e1", domain.Inbound, "e on IG", at(6)),
		assigned(la, "bob", "mem_ann", at(7)),
		tagged(la, "alice", "tag_vip", at(7)),
		tagged(li, "carol", "tag_cold", at(7)),
		statusChanged(la, "bob", "sts_won", at(7)),
	)
	aA, aB, bA, cI, dA, eI := threadID(la, "alice"), threadID(lb, "alice"), threadID(la, "bob"),
		threadID(li, "carol"), threadID(la, "dan"), threadID(li, "erin")
	q := func(mod func(*projections.ThreadQuery)) projections.ThreadQuery {
		q := projections.ThreadQuery{View: projections.ViewAll}
		mod(&q)
		return q
	}
	f.wantThreads("account link A", q(func(q *projections.ThreadQuery) { q.AccountLinkID = la.ID }), dA, bA, aA)
	f.wantThreads("account link B", q(func(q *projections.ThreadQuery) { q.AccountLinkID = lb.ID }), aB)
	f.wantThreads("platform messenger", q(func(q *projections.ThreadQuery) { q.Platform = "messenger" }), dA, bA, aB, aA)
	f.wantThreads("platform instagram", q(func(q *projections.ThreadQuery) { q.Platform = "instagram" }), eI, cI)
	f.wantThreads("platform reddit", q(func(q *projections.ThreadQuery) { q.Platform = "reddit" }))
	f.wantThreads("assignee", q(func(q *projections.ThreadQuery) { q.AssigneeMemberID = "mem_ann" }), bA)
	f.wantThreads("unassigned", q(func(q *projections.ThreadQuery) { q.Unassigned = true }), eI, dA, cI, aB, aA)
	f.wantThreads("tag vip (both threads of alice)", q(func(q *projections.ThreadQuery) { q.TagID = "tag_vip" }), aB, aA)
	f.wantThreads("tag cold", q(func(q *projections.ThreadQuery) { q.TagID = "tag_cold" }), cI)
	f.wantThreads("status", q(func(q *projections.ThreadQuery) { q.StatusID = "sts_won" }), bA)
	f.wantThreads("prospect", q(func(q *projections.ThreadQuery) { q.ProspectID = prospectID(la, "alice") }), aB, aA)
	f.wantThreads("unknown prospect", q(func(q *projections.ThreadQuery) { q.ProspectID = "prs_unknown" }))

	// Filters combined with views and with each other.
	f.wantThreads("REQUESTS on messenger", projections.ThreadQuery{View: projections.ViewRequests, Platform: "messenger"}, dA)
	f.wantThreads("REQUESTS on IG link", projections.ThreadQuery{View: projections.ViewRequests, AccountLinkID: li.ID}, eI)
	f.wantThreads("INBOX tagged vip", projections.ThreadQuery{View: projections.ViewInbox, TagID: "tag_vip"}, aB, aA)
	f.wantThreads("INBOX unassigned on messenger", projections.ThreadQuery{View: projections.ViewInbox, Unassigned: true, Platform: "messenger"}, aB, aA)
	f.wantThreads("link A tagged vip", q(func(q *projections.ThreadQuery) { q.AccountLinkID = la.ID; q.TagID = "tag_vip" }), aA)
	f.wantThreads("assignee with status", q(func(q *projections.ThreadQuery) { q.AssigneeMemberID = "mem_ann"; q.StatusID = "sts_won" }), bA)
	f.wantThreads("assignee with another tag", q(func(q *projections.ThreadQuery) { q.AssigneeMemberID = "mem_ann"; q.TagID = "tag_vip" }))
	f.apply(done(la, "alice", at(8)))
	f.wantThreads("ARCHIVED tagged vip", projections.ThreadQuery{View: projections.ViewArchived, TagID: "tag_vip"}, aA)
	f.wantThreads("INBOX tagged vip", projections.ThreadQuery{View: projections.ViewInbox, TagID: "tag_vip"}, aB)

	// Changes move threads between filters.
	f.apply(untagged(li, "carol", "tag_cold", at(9)), unassigned(la, "bob", at(9)))
	f.wantThreads("tag cold after untag", q(func(q *projections.ThreadQuery) { q.TagID = "tag_cold" }))
	f.wantThreads("assignee after unassign", q(func(q *projections.ThreadQuery) { q.AssigneeMemberID = "mem_ann" }))
	f.wantThreads("unassigned after unassign", q(func(q *projections.ThreadQuery) { q.Unassigned = true }), eI, dA, cI, bA, aB, aA)
	f.apply(statusCreated(f.team, "sts_lost", "Lost", 2), statusChanged(la, "bob", "sts_lost", at(9)))
	f.wantThreads("old status", q(func(q *projections.ThreadQuery) { q.StatusID = "sts_won" }))
	f.wantThreads("new status", q(func(q *projections.ThreadQuery) { q.StatusID = "sts_lost" }), bA)

	// Prospects have filters of their own.
	pq := func(mod func(*projections.ProspectQuery)) []string {
		var q projections.ProspectQuery
		mod(&q)
		return prospectIDs(f.prospects(q))
	}
	eqIDs(t, "prospects on instagram", pq(func(q *projections.ProspectQuery) { q.Platform = "instagram" }),
		[]string{prospectID(li, "erin"), prospectID(li, "carol")})
	eqIDs(t, "prospects tagged vip", pq(func(q *projections.ProspectQuery) { q.TagID = "tag_vip" }),
		[]string{prospectID(la, "alice")})
	eqIDs(t, "prospects with status", pq(func(q *projections.ProspectQuery) { q.StatusID = "sts_lost" }),
		[]string{prospectID(la, "bob")})
	eqIDs(t, "every prospect, last seen first", pq(func(q *projections.ProspectQuery) {}),
		[]string{prospectID(li, "erin"), prospectID(la, "dan"), prospectID(li, "carol"), prospectID(la, "bob"), prospectID(la, "alice")})
}

func testDeletedTag(t *testing.T, s projections.Store) {
	f := newFx(t, s)
	l := f.link(domain.PlatformMessenger, "page-1", at(0))
	f.apply(
		tagCreated(f.team, "tag_vip", "vip"),
		tagCreated(f.team, "tag_hot", "hot"),
		received(l, "alice", "a1", domain.Inbound, "hi", at(1)),
		received(l, "bob", "b1", domain.Inbound, "hi", at(2)),
		tagged(l, "alice", "tag_vip", at(3)),
		tagged(l, "alice", "tag_hot", at(3)),
		tagged(l, "bob", "tag_vip", at(3)),
	)
	alice, bob := prospectID(l, "alice"), prospectID(l, "bob")
	eqIDs(t, "alice's tags, by name", tagIDs(f.prospect(alice).Tags), []string{"tag_hot", "tag_vip"})
	f.wantThreads("tag vip", projections.ThreadQuery{View: projections.ViewAll, TagID: "tag_vip"}, threadID(l, "bob"), threadID(l, "alice"))

	f.apply(tagDeleted(f.team, "tag_vip"))
	f.wantThreads("deleted tag", projections.ThreadQuery{View: projections.ViewAll, TagID: "tag_vip"})
	eqIDs(t, "prospects with the deleted tag", prospectIDs(f.prospects(projections.ProspectQuery{TagID: "tag_vip"})), []string{})
	eqIDs(t, "alice's tags after the delete", tagIDs(f.prospect(alice).Tags), []string{"tag_hot"})
	eqIDs(t, "bob's tags after the delete", tagIDs(f.prospect(bob).Tags), []string{})
	eqIDs(t, "team tags", tagIDs(mustTags(t, f)), []string{"tag_hot"})
	_, err := f.s.Tag(f.ctx, f.team, "tag_vip")
	notFound(t, "deleted tag", err)
	for _, th := range f.threads(all) {
		if th.Prospect == nil {
			t.Fatalf("thread %s without prospect", th.ID)
		}
		for _, g := range th.Prospect.Tags {
			if g.ID == "tag_vip" {
				t.Errorf("thread %s shows the deleted tag", th.ID)
			}
		}
	}
	tags, err := f.s.ProspectTags(f.ctx, f.team, []string{alice, bob})
	if err != nil {
		t.Fatal(err)
	}
	eqIDs(t, "ProspectTags of alice", tagIDs(tags[alice]), []string{"tag_hot"})
	eqIDs(t, "ProspectTags of bob", tagIDs(tags[bob]), []string{})

	// A tag applied after its deletion (events of other keys may arrive late) never shows.
	f.apply(tagged(l, "bob", "tag_vip", at(4)))
	eqIDs(t, "bob tagged with a deleted tag", tagIDs(f.prospect(bob).Tags), []string{})
	f.wantThreads("deleted tag after a late tagging", projections.ThreadQuery{View: projections.ViewAll, TagID: "tag_vip"})
}

// The tag filter follows its threads as they change: their order as messages arrive, their
// views, new threads of a tagged prospect, tags applied and removed (in the same Update as
// the thread's messages, before or after them) and deleted.
func testTagFilterFollowsThreads(t *testing.T, s projections.Store) {
	f := newFx(t, s)
	la := f.link(domain.PlatformMessenger, "page-a", at(0))
	lb := f.link(domain.PlatformMessenger, "page-b", at(0))
	f.apply(
		tagCreated(f.team, "tag_vip", "vip"),
		tagCreated(f.team, "tag_hot", "hot"),
		received(la, "alice", "a1", domain.Inbound, "hi", at(1)),
		received(la, "bob", "b1", domain.Inbound, "hi", at(2)),
		received(la, "carol", "c1", domain.Inbound, "hi", at(3)),
	)
	aA, bA, cA, aB := threadID(la, "alice"), threadID(la, "bob"), threadID(la, "carol"), threadID(lb, "alice")
	inTag := func(tag string, v projections.View) projections.ThreadQuery {
		return projections.ThreadQuery{View: v, TagID: tag}
	}
	vip := func(v projections.View) projections.ThreadQuery { return inTag("tag_vip", v) }
	f.wantThreads("vip before any tagging", vip(projections.ViewAll))

	f.apply(tagged(la, "alice", "tag_vip", at(4)), tagged(la, "bob", "tag_vip", at(4)), tagged(la, "bob", "tag_hot", at(4)))
	f.wantThreads("ALL vip", vip(projections.ViewAll), bA, aA)
	f.wantThreads("ALL hot", inTag("tag_hot", projections.ViewAll), bA)
	// Tagging a request answers it: the threads leave REQUESTS for INBOX, within the tag too.
	f.wantThreads("REQUESTS vip", vip(projections.ViewRequests))
	f.wantThreads("INBOX vip", vip(projections.ViewInbox), bA, aA)
	f.wantThreads("REQUESTS", requests, cA)

	f.apply(received(la, "alice", "a2", domain.Outbound, "hello alice", at(5)))
	f.wantThreads("ALL vip after the team answered alice", vip(projections.ViewAll), aA, bA)
	f.wantThreads("NO_REPLY vip", vip(projections.ViewNoReply), aA)

	f.apply(received(lb, "alice", "ab1", domain.Inbound, "me again", at(6)))
	f.wantThreads("ALL vip with alice's new thread", vip(projections.ViewAll), aB, aA, bA)

	f.apply(done(la, "bob", at(7)))
	f.wantThreads("ARCHIVED vip", vip(projections.ViewArchived), bA)
	f.wantThreads("ARCHIVED hot", inTag("tag_hot", projections.ViewArchived), bA)
	f.wantThreads("INBOX vip without bob", vip(projections.ViewInbox), aB, aA)
	f.apply(received(la, "bob", "b2", domain.Inbound, "one more thing", at(8)))
	f.wantThreads("ARCHIVED vip after bob wrote again", vip(projections.ViewArchived))
	f.wantThreads("INBOX vip after bob wrote again", vip(projections.ViewInbox), bA, aB, aA)

	// Tag and message in one Update, in either order.
	f.apply(tagged(la, "carol", "tag_vip", at(9)), received(la, "carol", "c2", domain.Inbound, "hello?", at(9)))
	f.wantThreads("ALL vip with carol", vip(projections.ViewAll), cA, bA, aB, aA)
	f.wantThreads("REQUESTS vip with carol", vip(projections.ViewRequests))
	f.apply(received(la, "bob", "b3", domain.Outbound, "sure", at(10)), untagged(la, "bob", "tag_vip", at(10)))
	f.wantThreads("ALL vip without bob", vip(projections.ViewAll), cA, aB, aA)
	f.wantThreads("NO_REPLY hot", inTag("tag_hot", projections.ViewNoReply), bA)
	f.apply(untagged(la, "alice", "tag_vip", at(11)), received(lb, "alice", "ab2", domain.Inbound, "hello?", at(11)))
	f.wantThreads("ALL vip without alice", vip(projections.ViewAll), cA)
	f.apply(tagged(la, "alice", "tag_vip", at(12)))
	f.wantThreads("ALL vip with alice again", vip(projections.ViewAll), aB, cA, aA)

	f.apply(tagDeleted(f.team, "tag_vip"))
	f.wantThreads("ALL vip after its deletion", vip(projections.ViewAll))
	f.wantThreads("INBOX vip after its deletion", vip(projections.ViewInbox))
	f.wantThreads("ALL hot after vip's deletion", inTag("tag_hot", projections.ViewAll), bA)
	// Its links went with it: a tag created again under its id starts without threads.
	f.apply(tagCreated(f.team, "tag_vip", "vip"))
	f.wantThreads("ALL vip created again", vip(projections.ViewAll))
	eqIDs(t, "prospects of vip created again", prospectIDs(f.prospects(projections.ProspectQuery{TagID: "tag_vip"})), []string{})
}

// Pages of a tag within a view hold every thread of both once, in order, however the threads
// share their last message time.
func testPagingTaggedThreads(t *testing.T, s projections.Store) {
	f := newFx(t, s)
	l := f.link(domain.PlatformReddit, "r-1", at(0))
	f.apply(tagCreated(f.team, "tag_1", "lead"), tagCreated(f.team, "tag_2", "cold"))
	times := []int{1, 1, 1, 2, 2, 3, 1, 3, 0, 2, 2, 1}
	wantAll, wantArchived := map[string]bool{}, map[string]bool{}
	for i, m := range times {
		u := "user" + string(rune('a'+i))
		events := []domain.Event{received(l, u, u+"-1", domain.Inbound, "hello", at(m))}
		if i%3 != 2 {
			events = append(events, tagged(l, u, "tag_1", at(m)))
			wantAll[threadID(l, u)] = true
		} else {
			events = append(events, tagged(l, u, "tag_2", at(m)))
		}
		if i%2 == 0 {
			events = append(events, done(l, u, at(m)))
			if i%3 != 2 {
				wantArchived[threadID(l, u)] = true
			}
		}
		f.apply(events...)
	}
	for _, c := range []struct {
		name string
		q    projections.ThreadQuery
		want map[string]bool
	}{
		{"ALL tag_1", projections.ThreadQuery{View: projections.ViewAll, TagID: "tag_1"}, wantAll},
		{"ARCHIVED tag_1", projections.ThreadQuery{View: projections.ViewArchived, TagID: "tag_1"}, wantArchived},
	} {
		full := f.threads(c.q)
		got := map[string]bool{}
		keys := make([]projections.SortKey, len(full))
		for i, th := range full {
			got[th.ID] = true
			keys[i] = projections.SortKey{At: th.LastMessageAt, ID: th.ID}
		}
		if len(full) != len(c.want) || !maps.Equal(got, c.want) {
			t.Errorf("%s: threads %v, want %v", c.name, threadIDs(full), slices.Sorted(maps.Keys(c.want)))
		}
		sortedDesc(t, c.name, keys)
		for _, size := range []int{1, 2, 3, 5} {
			eqIDs(t, c.name+" in pages of "+strconv.Itoa(size), pageThreads(t, f, c.q, size), threadIDs(full))
		}
	}
}

func mustTags(t *testing.T, f *fx) []projections.Tag {
	t.Helper()
	tags, err := f.s.Tags(f.ctx, f.team)
	if err != nil {
		t.Fatal(err)
	}
	return tags
}

// pageThreads reads every page of q, pageSize threads at a time.
func pageThreads(t *testing.T, f *fx, q projections.ThreadQuery, pageSize int) []string {
	t.Helper()
	var out []string
	q.Limit = pageSize
	for i := 0; ; i++ {
		page := f.threads(q)
		if len(page) > pageSize {
			t.Fatalf("page of %d threads, limit %d", len(page), pageSize)
		}
		out = append(out, threadIDs(page)...)
		if len(page) < pageSize || i > 100 {
			return out
		}
		last := page[len(page)-1]
		q.After = &projections.SortKey{At: last.LastMessageAt, ID: last.ID}
	}
}

func testPagingThreads(t *testing.T, s projections.Store) {
	f := newFx(t, s)
	l := f.link(domain.PlatformReddit, "r-1", at(0))
	// Nine threads, most sharing their last message time.
	times := []int{1, 1, 1, 2, 2, 3, 1, 3, 0}
	for i, m := range times {
		u := "user" + string(rune('a'+i))
		f.apply(received(l, u, u+"-1", domain.Inbound, "hello", at(m)))
	}
	full := f.threads(projections.ThreadQuery{View: projections.ViewAll})
	if len(full) != len(times) {
		t.Fatalf("threads = %d, want %d", len(full), len(times))
	}
	keys := make([]projections.SortKey, len(full))
	for i, th := range full {
		keys[i] = projections.SortKey{At: th.LastMessageAt, ID: th.ID}
	}
	sortedDesc(t, "threads", keys)
	for _, size := range []int{1, 2, 3, 4, 9, 10} {
		eqIDs(t, "pages of "+strconv.Itoa(size), pageThreads(t, f, projections.ThreadQuery{View: projections.ViewAll}, size), threadIDs(full))
	}
	// Paging within a view, after some threads left it.
	f.apply(received(l, "userc", "userc-2", domain.Outbound, "hi", at(1)), done(l, "userf", at(4)))
	reqs := threadIDs(f.threads(requests))
	eq(t, "requests", len(reqs), len(times)-2)
	eqIDs(t, "REQUESTS in pages of 2", pageThreads(t, f, requests, 2), reqs)
	// A cursor past the end is an empty page.
	last := full[len(full)-1]
	eq(t, "page after the last thread", len(f.threads(projections.ThreadQuery{View: projections.ViewAll,
		After: &projections.SortKey{At: last.LastMessageAt, ID: last.ID}})), 0)
}

func testPagingMessages(t *testing.T, s projections.Store) {
	f := newFx(t, s)
	l := f.link(domain.PlatformBluesky, "bsky-1", at(0))
	thr := threadID(l, "una")
	times := []int{1, 1, 1, 2, 2, 0, 3}
	for i, m := range times {
		dir := domain.Inbound
		if i%2 == 1 {
			dir = domain.Outbound
		}
		f.apply(received(l, "una", "p"+strconv.Itoa(i), dir, "message "+strconv.Itoa(i), at(m)))
	}
	full := f.messages(thr)
	if len(full) != len(times) {
		t.Fatalf("messages = %d, want %d", len(full), len(times))
	}
	keys := make([]projections.SortKey, len(full))
	for i, m := range full {
		keys[i] = projections.SortKey{At: m.SentAt, ID: m.ID}
	}
	sortedDesc(t, "messages", keys)
	for _, size := range []int{1, 2, 3, 7, 8} {
		var got []string
		q := projections.MessageQuery{TeamID: f.team, ThreadID: thr, Limit: size}
		for i := 0; i < 20; i++ {
			page, err := f.s.Messages(f.ctx, q)
			if err != nil {
				t.Fatal(err)
			}
			got = append(got, messageIDs(page)...)
			if len(page) < size {
				break
			}
			last := page[len(page)-1]
			q.After = &projections.SortKey{At: last.SentAt, ID: last.ID}
		}
		eqIDs(t, "message pages of "+strconv.Itoa(size), got, messageIDs(full))
	}
	eqTime(t, "thread's last message at", f.thread(thr).LastMessageAt, at(3))
}

func testPagingProspects(t *testing.T, s projections.Store) {
	f := newFx(t, s)
	l := f.link(domain.PlatformAPI, "api-1", at(0))
	times := []int{2, 2, 2, 1, 3, 3, 1}
	for i, m := range times {
		u := "p" + strconv.Itoa(i)
		f.apply(received(l, u, u, domain.Inbound, "hi", at(m)))
	}
	full := f.prospects(projections.ProspectQuery{})
	if len(full) != len(times) {
		t.Fatalf("prospects = %d, want %d", len(full), len(times))
	}
	keys := make([]projections.SortKey, len(full))
	for i, p := range full {
		keys[i] = projections.SortKey{At: p.LastSeenAt, ID: p.ID}
	}
	sortedDesc(t, "prospects", keys)
	for _, size := range []int{1, 2, 3, 7} {
		var got []string
		q := projections.ProspectQuery{Limit: size}
		for i := 0; i < 20; i++ {
			page := f.prospects(q)
			got = append(got, prospectIDs(page)...)
			if len(page) < size {
				break
			}
			last := page[len(page)-1]
			q.After = &projections.SortKey{At: last.LastSeenAt, ID: last.ID}
		}
		eqIDs(t, "prospect pages of "+strconv.Itoa(size), got, prospectIDs(full))
	}
}

// idsDesc sorts ids in descending order, the tie-break of every listing.
func idsDesc(ids ...string) []string {
	out := slices.Clone(ids)
	slices.Sort(out)
	slices.Reverse(out)
	return out
}
