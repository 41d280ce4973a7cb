package postgres

import (
	"context"
	"testing"

	"github.com/switchboard-oss/switchboard/projections"
	"github.com/switchboard-oss/switchboard/projections/readmodeltest"
)

// BenchmarkListThreads measures one page of ListThreads on every view and filter, page 1 and
// a deep page, over a read model of 100,000 threads and 1M messages (readmodeltest.
// BenchListThreads says how to change the size), analyzed as autovacuum would. Each case runs
// twice: "before" with the tag filter of earlier releases (checked per thread in the view's
// order), "after" with the current query. Run it alone: `nice -n 5 go test -run - -bench
// ListThreads -benchtime 1x -timeout 30m ./adapters/postgres/`.
func BenchmarkListThreads(b *testing.B) {
	s, _ := pgOpenTest(b, "")
	readmodeltest.BenchListThreads(b, s, func() error {
		_, err := s.pool.Exec(context.Background(), "ANALYZE")
		return err
	}, func(ctx context.Context, q projections.ThreadQuery) ([]projections.Thread, error) {
		return pgThreadsBefore(ctx, s, q)
	})
}

// pgThreadsBefore runs a page of threads with the tag filter of earlier releases: an EXISTS on
// prospect_tags, checked per thread of the view's (or another filter's) index.
func pgThreadsBefore(ctx context.Context, s *ReadModel, q projections.ThreadQuery) ([]projections.Thread, error) {
	base := q
	base.TagID = ""
	where, args := base.Where(PostgresDialect)
	if q.TagID != "" {
		args = append(args, q.TagID)
		where += " AND EXISTS (SELECT 1 FROM prospect_tags pt JOIN tags g ON g.team_id = pt.team_id AND g.id = pt.tag_id" +
			" WHERE pt.team_id = t.team_id AND pt.prospect_id = t.prospect_id AND pt.tag_id = " + PostgresDialect.Placeholder(len(args)) + ")"
	}
	query, args := pgPageSQL("rm-threads", "t.last_message_at", where, args, q.After, q.Limit)
	return pgQueryAll(ctx, s.pool, pgScanThread, "threads", pgThreadsFrom(query, "threads t", "t"), args...)
}
