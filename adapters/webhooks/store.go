// Package webhooks delivers the team's events to the URLs it subscribed (outbound webhooks):
// each subscription is a consumer of the event log with its own checkpoint, delivering at least
// once, in order per event key, signed with the subscription's secret. Subscriptions are event
// sourced (webhook_subscription.* events) and projected into a Store (SQLite or PostgreSQL),
// which also keeps checkpoints, delivery attempts, dead letters and the leases that give each
// subscription to exactly one process of the webhooks role at a time.
package webhooks

import (
	"context"
	"errors"
	"time"
)

// ErrNotFound is returned for an unknown (or deleted) subscription.
var ErrNotFound = errors.New("webhook subscription not found")

// Subscription is a subscription as projected, with its delivery state.
type Subscription struct {
	ID, TeamID, URL, Description string
	EventTypes                   []string
	Paused, Disabled, Deleted    bool
	DisabledReason               string
	CreatedAt                    time.Time
	// Version is the subscription stream's version this state is at.
	Version int64
	// LastSuccessAt is the last successful delivery (zero: none); LastError the last failed
	// attempt's error, cleared by a success.
	LastSuccessAt time.Time
	LastError     string
}

// State is active, paused or disabled.
func (s Subscription) State() string {
	switch {
	case s.Disabled:
		return "disabled"
	case s.Paused:
		return "paused"
	}
	return "active"
}

// Active says whether events are delivered to it now.
func (s Subscription) Active() bool { return !s.Deleted && !s.Paused && !s.Disabled }

// Delivery statuses.
const (
	StatusOK     = "ok"
	StatusFailed = "failed"
	StatusDead   = "dead"
)

// Delivery is one attempt at POSTing one event.
type Delivery struct {
	ID                                 int64
	SubscriptionID, EventID, EventType string
	Key                                string
	Before                             string // the raw cursor just before the event
	Attempt                            int
	At                                 time.Time
	HTTPStatus                         int
	Latency                            time.Duration
	Error, Status                      string
}

// Checkpoint is where a subscription's delivery resumes: after Cursor (a raw eventlog cursor),
// skipping events recorded before Since (RedeliverFrom by time). Gen changes at every move, so
// a worker's move never overwrites a RedeliverFrom made meanwhile.
type Checkpoint struct {
	Cursor string
	Since  time.Time
	Gen    int64
}

// Store keeps subscriptions, checkpoints, attempts and leases.
type Store interface {
	// ApplySubscription writes a subscription's settings (not its delivery state) unless the
	// stored one is at a later version.
	ApplySubscription(ctx context.Context, s Subscription) error
	// Subscription returns a team's subscription (ErrNotFound when unknown or deleted).
	Subscription(ctx context.Context, teamID, id string) (Subscription, error)
	// Subscriptions lists a team's subscriptions, oldest first (deleted ones left out).
	Subscriptions(ctx context.Context, teamID string) ([]Subscription, error)
	// AllSubscriptions lists every team's subscriptions but the deleted ones.
	AllSubscriptions(ctx context.Context) ([]Subscription, error)
	// InitCheckpoint sets a subscription's first checkpoint, unless it has one.
	InitCheckpoint(ctx context.Context, id, cursor string) error
	// Checkpoint returns a subscription's checkpoint (zero when none).
	Checkpoint(ctx context.Context, id string) (Checkpoint, error)
	// MoveCheckpoint sets the checkpoint if it is still at generation gen; false otherwise.
	MoveCheckpoint(ctx context.Context, id string, gen int64, cursor string, since time.Time) (bool, error)
	// ResetCheckpoint sets the checkpoint whatever its generation (RedeliverFrom).
	ResetCheckpoint(ctx context.Context, id, cursor string, since time.Time) error
	// RecordDelivery keeps an attempt, and the subscription's last success or error.
	RecordDelivery(ctx context.Context, d Delivery) error
	// Deliveries lists a subscription's attempts newest first, of one status ("" all), with an
	// id below beforeID (0: from the newest).
	Deliveries(ctx context.Context, id, status string, beforeID int64, limit int) ([]Delivery, error)
	// ClaimLease gives the subscription to holder until until, if it is free, expired at now,
	// or already holder's.
	ClaimLease(ctx context.Context, id, holder string, until, now time.Time) (bool, error)
	// Leases lists the leases not expired at now, by subscription id (or "~node:<holder>",
	// a process's presence), with their holder.
	Leases(ctx context.Context, now time.Time) (map[string]string, error)
	// ReleaseLease frees holder's lease.
	ReleaseLease(ctx context.Context, id, holder string) error
	Ping(ctx context.Context) error
	Close() error
}
