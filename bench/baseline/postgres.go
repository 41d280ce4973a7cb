package baseline

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"runtime"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
)

// pgColumns are the columns COPY fills, in Row order.
var pgColumns = []string{"id", "team_id", "thread_id", "prospect_id", "account_link_id",
	"platform_message_id", "outbound", "text", "sent_at"}

// pgMessageColumns are the columns both baselines store, pgColumns in order.
const pgMessageColumns = `
	id                  text PRIMARY KEY,
	team_id             text NOT NULL,
	thread_id           text NOT NULL,
	prospect_id         text NOT NULL,
	account_link_id     text NOT NULL,
	platform_message_id text NOT NULL,
	outbound            boolean NOT NULL,
	text                text NOT NULL,
	sent_at             timestamptz NOT NULL`

const pgCopySchema = `CREATE TABLE messages (` + pgMessageColumns + `
);
CREATE INDEX messages_thread_sent ON messages (thread_id, sent_at);`

const pgFTSSchema = `CREATE TABLE messages (` + pgMessageColumns + `,
	tsv                 tsvector GENERATED ALWAYS AS (to_tsvector('simple', text)) STORED
);`

// Built after the load, as a bulk load into PostgreSQL would: one sort instead of per-row upkeep.
const pgFTSIndexes = `
CREATE INDEX messages_tsv ON messages USING gin (tsv);
CREATE INDEX messages_team_sent ON messages (team_id, sent_at);`

// PostgresCopy COPYs rows (pgx CopyFrom) into the same table shape in a fresh schema on url, drops the
// schema afterwards, and returns the time spent copying (including the index maintenance, since the
// table has its primary key and index before the copy).
func PostgresCopy(ctx context.Context, url string, rows []Row) (time.Duration, error) {
	return postgresCopy(ctx, url, rows, nil)
}

// postgresCopy is PostgresCopy with inspect called on the loaded schema before it is dropped.
func postgresCopy(ctx context.Context, url string, rows []Row, inspect func(context.Context, *pgx.Conn) error) (time.Duration, error) {
	cfg, err := pgx.ParseConfig(url)
	if err != nil {
		return 0, fmt.Errorf("baseline: postgres: invalid URL: %w", pgRedact(err))
	}
	schema, err := newSchemaName()
	if err != nil {
		return 0, err
	}
	cfg.RuntimeParams["search_path"] = pgx.Identifier{schema}.Sanitize()
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		return 0, fmt.Errorf("baseline: postgres: connect: %w", err)
	}
	defer conn.Close(context.Background())
	if _, err := conn.Exec(ctx, "CREATE SCHEMA "+pgx.Identifier{schema}.Sanitize()); err != nil {
		return 0, fmt.Errorf("baseline: postgres: create schema: %w", err)
	}
	defer func() {
		if dropSchema(conn.Exec, schema) == nil {
			return
		}
		// A cancelled ctx closes the connection mid-statement; drop over a fresh one.
		dctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if c, err := pgx.ConnectConfig(dctx, cfg); err == nil {
			_ = dropSchema(c.Exec, schema)
			c.Close(dctx)
		}
	}()
	if _, err := conn.Exec(ctx, pgCopySchema); err != nil {
		return 0, fmt.Errorf("baseline: postgres: create table: %w", err)
	}
	start := time.Now()
	if _, err := conn.CopyFrom(ctx, pgx.Identifier{"messages"}, pgColumns, copySource(rows)); err != nil {
		return 0, fmt.Errorf("baseline: postgres: copy: %w", err)
	}
	elapsed := time.Since(start)
	if inspect != nil {
		if err := inspect(ctx, conn); err != nil {
			return 0, err
		}
	}
	return elapsed, nil
}

func copySource(rows []Row) pgx.CopyFromSource {
	return pgx.CopyFromSlice(len(rows), func(i int) ([]any, error) {
		r := rows[i]
		return []any{r.ID, r.TeamID, r.ThreadID, r.ProspectID, r.AccountLinkID, r.PlatformMessageID,
			r.Outbound, r.Text, r.SentAt}, nil
	})
}

// FTSQuery is one search in PostgreSQL terms.
type FTSQuery struct {
	Text          string // SearchMessages syntax: words, "quoted phrase", prefix*, -exclusion
	TeamID        string // always applied
	AccountLinkID string // optional filter
	Outbound      *bool  // optional direction filter
	Newest        bool   // order by sent_at desc instead of ts_rank desc
	Limit         int    // page size (default 20)
}

// defaultLimit is SearchMessages' default page size.
const defaultLimit = 20

// PostgresFTS is the messages table with a tsvector column (to_tsvector('simple', text), a generated
// stored column) and a GIN index on it, plus a btree on (team_id, sent_at), in a fresh schema.
type PostgresFTS struct {
	pool      *pgxpool.Pool
	schema    string
	closeOnce sync.Once
}

