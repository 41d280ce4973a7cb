package commands

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/switchboard-oss/switchboard/domain"
)

var ana = domain.Participant{PlatformID: "ana", Username: "ana.l", DisplayName: "Ana L", AvatarURL: "https://cdn.example/ana.png"}

func ingest(c IngestMessage) func(context.Context, App, Actor) (any, error) {
	return func(ctx context.Context, app App, a Actor) (any, error) {
		return app.IngestMessage.Handle(ctx, a, c)
	}
}

// received is the message.received a valid ingest into team A must append: every id derived
// from the team, the link's platform, the link and the platform's ids.
func received(c IngestMessage, conv string, sent time.Time) (func(any) []wantEvent, func(*testing.T, any)) {
	msgID := domain.MessageID(teamA, domain.PlatformAPI, c.AccountLinkID, c.PlatformMessageID)
	thrID := domain.ThreadID(teamA, domain.PlatformAPI, c.AccountLinkID, conv)
	prsID := domain.ProspectID(teamA, domain.PlatformAPI, c.Participant.PlatformID)
	replyTo := ""
	if c.ReplyToPlatformMessageID != "" {
		replyTo = domain.MessageID(teamA, domain.PlatformAPI, c.AccountLinkID, c.ReplyToPlatformMessageID)
	}
	p := domain.MessageReceived{
		MessageID: msgID, ThreadID: thrID, ProspectID: prsID, AccountLinkID: c.AccountLinkID,
		Platform: domain.PlatformAPI, PlatformMessageID: c.PlatformMessageID, PlatformConversationID: conv,
		Direction: c.Direction, Prospect: c.Participant, Text: c.Text, Attachments: c.Attachments, SentAt: sent,
		ReplyToPlatformMessageID: c.ReplyToPlatformMessageID, ReplyToMessageID: replyTo,
		Raw: c.Raw, RawContentType: c.RawContentType,
		// Every case lands on a thread that is no request (an existing one, or a new one the
		// team writes first); the domain tests cover the decisions themselves.
		Decision: domain.Decision{Decided: true},
	}
	return events(wantEvent{prsID, p}), func(t *testing.T, res any) {
		r := res.(IngestResult)
		if r.MessageID != msgID || r.ThreadID != thrID || r.ProspectID != prsID {
			t.Errorf("result ids = %s %s %s, want %s %s %s", r.MessageID, r.ThreadID, r.ProspectID, msgID, thrID, prsID)
		}
		for _, id := range []struct{ id, prefix string }{{msgID, "msg_"}, {thrID, "thr_"}, {prsID, "prs_"}, {replyTo, "msg_"}} {
			if id.id != "" && !domain.HasPrefix(id.id, id.prefix) {
				t.Errorf("%q is not a %s id", id.id, id.prefix)
			}
		}
	}
}

func TestIngestMessage(t *testing.T) {
	sent := time.Now().Add(-time.Hour).Truncate(time.Second).UTC()
	inbound := IngestMessage{AccountLinkID: accAPI, PlatformMessageID: "m-1", Direction: domain.Inbound,
		Participant: ana, Text: "hello, is this still available?", SentAt: sent,
		Raw: []byte(`{"text":"hello"}`), RawContentType: "application/json"}
	outbound := IngestMessage{AccountLinkID: accAPI2, PlatformConversationID: "case-42", PlatformMessageID: "m-2",
		Direction: domain.Outbound, Participant: domain.Participant{PlatformID: "bo"},
		Attachments:              []domain.Attachment{{Type: "image", URL: "https://cdn.example/p.jpg", MimeType: "image/jpeg"}},
		ReplyToPlatformMessageID: "m-1", SentAt: sent.In(time.FixedZone("CET", 3600))}
	undated := IngestMessage{AccountLinkID: accAPI, PlatformMessageID: "m-3", Direction: domain.Inbound, Participant: ana, Text: "hi"}

	with := func(f func(*IngestMessage)) IngestMessage {
		c := inbound
		f(&c)
		return c
	}
	wIn, cIn := received(inbound, "ana", sent)
	wOut, cOut := received(outbound, "case-42", sent)
	wUndated, cUndated := received(undated, "ana", testNow)
	cases := []commandCase{
		{name: "inbound text: the conversation defaults to the participant", run: ingest(inbound), want: wIn, check: cIn},
		{name: "outbound attachment with a conversation and a reply", run: ingest(outbound), want: wOut, check: cOut},
		{name: "no sent_at: now", run: ingest(undated), want: wUndated, check: cUndated},

		{name: "missing account_link_id", run: ingest(with(func(c *IngestMessage) { c.AccountLinkID = "" })),
			kind: domain.KindInvalid, text: "account_link_id"},
		{name: "malformed account_link_id", run: ingest(with(func(c *IngestMessage) { c.AccountLinkID = "crm-1" })),
			kind: domain.KindInvalid, text: "account_link_id"},
		{name: "missing platform_message_id", run: ingest(with(func(c *IngestMessage) { c.PlatformMessageID = "" })),
			kind: domain.KindInvalid, text: "platform_message_id"},
		{name: "long platform_message_id", run: ingest(with(func(c *IngestMessage) { c.PlatformMessageID = strings.Repeat("m", 257) })),
			kind: domain.KindInvalid, text: "platform_message_id"},
		{name: "long platform_conversation_id", run: ingest(with(func(c *IngestMessage) { c.PlatformConversationID = strings.Repeat("c", 257) })),
			kind: domain.KindInvalid, text: "platform_conversation_id"},
		{name: "missing direction", run: ingest(with(func(c *IngestMessage) { c.Direction = domain.Direction{} })),
			kind: domain.KindInvalid, text: "direction"},
		{name: "missing participant.platform_id", run: ingest(with(func(c *IngestMessage) { c.Participant.PlatformID = "" })),
			kind: domain.KindInvalid, text: "participant.platform_id"},
		{name: "long participant.display_name", run: ingest(with(func(c *IngestMessage) { c.Participant.DisplayName = strings.Repeat("d", 2049) })),
			kind: domain.KindInvalid, text: "participant.display_name"},
		{name: "neither text nor attachments", run: ingest(with(func(c *IngestMessage) { c.Text = "" })),
			kind: domain.KindInvalid, text: "text"},
		{name: "text too long", run: ingest(with(func(c *IngestMessage) { c.Text = strings.Repeat("t", MaxTextLength+1) })),
			kind: domain.KindInvalid, text: "text"},
		{name: "bad attachment type", run: ingest(with(func(c *IngestMessage) { c.Attachments = []domain.Attachment{{Type: "gif"}} })),
			kind: domain.KindInvalid, text: "attachments.type"},
		{name: "too many attachments", run: ingest(with(func(c *IngestMessage) {
			c.Attachments = make([]domain.Attachment, MaxAttachments+1)
			for i := range c.Attachments {
				c.Attachments[i].Type = "file"
			}
		})), kind: domain.KindInvalid, text: "attachments"},
		{name: "attachment url too long", run: ingest(with(func(c *IngestMessage) {
			c.Attachments = []domain.Attachment{{Type: "file", URL: "https://x.example/" + strings.Repeat("a", 4096)}}
		})), kind: domain.KindInvalid, text: "attachments"},
		{name: "sent_at in 1980", run: ingest(with(func(c *IngestMessage) { c.SentAt = time.Date(1980, 1, 1, 0, 0, 0, 0, time.UTC) })),
			kind: domain.KindInvalid, text: "sent_at"},
		{name: "sent_at two days ahead", run: ingest(with(func(c *IngestMessage) { c.SentAt = time.Now().Add(48 * time.Hour) })),
			kind: domain.KindInvalid, text: "sent_at"},
		{name: "an unlinked account", run: ingest(with(func(c *IngestMessage) { c.AccountLinkID = accUnlinked })),
			kind: domain.KindPrecondition, text: "unlinked"},
		{name: "an unknown account link", run: ingest(with(func(c *IngestMessage) { c.AccountLinkID = accUnknown })),
			kind: domain.KindNotFound, text: accUnknown},
		{name: "another team's account link", run: ingest(with(func(c *IngestMessage) { c.AccountLinkID = accB })),
			kind: domain.KindNotFound, text: accB},
	}
	runCommandCases(t, cases)
}

