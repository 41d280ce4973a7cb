package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/switchboard-oss/switchboard/adapters/webhooks"
)

// WebhookStore keeps outbound webhook subscriptions, checkpoints, attempts and leases in
// PostgreSQL (webhooks.Store), shared by every process (migrations/017_webhooks.up.sql).
type WebhookStore struct{ pool *pgxpool.Pool }

var _ webhooks.Store = (*WebhookStore)(nil)

// OpenWebhookStore applies pending migrations (see Migrate) and opens the store in the
// database at url.
func OpenWebhookStore(ctx context.Context, url string, opts ...Option) (*WebhookStore, error) {
	pool, _, err := pgOpenPool(ctx, url, opts)
	if err != nil {
		return nil, fmt.Errorf("webhook store: %w", err)
	}
	return &WebhookStore{pool: pool}, nil
}

func pgTime(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}

// ApplySubscription writes the settings unless the stored ones are at a later version.
func (s *WebhookStore) ApplySubscription(ctx context.Context, sub webhooks.Subscription) error {
	types := sub.EventTypes
	if types == nil {
		types = []string{}
	}
	_, err := s.pool.Exec(ctx, `INSERT INTO webhook_subscriptions (id, team_id, url, description, event_types, paused,
		disabled, disabled_reason, deleted, created_at, version) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
		ON CONFLICT (id) DO UPDATE SET url = excluded.url, description = excluded.description, event_types = excluded.event_types,
		paused = excluded.paused, disabled = excluded.disabled, disabled_reason = excluded.disabled_reason,
		deleted = excluded.deleted, version = excluded.version
		WHERE webhook_subscriptions.version <= excluded.version`,
		sub.ID, sub.TeamID, sub.URL, sub.Description, types, sub.Paused, sub.Disabled, sub.DisabledReason, sub.Deleted,
		sub.CreatedAt, sub.Version)
	if err != nil {
		return fmt.Errorf("apply webhook subscription %s: %w", sub.ID, err)
	}
	return nil
}

const pgWhColumns = `id, team_id, url, description, event_types, paused, disabled, disabled_reason, deleted, created_at,
	version, last_success_at, last_error`

func pgScanSubscription(row pgx.Row) (webhooks.Subscription, error) {
	var sub webhooks.Subscription
	var success *time.Time
	if err := row.Scan(&sub.ID, &sub.TeamID, &sub.URL, &sub.Description, &sub.EventTypes, &sub.Paused, &sub.Disabled,
		&sub.DisabledReason, &sub.Deleted, &sub.CreatedAt, &sub.Version, &success, &sub.LastError); err != nil {
		return sub, err
	}
	if len(sub.EventTypes) == 0 {
		sub.EventTypes = nil
	}
	sub.CreatedAt = sub.CreatedAt.UTC()
	if success != nil {
		sub.LastSuccessAt = success.UTC()
	}
	return sub, nil
}

// Subscription returns a team's subscription.
func (s *WebhookStore) Subscription(ctx context.Context, teamID, id string) (webhooks.Subscription, error) {
	sub, err := pgScanSubscription(s.pool.QueryRow(ctx, `SELECT `+pgWhColumns+` FROM webhook_subscriptions
		WHERE id = $1 AND team_id = $2 AND NOT deleted`, id, teamID))
	if errors.Is(err, pgx.ErrNoRows) {
		return sub, webhooks.ErrNotFound
	}
	if err != nil {
		return sub, fmt.Errorf("get webhook subscription %s: %w", id, err)
	}
	return sub, nil
}

func (s *WebhookStore) list(ctx context.Context, query string, args ...any) ([]webhooks.Subscription, error) {
	rows, err := s.pool.Query(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("list webhook subscriptions: %w", err)
	}
	defer rows.Close()
	var out []webhooks.Subscription
	for rows.Next() {
		sub, err := pgScanSubscription(rows)
		if err != nil {
			return nil, fmt.Errorf("list webhook subscriptions: %w", err)
		}
		out = append(out, sub)
	}
	return out, rows.Err()
}

