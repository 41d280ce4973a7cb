package sqlite

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/switchboard-oss/switchboard/projections"
	"github.com/switchboard-oss/switchboard/projections/readmodeltest"
)

// BenchmarkListThreads measures one page of ListThreads on every view and filter, page 1 and
// a deep page, over a read model of 100,000 threads and 1M messages (readmodeltest.
// BenchListThreads says how to change the size). Each case runs twice on the same file:
// "before" with the filters as earlier releases wrote them (the status filter joining
// prospects, the tag filter checked per thread in the view's order), "after" with the current
// query. Run it alone: `nice -n 5 go test -run - -bench ListThreads -benchtime 1x
// ./adapters/sqlite/`.
func BenchmarkListThreads(b *testing.B) {
	s, err := OpenReadModel(filepath.Join(b.TempDir(), "readmodel.db"))
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	readmodeltest.BenchListThreads(b, s, nil, func(ctx context.Context, q projections.ThreadQuery) ([]projections.Thread, error) {
		return benchThreadsBefore(ctx, s, q)
	})
}

// benchThreadsBefore runs a page of threads with the filters of earlier releases: the status
// as an EXISTS on prospects and the tag as an EXISTS on prospect_tags, checked per thread.
func benchThreadsBefore(ctx context.Context, s *ReadModel, tq projections.ThreadQuery) ([]projections.Thread, error) {
	base := tq
	base.TagID, base.StatusID, base.After = "", "", nil
	where, args := base.Where(SQLiteDialect)
	if tq.TagID != "" {
		where += " AND EXISTS (SELECT 1 FROM prospect_tags pt JOIN tags g ON g.team_id = pt.team_id AND g.id = pt.tag_id" +
			" WHERE pt.team_id = t.team_id AND pt.prospect_id = t.prospect_id AND pt.tag_id = ?)"
		args = append(args, tq.TagID)
	}
	if tq.StatusID != "" {
		where += " AND EXISTS (SELECT 1 FROM prospects p WHERE p.team_id = t.team_id AND p.id = t.prospect_id AND p.status_id = ?)"
		args = append(args, tq.StatusID)
	}
	if tq.After != nil {
		at := rmTime(tq.After.At)
		where += " AND (t.last_message_at < ? OR (t.last_message_at = ? AND t.id < ?))"
		args = append(args, at, at, tq.After.ID)
	}
	query := rmThreadSelect + " WHERE " + where + " ORDER BY t.last_message_at DESC, t.id DESC" + rmLimit(tq.Limit)
	var out []projections.Thread
	err := s.rmRead(ctx, func(q rmQuerier) error {
		var err error
		out, err = rmQueryAll(ctx, q, rmScanThread, "threads", query, args...)
		if err != nil || len(out) == 0 {
			return err
		}
		return rmFillProspects(ctx, q, tq.TeamID, out)
	})
	return out, err
}
