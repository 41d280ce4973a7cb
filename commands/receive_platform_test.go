package commands

import (
	"cmp"
	"context"
	"slices"
	"testing"
	"time"

	"github.com/switchboard-oss/switchboard/domain"
	"github.com/switchboard-oss/switchboard/projections"
)

func TestReceivePlatform(t *testing.T) {
	log := newFakeLog()
	h := NewReceivePlatformHandler(Deps{Keys: testKeys, Log: log, State: newFakeState()})
	team := domain.NewID(domain.PrefixTeam)
	link := projections.AccountLink{ID: domain.AccountLinkID(team, domain.PlatformMessenger, "page-1"), TeamID: team,
		Platform: "messenger", PlatformID: "page-1", Active: true, Healthy: true}
	log.history(domain.Event{ID: "evt_linked", TeamID: team, Key: team, OccurredAt: testNow, RecordedAt: testNow, Actor: domain.ActorSystem,
		Origin: domain.OriginAPI, Payload: domain.AccountLinked{AccountLinkID: link.ID, Platform: domain.PlatformMessenger, PlatformID: "page-1"}})
	at := time.Date(2026, 5, 1, 10, 0, 0, 0, time.UTC)
	items := []domain.PlatformItem{
		domain.PlatformMessage{PlatformMessageID: "m1", Direction: domain.Inbound,
			Prospect: domain.Participant{PlatformID: "psid-1", DisplayName: "Ana"}, Text: "hi", SentAt: at, Raw: []byte(`{"mid":"m1"}`)},
		domain.PlatformMessage{PlatformMessageID: "m2", Direction: domain.Outbound, ReplyToPlatformMessageID: "m1",
			Prospect: domain.Participant{PlatformID: "psid-1"}, Text: "hello", SentAt: at.Add(time.Minute)},
		domain.PlatformEdit{PlatformMessageID: "m1", ProspectPlatformID: "psid-1", Text: "hi!", EditedAt: at.Add(2 * time.Minute)},
		domain.PlatformDelete{PlatformMessageID: "m2", ProspectPlatformID: "psid-1", DeletedAt: at.Add(3 * time.Minute)},
		domain.PlatformSeen{ProspectPlatformID: "psid-1", Watermark: at.Add(4 * time.Minute)},
		domain.PlatformDelivered{ProspectPlatformID: "psid-1", PlatformMessageIDs: []string{"m2"}, At: at},
		domain.PlatformFailed{ProspectPlatformID: "psid-1", PlatformMessageID: "m3", Reason: "window closed", At: at},
		domain.PlatformProfile{Prospect: domain.Participant{PlatformID: "psid-1", DisplayName: "Ana B."}},
		domain.PlatformOther{Kind: "reaction", Raw: []byte(`{"reaction":"love"}`)},
		domain.PlatformMessage{PlatformMessageID: "", Direction: domain.Inbound, Prospect: domain.Participant{PlatformID: "x"}, Raw: []byte(`{"broken":true}`)},
	}
	res, err := h.Handle(context.Background(), ReceivePlatform{Link: link, Origin: domain.OriginWebhook, Items: items, RawContentType: "application/json"})
	if err != nil {
		t.Fatal(err)
	}
	wantTypes := []string{domain.TypeMessageReceived, domain.TypeMessageReceived, domain.TypeMessageEdited, domain.TypeMessageDeleted,
		domain.TypeThreadSeen, domain.TypeProspectProfileUpdated, domain.TypePlatformUnhandled, domain.TypePlatformUnhandled}
	// The delivery and the failure name messages that are not our replies (m2 was written in
	// Messenger's own app, m3 is unknown): they record nothing, like a duplicate.
	const dropped = 2
	// The log orders events per key: the prospect's in item order; the team's (unhandled
	// payloads) are appended beside them, so compare the prospect's first, then the team's.
	prospect := domain.ProspectID(team, domain.PlatformMessenger, "psid-1")
	got := log.since(0)
	slices.SortStableFunc(got, func(a, b domain.Event) int {
		return cmp.Compare(b2i(a.Key != prospect), b2i(b.Key != prospect))
	})
	if len(got) != len(wantTypes) || res.Appended != len(wantTypes) || res.Duplicates != dropped {
		t.Fatalf("appended %d events (result %+v), want %d", len(got), res, len(wantTypes))
	}
	thread := domain.ThreadID(team, domain.PlatformMessenger, link.ID, "psid-1")
	for i, e := range got {
		if e.Type() != wantTypes[i] {
			t.Errorf("event %d: %s, want %s", i, e.Type(), wantTypes[i])
		}
		if e.Origin != domain.OriginWebhook || e.Actor != "platform:messenger" || e.TeamID != team {
			t.Errorf("event %d: origin %s actor %s team %s", i, e.Origin, e.Actor, e.TeamID)
		}
		if i < 6 && e.Key != prospect {
			t.Errorf("event %d keyed %s, want the prospect", i, e.Key)
		}
	}
	m := got[0].Payload.(domain.MessageReceived)
	if m.ThreadID != thread || m.MessageID != domain.MessageID(team, domain.PlatformMessenger, link.ID, "m1") || !m.SentAt.Equal(at) || string(m.Raw) != `{"mid":"m1"}` {
		t.Errorf("message: %+v", m)
	}
	if r := got[1].Payload.(domain.MessageReceived); r.ReplyToMessageID != m.MessageID || r.Direction != domain.Outbound {
		t.Errorf("reply: %+v", r)
	}
	if res.Unhandled["reaction"] != 1 || res.Unhandled["invalid_message"] != 1 {
		t.Errorf("unhandled counts: %v", res.Unhandled)
	}
	// The same ids as IngestMessage: whichever path brings a message first, the other is a duplicate.
	if want := domain.DeriveID(domain.PrefixEvent, m.MessageID, domain.TypeMessageReceived); got[0].ID != want {
		t.Errorf("event id %s, want %s", got[0].ID, want)
	}

	// A redelivered payload (Meta retries for 36 hours) appends nothing new.
	again, err := h.Handle(context.Background(), ReceivePlatform{Link: link, Origin: domain.OriginWebhook, Items: items})
	if err != nil {
		t.Fatal(err)
	}
	if again.Appended != 0 || again.Duplicates != len(wantTypes)+dropped || log.len() != len(wantTypes) {
		t.Fatalf("redelivery: %+v, log %d", again, log.len())
	}

	// An unlinked account takes nothing.
	log.history(domain.Event{ID: "evt_unlinked", TeamID: team, Key: team, OccurredAt: testNow, RecordedAt: testNow, Actor: domain.ActorSystem,
		Origin: domain.OriginAPI, Payload: domain.AccountUnlinked{AccountLinkID: link.ID}})
	h = NewReceivePlatformHandler(Deps{Keys: testKeys, Log: log, State: newFakeState()}) // another process, which never saw the link linked
	if _, err := h.Handle(context.Background(), ReceivePlatform{Link: link, Items: items}); domain.KindOf(err) != domain.KindPrecondition {
		t.Errorf("unlinked: %v", err)
	}
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}
