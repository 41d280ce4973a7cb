package webhooks

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/switchboard-oss/switchboard/domain"
	"github.com/switchboard-oss/switchboard/eventlog"
)

// Manager runs the subscriptions' lifecycle: each change is an event appended to the
// subscription's stream (key: its id) and then applied to the Store, so the API reads its own
// writes; the subscription projector (Project) applies the same events for any that a crash
// left unapplied. It never puts the signing secret in an event.
type Manager struct {
	Log     eventlog.Log
	Store   Store
	Guard   Guard
	Secrets Secrets
	// Now is the clock (nil: time.Now).
	Now func() time.Time
}

func (m *Manager) now() time.Time {
	if m.Now != nil {
		return m.Now().UTC()
	}
	return time.Now().UTC()
}

// Settings are what the team sets on a subscription.
type Settings struct {
	URL, Description string
	EventTypes       []string
}

// Change is an update: nil fields keep their value.
type Change struct {
	URL, Description *string
	EventTypes       *[]string
	Paused           *bool
}

// ErrUnavailable wraps store and log failures.
func unavailable(what string, err error) error { return domain.Unavailable(what, err) }

func (m *Manager) validate(ctx context.Context, s Settings) error {
	if err := m.Guard.CheckURL(ctx, s.URL); err != nil {
		return domain.Invalid("url", "%s", err.Error())
	}
	if len(s.Description) > 256 {
		return domain.Invalid("description", "must be at most 256 characters")
	}
	if len(s.EventTypes) > 100 {
		return domain.Invalid("event_types", "at most 100 types")
	}
	known := domain.EventTypes()
	for _, t := range s.EventTypes {
		if !slices.Contains(known, t) {
			return domain.Invalid("event_types", "unknown event type %q (e.g. %s)", t, domain.TypeMessageReceived)
		}
	}
	return nil
}

func (m *Manager) event(teamID, subID, actor string, p domain.Payload) domain.Event {
	now := m.now()
	origin := domain.OriginAPI
	if actor == domain.ActorSystem {
		origin = domain.OriginSystem
	}
	return domain.Event{ID: domain.NewID(domain.PrefixEvent), TeamID: teamID, Key: subID, OccurredAt: now,
		RecordedAt: now, Actor: actor, Origin: origin, Payload: p}
}

// Create subscribes a URL and returns the subscription and its signing secret. Delivery
// starts with the events appended after this call.
func (m *Manager) Create(ctx context.Context, teamID, memberID string, s Settings) (Subscription, string, error) {
	s.EventTypes = dedupe(s.EventTypes)
	if err := m.validate(ctx, s); err != nil {
		return Subscription{}, "", err
	}
	id := domain.NewID(domain.PrefixWebhook)
	head, err := m.Log.Head(ctx)
	if err != nil {
		return Subscription{}, "", unavailable("the event log", err)
	}
	if err := m.Store.InitCheckpoint(ctx, id, head.String()); err != nil {
		return Subscription{}, "", unavailable("the webhook store", err)
	}
	e := m.event(teamID, id, domain.ActorMember(memberID), domain.WebhookSubscriptionCreated{SubscriptionID: id, URL: s.URL,
		Description: s.Description, MemberID: memberID, EventTypes: s.EventTypes})
	res, err := m.Log.AppendStream(ctx, teamID, id, 0, []domain.Event{e})
	if err != nil {
		return Subscription{}, "", unavailable("the event log", err)
	}
	sub := Subscription{ID: id, TeamID: teamID, URL: s.URL, Description: s.Description, EventTypes: s.EventTypes,
		CreatedAt: e.OccurredAt, Version: res[0].Version}
	if err := m.Store.ApplySubscription(ctx, sub); err != nil {
		return Subscription{}, "", unavailable("the webhook store", err)
	}
	return sub, m.Secrets.For(id), nil
}

// Get returns a team's subscription (a domain NotFound when unknown).
func (m *Manager) Get(ctx context.Context, teamID, id string) (Subscription, error) {
	if id == "" {
		return Subscription{}, domain.Invalid("subscription_id", "is required")
	}
	sub, err := m.Store.Subscription(ctx, teamID, id)
	if errors.Is(err, ErrNotFound) {
		return sub, domain.NotFound("webhook subscription", id)
	}
	if err != nil {
		return sub, unavailable("the webhook store", err)
	}
	return sub, nil
}

// List lists a team's subscriptions.
func (m *Manager) List(ctx context.Context, teamID string) ([]Subscription, error) {
	subs, err := m.Store.Subscriptions(ctx, teamID)
	if err != nil {
		return nil, unavailable("the webhook store", err)
	}
	return subs, nil
}

// append writes one event of the subscription's stream at its version and applies next.
func (m *Manager) append(ctx context.Context, cur Subscription, e domain.Event, next Subscription) (Subscription, error) {
	res, err := m.Log.AppendStream(ctx, cur.TeamID, cur.ID, cur.Version, []domain.Event{e})
	if errors.Is(err, eventlog.ErrConflict) {
		return Subscription{}, domain.Aborted("webhook subscription %s changed meanwhile: retry", cur.ID)
	}
	if err != nil {
		return Subscription{}, unavailable("the event log", err)
	}
	next.Version = res[0].Version
	if err := m.Store.ApplySubscription(ctx, next); err != nil {
		return Subscription{}, unavailable("the webhook store", err)
	}
	return next, nil
}

