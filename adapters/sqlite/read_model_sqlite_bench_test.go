package sqlite

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/switchboard-oss/switchboard/domain"
	"github.com/switchboard-oss/switchboard/projections"
	"github.com/switchboard-oss/switchboard/projections/readmodeltest"
)

// BenchmarkProjectMessages applies batches of 500 received messages, spread over 200 or 20,000
// threads of one team (a busy inbox, where a batch meets each thread again and again, or a
// wide one), to a SQLite read model as the projector does (one Update per batch): the read
// model's share of projection, without the log. "tagged": a fifth of the prospects have a
// tag, whose rows of thread_tags follow their threads. `go test -run - -bench ProjectMessages
// ./adapters/sqlite/`; make bench measures the whole projector.
func BenchmarkProjectMessages(b *testing.B) {
	for _, tagged := range []bool{false, true} {
		for _, threads := range []int{200, 20000} {
			name := fmt.Sprintf("threads=%d", threads)
			if tagged {
				name = "tagged," + name
			}
			b.Run(name, func(b *testing.B) { benchProjectMessages(b, threads, tagged) })
		}
	}
}

func benchProjectMessages(b *testing.B, threads int, tagged bool) {
	const batch = 500
	s, err := OpenReadModel(filepath.Join(b.TempDir(), "readmodel.db"))
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	ctx := context.Background()
	team := "team_bench"
	link := "acc_bench"
	if tagged {
		readmodeltest.TagForBench(b, s, team, threads, func(i int) string { return fmt.Sprintf("prs_u%d", i) })
	}
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	n := 0
	next := func() domain.Event {
		n++
		user := fmt.Sprintf("u%d", (n*7919)%threads)
		at := t0.Add(time.Duration(n) * time.Second)
		return domain.Event{ID: fmt.Sprintf("evt_%d", n), TeamID: team, Key: "prs_" + user, OccurredAt: at, RecordedAt: at,
			Payload: domain.MessageReceived{MessageID: fmt.Sprintf("msg_%d", n), ThreadID: "thr_" + user, ProspectID: "prs_" + user,
				AccountLinkID: link, Platform: domain.PlatformMessenger, PlatformMessageID: fmt.Sprintf("m%d", n),
				PlatformConversationID: "c" + user, Direction: domain.Inbound,
				Prospect: domain.Participant{PlatformID: user, Username: user, DisplayName: "User " + user},
				Text:     "hello, is this still available? " + user, SentAt: at,
				Decision: domain.Decision{Decided: true}}}
	}
	b.ResetTimer()
	for b.Loop() {
		events := make([]domain.Event, batch)
		for i := range events {
			events[i] = next()
		}
		err := s.Update(ctx, func(tx projections.Tx) error {
			for _, e := range events {
				if err := projections.Apply(tx, e); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N*batch)/b.Elapsed().Seconds(), "events/s")
}
