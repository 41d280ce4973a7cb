package readmodeltest

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/switchboard-oss/switchboard/domain"
	"github.com/switchboard-oss/switchboard/eventlog"
	"github.com/switchboard-oss/switchboard/projections"
)

// BenchAnalyticsLive is the analytics projector on live traffic: batches of 100 messages over
// 50 threads, a few of them busy (as in the benchmark's traffic, whose busiest thread holds a
// few percent of all messages), each thread's messages later than its earlier ones.
func BenchAnalyticsLive(b *testing.B, s projections.AnalyticsStore) {
	ctx := context.Background()
	p := projections.NewAnalyticsProjector(nil, s, nil, "")
	team := domain.NewID(domain.PrefixTeam)
	threads := make([]string, 50)
	for i := range threads {
		threads[i] = fmt.Sprintf("thr_%02d", i)
	}
	at := time.Date(2026, 5, 1, 9, 0, 0, 0, time.UTC)
	pos := int64(0)
	batch := func() []eventlog.Record {
		recs := make([]eventlog.Record, 100)
		for i := range recs {
			pos++
			at = at.Add(time.Second)
			thr := threads[int(pos)%len(threads)]
			if pos%3 != 0 {
				thr = threads[int(pos)%3] // three busy threads take two thirds of the messages
			}
			dir := domain.Inbound
			if pos%2 == 0 {
				dir = domain.Outbound
			}
			recs[i] = eventlog.Record{Position: eventlog.Position{Offset: pos}, Event: domain.Event{
				ID: fmt.Sprint("evt_", pos), TeamID: team, Key: "pro_" + thr, OccurredAt: at, Actor: "member:mem_1",
				Payload: domain.MessageReceived{MessageID: fmt.Sprint("msg_", pos), ThreadID: thr, ProspectID: "pro_" + thr,
					AccountLinkID: "acc_1", Platform: domain.PlatformMessenger, Direction: dir, SentAt: at}}}
		}
		return recs
	}
	b.ResetTimer()
	for b.Loop() {
		if err := p.Handle(ctx, batch()); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N*100)/b.Elapsed().Seconds(), "events/s")
}
