package commands

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"strings"
	"time"

	"github.com/switchboard-oss/switchboard/domain"
	"github.com/switchboard-oss/switchboard/eventlog"
	"github.com/switchboard-oss/switchboard/projections"
	"golang.org/x/sync/errgroup"
)

// ReceivePlatform records what a platform told us about one account link.
type ReceivePlatform struct {
	Link           projections.AccountLink
	Origin         domain.Origin // webhook, poll or backfill
	Items          []domain.PlatformItem
	RawContentType string // of the items' raw payloads, e.g. application/json
	// Actor is who brought the items: the platform (when empty) or a member (IngestMessage).
	Actor string
}

// ReceiveResult counts what happened.
type ReceiveResult struct {
	Result
	Appended, Duplicates int
	// Unhandled counts the payload kinds recorded raw, by kind.
	Unhandled map[string]int
}

// ReceivePlatformHandler handles ReceivePlatform.
type ReceivePlatformHandler struct{ base }

// NewReceivePlatformHandler returns the handler.
func NewReceivePlatformHandler(d Deps) ReceivePlatformHandler { return ReceivePlatformHandler{base{d}} }

// Handle turns the items into events and appends them durably; it returns once they are in the
// log (it does not wait for the read model: a platform only needs the acknowledgement). Every
// id derives from the platform's ids, so a redelivered payload appends nothing new, whichever
// path (webhook, poll, backfill, IngestMessage) brought it first.
func (h ReceivePlatformHandler) Handle(ctx context.Context, c ReceivePlatform) (ReceiveResult, error) {
	out, _, err := h.receive(ctx, c)
	return out, err
}

// receive derives the items' events, lets each prospect's aggregate decide what its messages do
// to its threads, and appends them durably (see receiveBatch). It returns the events as
// appended, with their results.
func (b base) receive(ctx context.Context, c ReceivePlatform) (ReceiveResult, []domain.Event, error) {
	l := c.Link
	if _, err := domain.ParsePlatform(l.Platform); err != nil {
		return ReceiveResult{}, nil, err
	}
	if _, err := b.activeLink(ctx, l.TeamID, l.ID); err != nil {
		return ReceiveResult{}, nil, err
	}
	events, res, _, err := b.receiveBatch(ctx, l.TeamID, []ReceivePlatform{c})
	out := ReceiveResult{Unhandled: map[string]int{}}
	if err != nil {
		return out, nil, err
	}
	for _, e := range events {
		if u, ok := e.Payload.(domain.PlatformUnhandled); ok {
			out.Unhandled[u.Kind]++
		}
	}
	for _, r := range res {
		if r.Duplicate {
			out.Duplicates++
		} else {
			out.Appended++
		}
		if r != (eventlog.AppendResult{Duplicate: true}) {
			out.Position = r.Position.String()
		}
	}
	return out, events, nil
}

// itemEvent is where one item of a batch went: the index of its (first) event, -1 when it made
// none; repeat when the batch already had that event (the same platform message twice).
type itemEvent struct {
	event  int
	repeat bool
}

// receiveBatch turns the items of several links of one team (already checked active) into
// events and appends them all at once (appendReceived): one webhook delivery, poll page or
// IngestMessages call is one append, whatever its size. An event the batch already holds is
// not added twice. It returns the events and their results in the same order, and for every
// item over the batches in order, where it went.
func (b base) receiveBatch(ctx context.Context, team string, batches []ReceivePlatform) ([]domain.Event, []eventlog.AppendResult, []itemEvent, error) {
	var events []domain.Event
	var items []itemEvent
	about := map[string]string{}
	seen := map[string]int{}
	now := b.now()
	for _, c := range batches {
		platform, err := domain.ParsePlatform(c.Link.Platform)
		if err != nil {
			return nil, nil, nil, err
		}
		bld := receiveBuilder{team: team, link: c.Link.ID, platform: platform, origin: c.Origin, now: now,
			contentType: c.RawContentType, unhandled: map[string]int{}, actor: c.Actor, about: about}
		if bld.actor == "" {
			bld.actor = domain.ActorPlatform(platform)
		}
		for _, it := range c.Items {
			bld.events = bld.events[:0]
			bld.add(it)
			ie := itemEvent{event: -1}
			for n, e := range bld.events {
				j, dup := seen[e.ID]
				if !dup {
					j = len(events)
					seen[e.ID] = j
					events = append(events, e)
				}
				if n == 0 {
					ie = itemEvent{event: j, repeat: dup}
				}
			}
			items = append(items, ie)
		}
	}
	if len(events) == 0 {
		return nil, nil, items, nil
	}
	res, err := b.appendReceived(ctx, team, events, about)
	if err != nil {
		return nil, nil, nil, err
	}
	return events, res, items, nil
}

