package readmodeltest

import (
	"time"

	"github.com/switchboard-oss/switchboard/domain"
	"github.com/switchboard-oss/switchboard/eventlog"
)

// t0 is the suite's clock origin. Times are whole seconds so that every engine stores them
// exactly (PostgreSQL keeps microseconds, SQLite nanoseconds).
var t0 = time.Date(2025, 3, 1, 9, 0, 0, 0, time.UTC)

// at is t0 plus minutes.
func at(minutes int) time.Time { return t0.Add(time.Duration(minutes) * time.Minute) }

// event wraps a payload in an envelope with a fresh event id.
func event(team, key string, when time.Time, p domain.Payload) domain.Event {
	return domain.Event{
		ID: domain.NewID(domain.PrefixEvent), TeamID: team, Key: key,
		OccurredAt: when, RecordedAt: when.Add(time.Second),
		Actor: domain.ActorSystem, Origin: domain.OriginWebhook, Payload: p,
	}
}

// teamEvent is a configuration event, keyed by the team.
func teamEvent(team string, when time.Time, p domain.Payload) domain.Event {
	return event(team, team, when, p)
}

// link is one of a team's platform accounts, as the suite uses it to derive ids.
type link struct {
	Team       string
	ID         string
	Platform   domain.Platform
	PlatformID string
}

func newLink(team string, p domain.Platform, platformID string) link {
	return link{Team: team, ID: domain.AccountLinkID(team, p, platformID), Platform: p, PlatformID: platformID}
}

func linked(l link, when time.Time) domain.Event {
	return teamEvent(l.Team, when, domain.AccountLinked{
		AccountLinkID: l.ID, Platform: l.Platform, PlatformID: l.PlatformID,
		Username: "acct_" + l.PlatformID, DisplayName: "Account " + l.PlatformID,
		WebhookPath: "/webhooks/" + l.Platform.String() + "/" + l.ID,
	})
}

// Ids as the write side derives them: one conversation per (link, user), one prospect per
// (team, platform, user), one message per (link, platform message id).
func threadID(l link, user string) string {
	return domain.ThreadID(l.Team, l.Platform, l.ID, conversation(user))
}
func prospectID(l link, user string) string { return domain.ProspectID(l.Team, l.Platform, user) }
func messageID(l link, pmid string) string  { return domain.MessageID(l.Team, l.Platform, l.ID, pmid) }
func conversation(user string) string       { return "conv-" + user }

// participant is how the platform shows user.
func participant(user string) domain.Participant {
	return domain.Participant{PlatformID: user, Username: user, DisplayName: "Name of " + user,
		AvatarURL: "https://cdn.example/" + user + ".png"}
}

// received is a message.received of platform message pmid in the conversation of l with
// user: inbound (user wrote) or outbound (the team wrote, seen on the platform).
func received(l link, user, pmid string, dir domain.Direction, text string, when time.Time) domain.Event {
	p := domain.MessageReceived{
		MessageID: messageID(l, pmid), ThreadID: threadID(l, user), ProspectID: prospectID(l, user),
		AccountLinkID: l.ID, Platform: l.Platform, PlatformMessageID: pmid,
		PlatformConversationID: conversation(user), Direction: dir, Prospect: participant(user),
		Text: text, SentAt: when,
	}
	if dir == domain.Outbound {
		p.Sender = domain.Participant{PlatformID: l.PlatformID, Username: "acct_" + l.PlatformID}
	}
	return event(l.Team, p.ProspectID, when, p)
}

// backfilled marks an event as brought by a history backfill.
func backfilled(e domain.Event) domain.Event {
	e.Origin = domain.OriginBackfill
	return e
}

// again is the same fact brought by another path: a new event id.
func again(e domain.Event) domain.Event {
	e.ID = domain.NewID(domain.PrefixEvent)
	e.Origin = domain.OriginPoll
	return e
}

// onThread builds an event about the conversation of l with user.
func onThread(l link, user string, when time.Time, p domain.Payload) domain.Event {
	return event(l.Team, prospectID(l, user), when, p)
}

func assigned(l link, user, member string, when time.Time) domain.Event {
	return onThread(l, user, when, domain.ThreadAssigned{ThreadID: threadID(l, user), ProspectID: prospectID(l, user), MemberID: member})
}

func unassigned(l link, user string, when time.Time) domain.Event {
	return onThread(l, user, when, domain.ThreadUnassigned{ThreadID: threadID(l, user), ProspectID: prospectID(l, user)})
}

func done(l link, user string, when time.Time) domain.Event {
	return onThread(l, user, when, domain.ThreadDone{ThreadID: threadID(l, user), ProspectID: prospectID(l, user)})
}

func reopened(l link, user string, when time.Time) domain.Event {
	return onThread(l, user, when, domain.ThreadReopened{ThreadID: threadID(l, user), ProspectID: prospectID(l, user)})
}

func read(l link, user string, when time.Time) domain.Event {
	return onThread(l, user, when, domain.ThreadRead{ThreadID: threadID(l, user), ProspectID: prospectID(l, user)})
}

func tagged(l link, user, tagID string, when time.Time) domain.Event {
	return onThread(l, user, when, domain.ProspectTagged{ProspectID: prospectID(l, user), TagID: tagID})
}

func untagged(l link, user, tagID string, when time.Time) domain.Event {
	return onThread(l, user, when, domain.ProspectUntagged{ProspectID: prospectID(l, user), TagID: tagID})
}

func statusChanged(l link, user, statusID string, when time.Time) domain.Event {
	return onThread(l, user, when, domain.ProspectStatusChanged{ProspectID: prospectID(l, user), StatusID: statusID})
}

func edited(l link, user, pmid, text string, when time.Time) domain.Event {
	return onThread(l, user, when, domain.MessageEdited{MessageID: messageID(l, pmid), ThreadID: threadID(l, user),
		ProspectID: prospectID(l, user), Text: text})
}

func deleted(l link, user, pmid string, when time.Time) domain.Event {
	return onThread(l, user, when, domain.MessageDeleted{MessageID: messageID(l, pmid), ThreadID: threadID(l, user),
		ProspectID: prospectID(l, user)})
}

func tagCreated(team, id, name string) domain.Event {
	return teamEvent(team, t0, domain.TagCreated{TagID: id, Name: name, Color: "#" + name})
}

func tagDeleted(team, id string) domain.Event {
	return teamEvent(team, t0, domain.TagDeleted{TagID: id})
}

func statusCreated(team, id, name string, position int32) domain.Event {
	return teamEvent(team, t0, domain.StatusCreated{StatusID: id, Name: name, Position: position})
}

func memberAdded(team, id, name string, when time.Time) domain.Event {
	return teamEvent(team, when, domain.MemberAdded{MemberID: id, Email: name + "@example.com", Name: name, Role: "agent"})
}

// records numbers events as consecutive positions of one partition, from offset first.
func records(partition int32, first int64, events ...domain.Event) []eventlog.Record {
	out := make([]eventlog.Record, len(events))
	for i, e := range events {
		out[i] = eventlog.Record{Position: eventlog.Position{Partition: partition, Offset: first + int64(i)}, Event: e}
	}
	return out
}