// Subscriptions lists a team's subscriptions, oldest first.
func (s *WebhookStore) Subscriptions(ctx context.Context, teamID string) ([]webhooks.Subscription, error) {
	return s.list(ctx, `SELECT `+pgWhColumns+` FROM webhook_subscriptions WHERE team_id = $1 AND NOT deleted
		ORDER BY created_at, id`, teamID)
}

// AllSubscriptions lists every team's subscriptions but the deleted ones.
func (s *WebhookStore) AllSubscriptions(ctx context.Context) ([]webhooks.Subscription, error) {
	return s.list(ctx, `SELECT `+pgWhColumns+` FROM webhook_subscriptions WHERE NOT deleted ORDER BY created_at, id`)
}

// InitCheckpoint sets the first checkpoint unless there is one.
func (s *WebhookStore) InitCheckpoint(ctx context.Context, id, cursor string) error {
	_, err := s.pool.Exec(ctx, `INSERT INTO webhook_checkpoints (subscription_id, cursor, since, gen) VALUES ($1, $2, NULL, 1)
		ON CONFLICT (subscription_id) DO NOTHING`, id, cursor)
	if err != nil {
		return fmt.Errorf("init webhook checkpoint of %s: %w", id, err)
	}
	return nil
}

// Checkpoint returns the subscription's checkpoint (zero when none).
func (s *WebhookStore) Checkpoint(ctx context.Context, id string) (webhooks.Checkpoint, error) {
	var cp webhooks.Checkpoint
	var since *time.Time
	err := s.pool.QueryRow(ctx, `SELECT cursor, since, gen FROM webhook_checkpoints WHERE subscription_id = $1`, id).
		Scan(&cp.Cursor, &since, &cp.Gen)
	if errors.Is(err, pgx.ErrNoRows) {
		return webhooks.Checkpoint{}, nil
	}
	if err != nil {
		return cp, fmt.Errorf("get webhook checkpoint of %s: %w", id, err)
	}
	if since != nil {
		cp.Since = since.UTC()
	}
	return cp, nil
}

// MoveCheckpoint sets the checkpoint if it is still at generation gen.
func (s *WebhookStore) MoveCheckpoint(ctx context.Context, id string, gen int64, cursor string, since time.Time) (bool, error) {
	var q string
	if gen == 0 {
		q = `INSERT INTO webhook_checkpoints (subscription_id, cursor, since, gen) VALUES ($1, $2, $3, 1)
			ON CONFLICT (subscription_id) DO NOTHING`
	} else {
		q = `UPDATE webhook_checkpoints SET cursor = $2, since = $3, gen = gen + 1 WHERE subscription_id = $1 AND gen = $4`
	}
	args := []any{id, cursor, pgTime(since)}
	if gen != 0 {
		args = append(args, gen)
	}
	tag, err := s.pool.Exec(ctx, q, args...)
	if err != nil {
		return false, fmt.Errorf("move webhook checkpoint of %s: %w", id, err)
	}
	return tag.RowsAffected() == 1, nil
}

// ResetCheckpoint sets the checkpoint whatever its generation.
func (s *WebhookStore) ResetCheckpoint(ctx context.Context, id, cursor string, since time.Time) error {
	_, err := s.pool.Exec(ctx, `INSERT INTO webhook_checkpoints (subscription_id, cursor, since, gen) VALUES ($1, $2, $3, 1)
		ON CONFLICT (subscription_id) DO UPDATE SET cursor = excluded.cursor, since = excluded.since,
		gen = webhook_checkpoints.gen + 1`, id, cursor, pgTime(since))
	if err != nil {
		return fmt.Errorf("reset webhook checkpoint of %s: %w", id, err)
	}
	return nil
}