func TestIngestMessageTwiceIsADuplicate(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	c := IngestMessage{AccountLinkID: accAPI, PlatformMessageID: "m-1", Direction: domain.Inbound, Participant: ana,
		Text: "hello", SentAt: time.Now().Add(-time.Minute)}
	first, err := e.app.IngestMessage.Handle(ctx, agent, c)
	if err != nil {
		t.Fatal(err)
	}
	if first.Duplicate {
		t.Error("the first ingest says duplicate")
	}
	if got := e.log.since(0)[0].OccurredAt; !got.Equal(c.SentAt) {
		t.Errorf("event occurred at %v, want the platform's time %v", got, c.SentAt)
	}
	n := e.log.len()
	// Same platform message, brought again (say, by a retrying client with a fresh text).
	c.Text = "hello (retried)"
	again, err := e.app.IngestMessage.Handle(ctx, admin, c)
	if err != nil {
		t.Fatal(err)
	}
	if !again.Duplicate {
		t.Error("the repeat is not reported as a duplicate")
	}
	if again.MessageID != first.MessageID || again.ThreadID != first.ThreadID || again.ProspectID != first.ProspectID {
		t.Errorf("the repeat maps to other ids: %+v vs %+v", again, first)
	}
	if again.Position != first.Position {
		t.Errorf("the repeat reports position %q, the original is at %q", again.Position, first.Position)
	}
	if e.log.len() != n {
		t.Errorf("the repeat appended %d events", e.log.len()-n)
	}
}

func TestIngestMessageIDs(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	do := func(a Actor, link, msg string) IngestResult {
		t.Helper()
		r, err := e.app.IngestMessage.Handle(ctx, a, IngestMessage{AccountLinkID: link, PlatformMessageID: msg,
			Direction: domain.Inbound, Participant: ana, Text: "hi"})
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	onLink1 := do(agent, accAPI, "m-1")
	onLink2 := do(agent, accAPI2, "m-1")
	nextOnLink1 := do(agent, accAPI, "m-2")
	teamBOwner := Actor{TeamID: teamB, MemberID: memberB, Role: "owner"}
	inTeamB := do(teamBOwner, accB, "m-1")

	if onLink1.ProspectID != onLink2.ProspectID {
		t.Error("one person on one platform is two prospects across the team's links")
	}
	if onLink1.ThreadID == onLink2.ThreadID || onLink1.MessageID == onLink2.MessageID {
		t.Error("two links share a thread or a message id")
	}
	if nextOnLink1.ThreadID != onLink1.ThreadID || nextOnLink1.MessageID == onLink1.MessageID {
		t.Error("the next message of a conversation is not in its thread, or reuses the message id")
	}
	if inTeamB.ProspectID == onLink1.ProspectID || inTeamB.ThreadID == onLink1.ThreadID || inTeamB.MessageID == onLink1.MessageID {
		t.Error("team B's message shares ids with team A's")
	}
	if inTeamB.Duplicate {
		t.Error("team B's message was taken for team A's")
	}
	if e.log.len() != 4 {
		t.Errorf("appended %d events, want 4", e.log.len())
	}
}