// appendReceived appends what a platform told us: the events of each prospect through its
// aggregate, the team's (unhandled payloads, which no rule governs) as they are. The results
// come back in the events' order; an event the aggregate found to say nothing new (the echo of
// our own reply, a receipt of a message that is not ours) is not appended and its result is
// a bare duplicate. about maps the id of a receipt's event to the platform id of its message.
func (b base) appendReceived(ctx context.Context, team string, events []domain.Event, about map[string]string) ([]eventlog.AppendResult, error) {
	results := make([]eventlog.AppendResult, len(events))
	byKey := map[string][]int{}
	var keys, teamIdx []int
	for i, e := range events {
		if e.Key == team {
			teamIdx = append(teamIdx, i)
			continue
		}
		if _, ok := byKey[e.Key]; !ok {
			keys = append(keys, i)
		}
		byKey[e.Key] = append(byKey[e.Key], i)
	}
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(16)
	if len(teamIdx) > 0 {
		g.Go(func() error {
			batch := make([]domain.Event, len(teamIdx))
			for i, j := range teamIdx {
				batch[i] = events[j]
			}
			res, err := b.Log.Append(gctx, batch)
			if err != nil {
				return logError(err)
			}
			for i, j := range teamIdx {
				results[j] = res[i]
			}
			return nil
		})
	}
	for _, first := range keys {
		idx := byKey[events[first].Key]
		g.Go(func() error {
			var kept []int
			res, err := b.model().prospects.update(gctx, team, events[first].Key, "", func(p *domain.Prospect) ([]domain.Event, error) {
				batch := make([]domain.Event, 0, len(idx))
				var seen []domain.Event // what read receipts do to our replies: after the batch's own
				kept = kept[:0]
				for _, j := range idx {
					e, keep := decideReceived(p, events[j], about[events[j].ID])
					if !keep {
						continue
					}
					p.Apply(e) // the next message of the batch is decided after this one
					batch = append(batch, e)
					kept = append(kept, j)
					if ts, ok := e.Payload.(domain.ThreadSeen); ok {
						for _, d := range p.SeenUpTo(ts.ThreadID, ts.SeenAt) {
							r := e
							r.ID, r.Payload = domain.DeriveID(domain.PrefixEvent, d.MessageID, domain.TypeMessageDeliveryUpdated, "read"), d
							p.Apply(r)
							seen = append(seen, r)
						}
					}
				}
				return append(batch, seen...), nil
			})
			if err != nil {
				return err
			}
			for _, j := range idx {
				results[j] = eventlog.AppendResult{Duplicate: true}
			}
			for i, j := range kept {
				results[j] = res[i]
			}
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	b.learnThreads(events)
	return results, nil
}

// onlyOurs marks a message event that stands only for one of our replies (a status saying the
// platform accepted it): when it is not one of ours, it records nothing.
const onlyOurs = "\x00ours"

// decideReceived lets the prospect's aggregate decide what one received event records: a
// message decides its thread's rules, unless it is one of our own replies seen again (then it
// records at most that the platform has it); a receipt or a failure report about a platform
// message (pmid) applies to our reply of that id, and is dropped when there is none.
func decideReceived(p *domain.Prospect, e domain.Event, pmid string) (domain.Event, bool) {
	switch m := e.Payload.(type) {
	case domain.MessageReceived:
		if own, ours := p.ReceiveOwn(m); ours {
			e.Payload = own
			return e, own != nil
		}
		if pmid == onlyOurs {
			return e, false
		}
		e.Payload = p.ReceiveMessage(m, e.Origin)
	case domain.MessageDeliveryUpdated:
		id, ours := p.OurMessage(pmid, "")
		if !ours {
			return e, false
		}
		st := domain.SendDelivered
		if m.Status == domain.SendRead.String() {
			st = domain.SendRead
		}
		d, changed := p.RecordDelivery(id, st, m.At)
		e.Payload = d
		return e, changed
	case domain.MessageSendFailed:
		if pmid == "" {
			return e, true
		}
		id, ours := p.OurMessage(pmid, "")
		if !ours {
			return e, false
		}
		f, changed, err := p.RecordSendFailed(id, m.Reason, m.Permanent, m.PlatformErrorCode)
		e.Payload = f
		return e, changed && err == nil
	}
	return e, true
}

// receiveBuilder derives the events of a batch of platform items.
type receiveBuilder struct {
	team, link  string
	platform    domain.Platform
	origin      domain.Origin
	now         time.Time
	contentType string
	events      []domain.Event
	unhandled   map[string]int
	actor       string
	// about maps a receipt's event id to the platform id of the message it is about.
	about map[string]string
}

func (b *receiveBuilder) event(id, key string, at time.Time, p domain.Payload) {
	if at.IsZero() {
		at = b.now
	}
	b.events = append(b.events, domain.Event{ID: id, TeamID: b.team, Key: key, OccurredAt: at.UTC(),
		RecordedAt: b.now, Actor: b.actor, Origin: b.origin, Payload: p})
}

func (b *receiveBuilder) ids(conv, prospect string) (threadID, prospectID string) {
	if conv == "" {
		conv = prospect
	}
	return domain.ThreadID(b.team, b.platform, b.link, conv), domain.ProspectID(b.team, b.platform, prospect)
}

func (b *receiveBuilder) msgID(pmid string) string {
	return domain.MessageID(b.team, b.platform, b.link, pmid)
}

// other records a payload as unhandled: kept raw, counted, never dropped.
func (b *receiveBuilder) other(kind string, raw []byte, at time.Time) {
	b.unhandled[kind]++
	sum := sha256.Sum256(raw)
	b.event(domain.DeriveID(domain.PrefixEvent, b.link, domain.TypePlatformUnhandled, kind, hex.EncodeToString(sum[:])),
		b.team, at, domain.PlatformUnhandled{AccountLinkID: b.link, Platform: b.platform, Kind: kind, Raw: raw,
			RawContentType: b.contentType})
}

func (b *receiveBuilder) add(it domain.PlatformItem) {
	switch it := it.(type) {
	case domain.PlatformMessage:
		if it.PlatformMessageID == "" || it.Prospect.PlatformID == "" || it.Direction.IsZero() {
			b.other("invalid_message", it.Raw, it.SentAt)
			return
		}
		conv := it.ConversationID
		if conv == "" {
			conv = it.Prospect.PlatformID
		}
		thread, prospect := b.ids(conv, it.Prospect.PlatformID)
		msg := b.msgID(it.PlatformMessageID)
		replyTo := ""
		if it.ReplyToPlatformMessageID != "" {
			replyTo = b.msgID(it.ReplyToPlatformMessageID)
		}
		sent := it.SentAt
		if sent.IsZero() {
			sent = b.now
		}
		// The same id IngestMessage derives: one event per platform message, whatever the path.
		b.event(domain.DeriveID(domain.PrefixEvent, msg, domain.TypeMessageReceived), prospect, sent, domain.MessageReceived{
			MessageID: msg, ThreadID: thread, ProspectID: prospect, AccountLinkID: b.link, Platform: b.platform,
			PlatformMessageID: it.PlatformMessageID, PlatformConversationID: conv, Direction: it.Direction,
			Prospect: it.Prospect, Sender: it.Sender, Text: it.Text, Attachments: it.Attachments, SentAt: sent.UTC(),
			ReplyToPlatformMessageID: it.ReplyToPlatformMessageID, ReplyToMessageID: replyTo,
			Raw: it.Raw, RawContentType: b.contentType, ClientMessageID: it.ClientMessageID,
			Automated: it.Automated && it.Direction == domain.Outbound,
		})
	case domain.PlatformEdit:
		if it.PlatformMessageID == "" || it.ProspectPlatformID == "" {
			b.other("invalid_edit", it.Raw, it.EditedAt)
			return
		}
		thread, prospect := b.ids(it.ConversationID, it.ProspectPlatformID)
		msg := b.msgID(it.PlatformMessageID)
		sum := sha256.Sum256([]byte(it.Text))
		b.event(domain.DeriveID(domain.PrefixEvent, msg, domain.TypeMessageEdited, hex.EncodeToString(sum[:])), prospect, it.EditedAt,
			domain.MessageEdited{MessageID: msg, ThreadID: thread, ProspectID: prospect, Text: it.Text, Raw: it.Raw})
	case domain.PlatformDelete:
		if it.PlatformMessageID == "" || it.ProspectPlatformID == "" {
			b.other("invalid_delete", it.Raw, it.DeletedAt)
			return
		}
		thread, prospect := b.ids(it.ConversationID, it.ProspectPlatformID)
		msg := b.msgID(it.PlatformMessageID)
		b.event(domain.DeriveID(domain.PrefixEvent, msg, domain.TypeMessageDeleted), prospect, it.DeletedAt,
			domain.MessageDeleted{MessageID: msg, ThreadID: thread, ProspectID: prospect, Raw: it.Raw})
	case domain.PlatformSeen:
		if it.ProspectPlatformID == "" {
			return
		}
		thread, prospect := b.ids(it.ConversationID, it.ProspectPlatformID)
		b.event(domain.DeriveID(domain.PrefixEvent, thread, domain.TypeThreadSeen, it.Watermark.UTC().Format(time.RFC3339Nano)),
			prospect, it.Watermark, domain.ThreadSeen{ThreadID: thread, ProspectID: prospect, SeenAt: it.Watermark.UTC()})
		if it.PlatformMessageID != "" {
			b.add(domain.PlatformRead{PlatformMessageID: it.PlatformMessageID, ConversationID: it.ConversationID,
				ProspectPlatformID: it.ProspectPlatformID, At: it.Watermark})
		}
	case domain.PlatformDelivered:
		if it.ProspectPlatformID == "" {
			return
		}
		thread, prospect := b.ids(it.ConversationID, it.ProspectPlatformID)
		for _, pmid := range it.PlatformMessageIDs {
			msg := b.msgID(pmid)
			if it.Accepted {
				// The platform only accepted it: for our reply, the same as its echo.
				id := domain.DeriveID(domain.PrefixEvent, msg, domain.TypeMessageReceived)
				b.event(id, prospect, it.At, domain.MessageReceived{MessageID: msg, ThreadID: thread, ProspectID: prospect,
					Direction: domain.Outbound, PlatformMessageID: pmid, SentAt: it.At, AccountLinkID: b.link, Platform: b.platform})
				b.about[id] = onlyOurs
				continue
			}
			id := domain.DeriveID(domain.PrefixEvent, msg, domain.TypeMessageDeliveryUpdated, "delivered")
			b.event(id, prospect, it.At, domain.MessageDeliveryUpdated{MessageID: msg, ThreadID: thread, ProspectID: prospect,
				Status: domain.SendDelivered.String(), At: it.At.UTC()})
			b.about[id] = pmid
		}
	case domain.PlatformRead:
		if it.ProspectPlatformID == "" || it.PlatformMessageID == "" {
			return
		}
		thread, prospect := b.ids(it.ConversationID, it.ProspectPlatformID)
		msg := b.msgID(it.PlatformMessageID)
		id := domain.DeriveID(domain.PrefixEvent, msg, domain.TypeMessageDeliveryUpdated, "read")
		b.event(id, prospect, it.At, domain.MessageDeliveryUpdated{MessageID: msg, ThreadID: thread, ProspectID: prospect,
			Status: domain.SendRead.String(), At: it.At.UTC()})
		b.about[id] = it.PlatformMessageID
	case domain.PlatformFailed:
		if it.PlatformMessageID == "" || it.ProspectPlatformID == "" {
			return
		}
		thread, prospect := b.ids(it.ConversationID, it.ProspectPlatformID)
		msg := b.msgID(it.PlatformMessageID)
		id := domain.DeriveID(domain.PrefixEvent, msg, domain.TypeMessageSendFailed)
		b.event(id, prospect, it.At,
			domain.MessageSendFailed{MessageID: msg, ThreadID: thread, ProspectID: prospect, Reason: it.Reason, Permanent: true,
				PlatformErrorCode: it.Code})
		b.about[id] = it.PlatformMessageID
	case domain.PlatformProfile:
		p := it.Prospect
		if p.PlatformID == "" {
			return
		}
		_, prospect := b.ids("", p.PlatformID)
		b.event(domain.DeriveID(domain.PrefixEvent, prospect, domain.TypeProspectProfileUpdated, p.Username, p.DisplayName, p.AvatarURL),
			prospect, time.Time{}, domain.ProspectProfileUpdated{ProspectID: prospect, Platform: b.platform, PlatformID: p.PlatformID,
				Username: p.Username, DisplayName: p.DisplayName, AvatarURL: p.AvatarURL})
	case domain.PlatformOther:
		kind := strings.TrimSpace(it.Kind)
		if kind == "" {
			kind = "unknown"
		}
		b.other(kind, it.Raw, it.At)
	}
}
