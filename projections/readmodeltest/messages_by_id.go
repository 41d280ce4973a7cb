package readmodeltest

import (
	"context"
	"testing"
	"time"

	"github.com/switchboard-oss/switchboard/projections"
)

// MessagesByID checks Reader.MessagesByID on a store: a page of ids answers the team's
// messages of those ids, and no entry for an id that has none or is another team's; and the
// status filter of ListThreads follows a prospect's status set after its threads were written,
// in a later batch. Adapters call it beside Run.
func MessagesByID(t *testing.T, s projections.Store) {
	ctx := context.Background()
	at := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	err := s.Update(ctx, func(tx projections.Tx) error {
		for _, m := range []projections.Message{
			{ID: "msg_1", TeamID: "team_a", ThreadID: "thr_1", Text: "one", SentAt: at, Status: "received"},
			{ID: "msg_2", TeamID: "team_a", ThreadID: "thr_1", Text: "two", SentAt: at.Add(time.Minute), Status: "received"},
			{ID: "msg_3", TeamID: "team_b", ThreadID: "thr_9", Text: "other team", SentAt: at, Status: "received"},
		} {
			if _, err := tx.InsertMessage(m); err != nil {
				return err
			}
		}
		if err := tx.PutProspect(projections.Prospect{ID: "prs_1", TeamID: "team_a", FirstSeenAt: at, LastSeenAt: at}); err != nil {
			return err
		}
		return tx.PutThread(projections.Thread{ID: "thr_1", TeamID: "team_a", ProspectID: "prs_1", LastMessageAt: at})
	})
	if err != nil {
		t.Fatal(err)
	}
	got, err := s.MessagesByID(ctx, "team_a", []string{"msg_2", "msg_missing", "msg_3", "msg_1"})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got["msg_1"].Text != "one" || got["msg_2"].Text != "two" {
		t.Errorf("MessagesByID = %+v, want msg_1 and msg_2 of team_a only", got)
	}

	byStatus := func(status string) int {
		ts, err := s.Threads(ctx, projections.ThreadQuery{TeamID: "team_a", View: projections.ViewAll, StatusID: status, Limit: 10})
		if err != nil {
			t.Fatal(err)
		}
		return len(ts)
	}
	if n := byStatus("sts_1"); n != 0 {
		t.Fatalf("%d threads with status sts_1 before any status", n)
	}
	setStatus := func(status string) {
		err := s.Update(ctx, func(tx projections.Tx) error {
			p, err := tx.GetProspect("team_a", "prs_1")
			if err != nil {
				return err
			}
			p.StatusID = status
			return tx.PutProspect(p)
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	setStatus("sts_1")
	if n := byStatus("sts_1"); n != 1 {
		t.Errorf("%d threads with status sts_1 after the prospect got it, want 1", n)
	}
	setStatus("sts_2")
	if a, b := byStatus("sts_1"), byStatus("sts_2"); a != 0 || b != 1 {
		t.Errorf("after the prospect moved to sts_2: %d threads with sts_1, %d with sts_2; want 0 and 1", a, b)
	}
}