// Update changes a subscription; any update also restarts a disabled one.
func (m *Manager) Update(ctx context.Context, teamID, memberID, id string, c Change) (Subscription, error) {
	cur, err := m.Get(ctx, teamID, id)
	if err != nil {
		return cur, err
	}
	next := cur
	if c.URL != nil {
		next.URL = *c.URL
	}
	if c.Description != nil {
		next.Description = *c.Description
	}
	if c.EventTypes != nil {
		next.EventTypes = dedupe(*c.EventTypes)
	}
	if c.Paused != nil {
		next.Paused = *c.Paused
	}
	if err := m.validate(ctx, Settings{URL: next.URL, Description: next.Description, EventTypes: next.EventTypes}); err != nil {
		return cur, err
	}
	next.Disabled, next.DisabledReason = false, ""
	e := m.event(teamID, id, domain.ActorMember(memberID), domain.WebhookSubscriptionUpdated{SubscriptionID: id, URL: next.URL,
		Description: next.Description, EventTypes: next.EventTypes, Paused: next.Paused})
	return m.append(ctx, cur, e, next)
}

// Delete stops delivery for good.
func (m *Manager) Delete(ctx context.Context, teamID, memberID, id string) error {
	cur, err := m.Get(ctx, teamID, id)
	if err != nil {
		return err
	}
	next := cur
	next.Deleted = true
	_, err = m.append(ctx, cur, m.event(teamID, id, domain.ActorMember(memberID), domain.WebhookSubscriptionDeleted{SubscriptionID: id}), next)
	return err
}

// Disable stops delivery to a subscription that failed for the whole retry window.
func (m *Manager) Disable(ctx context.Context, teamID, id, reason string) error {
	cur, err := m.Get(ctx, teamID, id)
	if err != nil {
		return err
	}
	if cur.Disabled {
		return nil
	}
	next := cur
	next.Disabled, next.DisabledReason = true, reason
	_, err = m.append(ctx, cur, m.event(teamID, id, domain.ActorSystem, domain.WebhookSubscriptionDisabled{SubscriptionID: id, Reason: reason}), next)
	return err
}

// RedeliverAfter moves the subscription's checkpoint back (or forward) to after cursor, or to
// the start of the log skipping events recorded before since.
func (m *Manager) RedeliverAfter(ctx context.Context, teamID, id string, after eventlog.Cursor, since time.Time) error {
	if _, err := m.Get(ctx, teamID, id); err != nil {
		return err
	}
	if err := m.Store.ResetCheckpoint(ctx, id, after.String(), since); err != nil {
		return unavailable("the webhook store", err)
	}
	return nil
}

// Deliveries lists a subscription's attempts.
func (m *Manager) Deliveries(ctx context.Context, teamID, id, status string, beforeID int64, limit int) ([]Delivery, error) {
	if _, err := m.Get(ctx, teamID, id); err != nil {
		return nil, err
	}
	switch status {
	case "", StatusOK, StatusFailed, StatusDead:
	default:
		return nil, domain.Invalid("status", "must be ok, failed or dead, got %q", status)
	}
	ds, err := m.Store.Deliveries(ctx, id, status, beforeID, limit)
	if err != nil {
		return nil, unavailable("the webhook store", err)
	}
	return ds, nil
}

// Project applies subscription events to the Store: the subscription projector, which repairs
// what a crash between an append and its apply left behind (run it as a consumer group).
func (m *Manager) Project(ctx context.Context, records []eventlog.Record) error {
	for _, r := range records {
		e := r.Event
		var cur Subscription
		switch e.Payload.(type) {
		case domain.WebhookSubscriptionCreated:
		case domain.WebhookSubscriptionUpdated, domain.WebhookSubscriptionDeleted, domain.WebhookSubscriptionDisabled:
			var err error
			cur, err = m.Store.Subscription(ctx, e.TeamID, e.Key)
			if errors.Is(err, ErrNotFound) {
				continue // deleted since: nothing left to change
			}
			if err != nil {
				return err
			}
			if r.Version != 0 && cur.Version >= r.Version {
				continue // applied already
			}
		default:
			continue
		}
		switch p := e.Payload.(type) {
		case domain.WebhookSubscriptionCreated:
			cur = Subscription{ID: p.SubscriptionID, TeamID: e.TeamID, URL: p.URL, Description: p.Description,
				EventTypes: p.EventTypes, CreatedAt: e.OccurredAt}
		case domain.WebhookSubscriptionUpdated:
			cur.URL, cur.Description, cur.EventTypes, cur.Paused = p.URL, p.Description, p.EventTypes, p.Paused
			cur.Disabled, cur.DisabledReason = false, ""
		case domain.WebhookSubscriptionDeleted:
			cur.Deleted = true
		case domain.WebhookSubscriptionDisabled:
			cur.Disabled, cur.DisabledReason = true, p.Reason
		}
		cur.Version = r.Version
		if err := m.Store.ApplySubscription(ctx, cur); err != nil {
			return err
		}
	}
	return nil
}

func dedupe(types []string) []string {
	var out []string
	for _, t := range types {
		if !slices.Contains(out, t) {
			out = append(out, t)
		}
	}
	return out
}

// errString keeps an error short and single-line for a delivery record.
func errString(err error) string {
	s := err.Error()
	if len(s) > 500 {
		s = s[:500]
	}
	return fmt.Sprint(s)
}