// RecordDelivery keeps an attempt and the subscription's last success or error.
func (s *WebhookStore) RecordDelivery(ctx context.Context, d webhooks.Delivery) error {
	return pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `INSERT INTO webhook_deliveries (subscription_id, event_id, event_type, key, before,
			attempt, attempted_at, http_status, latency_ms, error, status) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`,
			d.SubscriptionID, d.EventID, d.EventType, d.Key, d.Before, d.Attempt, d.At, d.HTTPStatus,
			d.Latency.Milliseconds(), d.Error, d.Status); err != nil {
			return fmt.Errorf("record webhook delivery: %w", err)
		}
		var err error
		if d.Status == webhooks.StatusOK {
			_, err = tx.Exec(ctx, `UPDATE webhook_subscriptions SET last_success_at = greatest(last_success_at, $2), last_error = ''
				WHERE id = $1`, d.SubscriptionID, d.At)
		} else {
			_, err = tx.Exec(ctx, `UPDATE webhook_subscriptions SET last_error = $2 WHERE id = $1`, d.SubscriptionID, d.Error)
		}
		if err != nil {
			return fmt.Errorf("record webhook delivery: %w", err)
		}
		return nil
	})
}

// Deliveries lists attempts newest first.
func (s *WebhookStore) Deliveries(ctx context.Context, id, status string, beforeID int64, limit int) ([]webhooks.Delivery, error) {
	if beforeID <= 0 {
		beforeID = 1<<63 - 1
	}
	rows, err := s.pool.Query(ctx, `SELECT id, subscription_id, event_id, event_type, key, before, attempt, attempted_at,
		http_status, latency_ms, error, status FROM webhook_deliveries
		WHERE subscription_id = $1 AND ($2 = '' OR status = $2) AND id < $3 ORDER BY id DESC LIMIT $4`,
		id, status, beforeID, limit)
	if err != nil {
		return nil, fmt.Errorf("list webhook deliveries: %w", err)
	}
	defer rows.Close()
	var out []webhooks.Delivery
	for rows.Next() {
		var d webhooks.Delivery
		var ms int64
		if err := rows.Scan(&d.ID, &d.SubscriptionID, &d.EventID, &d.EventType, &d.Key, &d.Before, &d.Attempt, &d.At,
			&d.HTTPStatus, &ms, &d.Error, &d.Status); err != nil {
			return nil, fmt.Errorf("list webhook deliveries: %w", err)
		}
		d.At, d.Latency = d.At.UTC(), time.Duration(ms)*time.Millisecond
		out = append(out, d)
	}
	return out, rows.Err()
}

// ClaimLease gives the subscription to holder if free, expired or already its own.
func (s *WebhookStore) ClaimLease(ctx context.Context, id, holder string, until, now time.Time) (bool, error) {
	tag, err := s.pool.Exec(ctx, `INSERT INTO webhook_leases (subscription_id, holder, until) VALUES ($1, $2, $3)
		ON CONFLICT (subscription_id) DO UPDATE SET holder = excluded.holder, until = excluded.until
		WHERE webhook_leases.holder = excluded.holder OR webhook_leases.until < $4`, id, holder, until, now)
	if err != nil {
		return false, fmt.Errorf("claim webhook lease of %s: %w", id, err)
	}
	return tag.RowsAffected() == 1, nil
}

// Leases lists the unexpired leases and their holders.
func (s *WebhookStore) Leases(ctx context.Context, now time.Time) (map[string]string, error) {
	rows, err := s.pool.Query(ctx, `SELECT subscription_id, holder FROM webhook_leases WHERE until >= $1`, now)
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
	_, err := s.pool.Exec(ctx, `DELETE FROM webhook_leases WHERE subscription_id = $1 AND holder = $2`, id, holder)
	return err
}

// Ping checks the database answers.
func (s *WebhookStore) Ping(ctx context.Context) error { return s.pool.Ping(ctx) }

// Close closes the pool.
func (s *WebhookStore) Close() error {
	s.pool.Close()
	return nil
}
