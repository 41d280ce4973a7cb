package postgres

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/switchboard-oss/switchboard/domain"
	"github.com/switchboard-oss/switchboard/projections"
	"github.com/switchboard-oss/switchboard/projections/readmodeltest"
)

// BenchmarkProjectMessages applies batches of 500 received messages, spread over 200 or 20,000
// threads of one team, to a PostgreSQL read model as the projector does (one Update per
// batch): new messages by COPY ("copy", what the read model does) or by the upsert of changed
// rows ("upsert", how earlier releases sent them), in the same run. `nice -n 5 go test -run -
// -bench ProjectMessages ./adapters/postgres/`.
// "tagged,…/copy": the same with a fifth of the prospects tagged, whose rows of thread_tags
// follow their threads.
func BenchmarkProjectMessages(b *testing.B) {
	for _, threads := range []int{200, 20000} {
		for _, mode := range []string{"upsert", "copy"} {
			b.Run(fmt.Sprintf("threads=%d/%s", threads, mode), func(b *testing.B) {
				s, _ := pgOpenTest(b, "")
				s.upsertNew = mode == "upsert"
				benchProjectMessages(b, s, threads, false)
			})
		}
	}
	for _, threads := range []int{200, 20000} {
		b.Run(fmt.Sprintf("tagged,threads=%d/copy", threads), func(b *testing.B) {
			s, _ := pgOpenTest(b, "")
			benchProjectMessages(b, s, threads, true)
		})
	}
}

func benchProjectMessages(b *testing.B, s *ReadModel, threads int, tagged bool) {
	const batch = 500
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
			if pf, ok := tx.(projections.Prefetcher); ok {
				if err := pf.Prefetch(projections.PrefetchOf(events)); err != nil {
					return err
				}
			}
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
