package sqlite

import (
	"context"
	"database/sql"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/switchboard-oss/switchboard/adapters/webhooks"
)

//go:embed webhook_store_sqlite.sql
var whSchema string

// WebhookStore keeps outbound webhook subscriptions, checkpoints, attempts and leases in a
// SQLite file (webhooks.Store).
type WebhookStore struct{ db *sql.DB }

var _ webhooks.Store = (*WebhookStore)(nil)

// OpenWebhookStore opens (creating if needed) the store in the SQLite file at path.
func OpenWebhookStore(path string) (*WebhookStore, error) {
	db, err := openDB(path, whSchema)
	if err != nil {
		return nil, err
	}
	return &WebhookStore{db: db}, nil
}

func nanos(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixNano()
}

func fromNanos(n int64) time.Time {
	if n == 0 {
		return time.Time{}
	}
	return time.Unix(0, n).UTC()
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// ApplySubscription writes the settings unless the stored ones are at a later version.
func (s *WebhookStore) ApplySubscription(ctx context.Context, sub webhooks.Subscription) error {
	types, err := json.Marshal(orEmpty(sub.EventTypes))
	if err != nil {
		return err
	}
	_, err = s.db.ExecContext(ctx, `INSERT INTO webhook_subscriptions (id, team_id, url, description, event_types, paused,
		disabled, disabled_reason, deleted, created_at, version) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (id) DO UPDATE SET url = excluded.url, description = excluded.description, event_types = excluded.event_types,
		paused = excluded.paused, disabled = excluded.disabled, disabled_reason = excluded.disabled_reason,
		deleted = excluded.deleted, version = excluded.version
		WHERE webhook_subscriptions.version <= excluded.version`,
		sub.ID, sub.TeamID, sub.URL, sub.Description, string(types), boolInt(sub.Paused), boolInt(sub.Disabled),
		sub.DisabledReason, boolInt(sub.Deleted), nanos(sub.CreatedAt), sub.Version)
	if err != nil {
		return fmt.Errorf("apply webhook subscription %s: %w", sub.ID, err)
	}
	return nil
}

func orEmpty(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

const whColumns = `id, team_id, url, description, event_types, paused, disabled, disabled_reason, deleted, created_at,
	version, last_success_at, last_error`

func scanSubscription(sc interface{ Scan(...any) error }) (webhooks.Subscription, error) {
	var sub webhooks.Subscription
	var types string
	var paused, disabled, deleted int
	var created, success int64
	if err := sc.Scan(&sub.ID, &sub.TeamID, &sub.URL, &sub.Description, &types, &paused, &disabled, &sub.DisabledReason,
		&deleted, &created, &sub.Version, &success, &sub.LastError); err != nil {
		return sub, err
	}
	if err := json.Unmarshal([]byte(types), &sub.EventTypes); err != nil {
		return sub, fmt.Errorf("event types of webhook subscription %s: %w", sub.ID, err)
	}
	if len(sub.EventTypes) == 0 {
		sub.EventTypes = nil
	}
	sub.Paused, sub.Disabled, sub.Deleted = paused == 1, disabled == 1, deleted == 1
	sub.CreatedAt, sub.LastSuccessAt = fromNanos(created), fromNanos(success)
	return sub, nil
}

// Subscription returns a team's subscription.
func (s *WebhookStore) Subscription(ctx context.Context, teamID, id string) (webhooks.Subscription, error) {
	sub, err := scanSubscription(s.db.QueryRowContext(ctx, `SELECT `+whColumns+` FROM webhook_subscriptions
		WHERE id = ? AND team_id = ? AND deleted = 0`, id, teamID))
	if errors.Is(err, sql.ErrNoRows) {
		return sub, webhooks.ErrNotFound
	}
	if err != nil {
		return sub, fmt.Errorf("get webhook subscription %s: %w", id, err)
	}
	return sub, nil
}

func (s *WebhookStore) list(ctx context.Context, query string, args ...any) ([]webhooks.Subscription, error) {
	rows, err := s.db.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("list webhook subscriptions: %w", err)
	}
	defer rows.Close()
	var out []webhooks.Subscription
	for rows.Next() {
		sub, err := scanSubscription(rows)
		if err != nil {
			return nil, fmt.Errorf("list webhook subscriptions: %w", err)
		}
		out = append(out, sub)
	}
	return out, rows.Err()
}

// Subscriptions lists a team's subscriptions, oldest first.
func (s *WebhookStore) Subscriptions(ctx context.Context, teamID string) ([]webhooks.Subscription, error) {
	return s.list(ctx, `SELECT `+whColumns+` FROM webhook_subscriptions WHERE team_id = ? AND deleted = 0
		ORDER BY created_at, id`, teamID)
}

// AllSubscriptions lists every team's subscriptions but the deleted ones.
func (s *WebhookStore) AllSubscriptions(ctx context.Context) ([]webhooks.Subscription, error) {
	return s.list(ctx, `SELECT `+whColumns+` FROM webhook_subscriptions WHERE deleted = 0 ORDER BY created_at, id`)
}

// InitCheckpoint sets the first checkpoint unless there is one.
func (s *WebhookStore) InitCheckpoint(ctx context.Context, id, cursor string) error {
	_, err := s.db.ExecContext(ctx, `INSERT INTO webhook_checkpoints (subscription_id, cursor, since, gen) VALUES (?, ?, 0, 1)
		ON CONFLICT (subscription_id) DO NOTHING`, id, cursor)
	if err != nil {
		return fmt.Errorf("init webhook checkpoint of %s: %w", id, err)
	}
	return nil
}

// Checkpoint returns the subscription's checkpoint (zero when none).
func (s *WebhookStore) Checkpoint(ctx context.Context, id string) (webhooks.Checkpoint, error) {
	var cp webhooks.Checkpoint
	var since int64
	err := s.db.QueryRowContext(ctx, `SELECT cursor, since, gen FROM webhook_checkpoints WHERE subscription_id = ?`, id).
		Scan(&cp.Cursor, &since, &cp.Gen)
	if errors.Is(err, sql.ErrNoRows) {
		return webhooks.Checkpoint{}, nil
	}
	if err != nil {
		return cp, fmt.Errorf("get webhook checkpoint of %s: %w", id, err)
	}
	cp.Since = fromNanos(since)
	return cp, nil
}

// MoveCheckpoint sets the checkpoint if it is still at generation gen.
func (s *WebhookStore) MoveCheckpoint(ctx context.Context, id string, gen int64, cursor string, since time.Time) (bool, error) {
	var res sql.Result
	var err error
	if gen == 0 {
		res, err = s.db.ExecContext(ctx, `INSERT INTO webhook_checkpoints (subscription_id, cursor, since, gen) VALUES (?, ?, ?, 1)
			ON CONFLICT (subscription_id) DO NOTHING`, id, cursor, nanos(since))
	} else {
		res, err = s.db.ExecContext(ctx, `UPDATE webhook_checkpoints SET cursor = ?, since = ?, gen = gen + 1
			WHERE subscription_id = ? AND gen = ?`, cursor, nanos(since), id, gen)
	}
	if err != nil {
		return false, fmt.Errorf("move webhook checkpoint of %s: %w", id, err)
	}
	n, err := res.RowsAffected()
	return n == 1, err
}

// ResetCheckpoint sets the checkpoint whatever its generation.
func (s *WebhookStore) ResetCheckpoint(ctx context.Context, id, cursor string, since time.Time) error {
	_, err := s.db.ExecContext(ctx, `INSERT INTO webhook_checkpoints (subscription_id, cursor, since, gen) VALUES (?, ?, ?, 1)
		ON CONFLICT (subscription_id) DO UPDATE SET cursor = excluded.cursor, since = excluded.since,
		gen = webhook_checkpoints.gen + 1`, id, cursor, nanos(since))
	if err != nil {
		return fmt.Errorf("reset webhook checkpoint of %s: %w", id, err)
	}
	return nil
}

// RecordDelivery keeps an attempt and the subscription's last success or error.
func (s *WebhookStore) RecordDelivery(ctx context.Context, d webhooks.Delivery) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("record webhook delivery: %w", err)
	}
	defer func() { _ = tx.Rollback() }()
	if _, err := tx.ExecContext(ctx, `INSERT INTO webhook_deliveries (subscription_id, event_id, event_type, key, before,
		attempt, attempted_at, http_status, latency_ms, error, status) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		d.SubscriptionID, d.EventID, d.EventType, d.Key, d.Before, d.Attempt, nanos(d.At), d.HTTPStatus,
		d.Latency.Milliseconds(), d.Error, d.Status); err != nil {
		return fmt.Errorf("record webhook delivery: %w", err)
	}
	if d.Status == webhooks.StatusOK {
		_, err = tx.ExecContext(ctx, `UPDATE webhook_subscriptions SET last_success_at = max(last_success_at, ?), last_error = ''
			WHERE id = ?`, nanos(d.At), d.SubscriptionID)
	} else {
		_, err = tx.ExecContext(ctx, `UPDATE webhook_subscriptions SET last_error = ? WHERE id = ?`, d.Error, d.SubscriptionID)
	}
	if err != nil {
		return fmt.Errorf("record webhook delivery: %w", err)
	}
	return tx.Commit()
}

// Deliveries lists attempts newest first.
func (s *WebhookStore) Deliveries(ctx context.Context, id, status string, beforeID int64, limit int) ([]webhooks.Delivery, error) {
	if beforeID <= 0 {
		beforeID = 1<<63 - 1
	}
	rows, err := s.db.QueryContext(ctx, `SELECT id, subscription_id, event_id, event_type, key, before, attempt, attempted_at,
		http_status, latency_ms, error, status FROM webhook_deliveries
		WHERE subscription_id = ? AND (? = '' OR status = ?) AND id < ? ORDER BY id DESC LIMIT ?`,
		id, status, status, beforeID, limit)
	if err != nil {
		return nil, fmt.Errorf("list webhook deliveries: %w", err)
	}
	defer rows.Close()
	var out []webhooks.Delivery
	for rows.Next() {
		var d webhooks.Delivery
		var at, ms int64
		if err := rows.Scan(&d.ID, &d.SubscriptionID, &d.EventID, &d.EventType, &d.Key, &d.Before, &d.Attempt, &at,
			&d.HTTPStatus, &ms, &d.Error, &d.Status); err != nil {
			return nil, fmt.Errorf("list webhook deliveries: %w", err)
		}
		d.At, d.Latency = fromNanos(at), time.Duration(ms)*time.Millisecond
		out = append(out, d)
	}
	return out, rows.Err()
}

// ClaimLease gives the subscription to holder if free, expired or already its own.
func (s *WebhookStore) ClaimLease(ctx context.Context, id, holder string, until, now time.Time) (bool, error) {
	res, err := s.db.ExecContext(ctx, `INSERT INTO webhook_leases (subscription_id, holder, until) VALUES (?, ?, ?)
		ON CONFLICT (subscription_id) DO UPDATE SET holder = excluded.holder, until = excluded.until
		WHERE webhook_leases.holder = excluded.holder OR webhook_leases.until < ?`, id, holder, nanos(until), nanos(now))
	if err != nil {
		return false, fmt.Errorf("claim webhook lease of %s: %w", id, err)
	}
	n, err := res.RowsAffected()
	return n == 1, err
}

// Leases lists the unexpired leases and their holders.
func (s *WebhookStore) Leases(ctx context.Context, now time.Time) (map[string]string, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT subscription_id, holder FROM webhook_leases WHERE until >= ?`, nanos(now))
	if err != nil {
		return nil, fmt.Errorf("list webhook leases: %w", err)
	}
	defer rows.Close()
	out := map[string]string{}
	for rows.Next() {
		var id, holder string
		if err := rows.Scan(&id, &holder); err != nil {
			return nil, fmt.Errorf("list webhook leases: %w", err)
		}
		out[id] = holder
	}
	return out, rows.Err()
}

// ReleaseLease frees holder's lease.
func (s *WebhookStore) ReleaseLease(ctx context.Context, id, holder string) error {
	_, err := s.db.ExecContext(ctx, `DELETE FROM webhook_leases WHERE subscription_id = ? AND holder = ?`, id, holder)
	return err
}

// Ping checks the file answers.
func (s *WebhookStore) Ping(ctx context.Context) error { return s.db.PingContext(ctx) }

// Close closes the file.
func (s *WebhookStore) Close() error { return s.db.Close() }