// NewPostgresFTS loads rows (COPY), builds the GIN index, runs ANALYZE, and reports the time
// loading+indexing took.
//
// The time excludes creating the table and the ANALYZE, which only gathers planner statistics.
func NewPostgresFTS(ctx context.Context, url string, rows []Row) (*PostgresFTS, time.Duration, error) {
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		return nil, 0, fmt.Errorf("baseline: postgres: invalid URL: %w", pgRedact(err))
	}
	schema, err := newSchemaName()
	if err != nil {
		return nil, 0, err
	}
	// A startup parameter, as Switchboard's adapters/postgres sets it: no extra round trip.
	cfg.ConnConfig.RuntimeParams["search_path"] = pgx.Identifier{schema}.Sanitize()
	// Enough for the harness's concurrent searchers without crowding max_connections (100 by default).
	cfg.MaxConns = int32(min(32, max(8, 2*runtime.GOMAXPROCS(0))))
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, 0, fmt.Errorf("baseline: postgres: open pool: %w", err)
	}
	if _, err := pool.Exec(ctx, "CREATE SCHEMA "+pgx.Identifier{schema}.Sanitize()); err != nil {
		pool.Close()
		return nil, 0, fmt.Errorf("baseline: postgres: create schema: %w", err)
	}
	f := &PostgresFTS{pool: pool, schema: schema}
	elapsed, err := f.load(ctx, rows)
	if err != nil {
		f.Close()
		return nil, 0, err
	}
	return f, elapsed, nil
}

func (f *PostgresFTS) load(ctx context.Context, rows []Row) (time.Duration, error) {
	if _, err := f.pool.Exec(ctx, pgFTSSchema); err != nil {
		return 0, fmt.Errorf("baseline: postgres: create table: %w", err)
	}
	start := time.Now()
	if _, err := f.pool.CopyFrom(ctx, pgx.Identifier{"messages"}, pgColumns, copySource(rows)); err != nil {
		return 0, fmt.Errorf("baseline: postgres: copy: %w", err)
	}
	if _, err := f.pool.Exec(ctx, pgFTSIndexes); err != nil {
		return 0, fmt.Errorf("baseline: postgres: create indexes: %w", err)
	}
	elapsed := time.Since(start)
	if _, err := f.pool.Exec(ctx, "ANALYZE messages"); err != nil {
		return 0, fmt.Errorf("baseline: postgres: analyze: %w", err)
	}
	return elapsed, nil
}

// Search runs q, returns the number of hits on the page (<= Limit) and the total count of matches
// (count(*) over the same where clause, as SearchMessages reports a total).
func (f *PostgresFTS) Search(ctx context.Context, q FTSQuery) (page int, total int64, err error) {
	ids, total, err := f.search(ctx, q)
	return len(ids), total, err
}

// search is Search returning the page's ids, in order.
func (f *PostgresFTS) search(ctx context.Context, q FTSQuery) ([]string, int64, error) {
	limit := q.Limit
	if limit <= 0 {
		limit = defaultLimit
	}
	// Only constant fragments and $n placeholders go into the SQL; every value is an argument.
	from, where, order := "messages", "team_id = $1", "sent_at DESC, id DESC"
	args := []any{q.TeamID}
	tsq, err := ToTSQuery(q.Text)
	if err != nil {
		return nil, 0, err
	}
	if tsq != "" {
		args = append(args, tsq)
		from = "messages, to_tsquery('simple', $2) AS q"
		where += " AND tsv @@ q"
		if !q.Newest {
			order = "ts_rank(tsv, q) DESC, " + order
		}
	}
	if q.AccountLinkID != "" {
		args = append(args, q.AccountLinkID)
		where += fmt.Sprintf(" AND account_link_id = $%d", len(args))
	}
	if q.Outbound != nil {
		args = append(args, *q.Outbound)
		where += fmt.Sprintf(" AND outbound = $%d", len(args))
	}
	pageArgs := append(args[:len(args):len(args)], limit)
	// Page and total in one round trip, as a search engine returns both in one response.
	var b pgx.Batch
	var ids []string
	var total int64
	b.Queue(fmt.Sprintf("SELECT id FROM %s WHERE %s ORDER BY %s LIMIT $%d", from, where, order, len(pageArgs)),
		pageArgs...).Query(func(rows pgx.Rows) error {
		var err error
		ids, err = pgx.CollectRows(rows, pgx.RowTo[string])
		return err
	})
	b.Queue(fmt.Sprintf("SELECT count(*) FROM %s WHERE %s", from, where), args...).QueryRow(func(row pgx.Row) error {
		return row.Scan(&total)
	})
	if err := f.pool.SendBatch(ctx, &b).Close(); err != nil {
		return nil, 0, fmt.Errorf("baseline: postgres: search: %w", err)
	}
	return ids, total, nil
}

// Close drops the schema and closes the pool.
func (f *PostgresFTS) Close() {
	f.closeOnce.Do(func() {
		_ = dropSchema(f.pool.Exec, f.schema) // best effort: nothing to report it to
		f.pool.Close()
	})
}

// newSchemaName returns a schema name no other run uses, so runs can share a database.
func newSchemaName() (string, error) {
	var b [8]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("baseline: postgres: schema name: %w", err)
	}
	return "baseline_" + hex.EncodeToString(b[:]), nil
}

// dropSchema drops schema on its own deadline: it runs on the way out, often after ctx ended.
func dropSchema(exec func(context.Context, string, ...any) (pgconn.CommandTag, error), schema string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	_, err := exec(ctx, "DROP SCHEMA IF EXISTS "+pgx.Identifier{schema}.Sanitize()+" CASCADE")
	return err
}

// pgRedact keeps a URL parse error's kind but not its text, which may quote the URL.
func pgRedact(err error) error {
	var pe *pgconn.ParseConfigError
	if errors.As(err, &pe) {
		return errors.New("malformed connection string")
	}
	return err
}
