package readmodeltest

import (
	"context"
	"fmt"
	"os"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/switchboard-oss/switchboard/projections"
)

// BenchTeam is the team FillBench writes.
const BenchTeam = "tea_bench"

// BenchListThreads measures one page of Threads (the read model's query, with its prospects)
// on every view, with the filters make bench uses and the tag on every view, on page 1 and a
// deep page, over a read model of SB_BENCH_THREADS threads (default 100,000) of one team and
// SB_BENCH_MESSAGES messages per thread (default 10: 1M messages) written by FillBench. It
// reports the median and the p99 of SB_BENCH_SAMPLES calls (default 300) of each case. With
// before, each case runs twice on the same store: "before" with before (the query of earlier
// releases), "after" with the store's Threads. prepare, if set, runs once the store is filled
// (statistics, say).
func BenchListThreads(b *testing.B, s projections.Store, prepare func() error,
	before func(ctx context.Context, q projections.ThreadQuery) ([]projections.Thread, error)) {
	threads := benchEnvInt("SB_BENCH_THREADS", 100_000)
	perThread := benchEnvInt("SB_BENCH_MESSAGES", 10)
	samples := benchEnvInt("SB_BENCH_SAMPLES", 300)
	t0 := time.Now()
	FillBench(b, s, threads, perThread)
	if prepare != nil {
		if err := prepare(); err != nil {
			b.Fatal(err)
		}
	}
	b.Logf("read model of %d threads, %d messages built in %s", threads, threads*perThread, time.Since(t0).Round(time.Second))

	type tcase struct {
		name string
		q    projections.ThreadQuery
	}
	cases := []tcase{
		{"INBOX", projections.ThreadQuery{View: projections.ViewInbox}},
		{"NO_REPLY", projections.ThreadQuery{View: projections.ViewNoReply}},
		{"REQUESTS", projections.ThreadQuery{View: projections.ViewRequests}},
		{"ARCHIVED", projections.ThreadQuery{View: projections.ViewArchived}},
		{"ALL", projections.ThreadQuery{View: projections.ViewAll}},
		{"INBOX+link", projections.ThreadQuery{View: projections.ViewInbox, AccountLinkID: "acc_1"}},
		{"INBOX+platform", projections.ThreadQuery{View: projections.ViewInbox, Platform: "messenger"}},
		{"INBOX+assignee", projections.ThreadQuery{View: projections.ViewInbox, AssigneeMemberID: "mem_0"}},
		{"INBOX+unassigned", projections.ThreadQuery{View: projections.ViewInbox, Unassigned: true}},
		{"ALL+tag", projections.ThreadQuery{View: projections.ViewAll, TagID: "tag_0"}},
		{"ALL+status", projections.ThreadQuery{View: projections.ViewAll, StatusID: "sts_0"}},
		{"ARCHIVED+tag", projections.ThreadQuery{View: projections.ViewArchived, TagID: "tag_1"}},
		{"INBOX+tag", projections.ThreadQuery{View: projections.ViewInbox, TagID: "tag_2"}},
		{"NO_REPLY+tag", projections.ThreadQuery{View: projections.ViewNoReply, TagID: "tag_3"}},
		{"REQUESTS+tag", projections.ThreadQuery{View: projections.ViewRequests, TagID: "tag_4"}},
		{"INBOX+status", projections.ThreadQuery{View: projections.ViewInbox, StatusID: "sts_1"}},
		{"ARCHIVED+status", projections.ThreadQuery{View: projections.ViewArchived, StatusID: "sts_2"}},
	}
	ctx := context.Background()
	const limit = projections.DefaultPageSize + 1
	for _, c := range cases {
		c.q.TeamID, c.q.Limit = BenchTeam, limit
		for _, depth := range []int{1, 16} {
			// Walk to the page as a client would, with the current query.
			q := c.q
			reached := 1
			for reached < depth {
				page, err := s.Threads(ctx, q)
				if err != nil {
					b.Fatal(err)
				}
				if len(page) < limit {
					break
				}
				last := page[limit-2]
				q.After = &projections.SortKey{At: last.LastMessageAt, ID: last.ID}
				reached++
			}
			if depth > 1 && reached == 1 {
				continue
			}
			variants := []string{"after"}
			if before != nil {
				variants = []string{"before", "after"}
			}
			for _, variant := range variants {
				run := func() ([]projections.Thread, error) { return s.Threads(ctx, q) }
				if variant == "before" {
					run = func() ([]projections.Thread, error) { return before(ctx, q) }
				}
				want, err := s.Threads(ctx, q)
				if err != nil {
					b.Fatal(err)
				}
				got, err := run()
				if err != nil {
					b.Fatal(err)
				}
				if !slices.EqualFunc(got, want, func(a, b projections.Thread) bool { return a.ID == b.ID }) {
					b.Fatalf("%s page %d: %s query answers %d threads, the current one %d", c.name, reached, variant, len(got), len(want))
				}
				b.Run(fmt.Sprintf("%s/page=%d/%s", c.name, reached, variant), func(b *testing.B) {
					lat := make([]time.Duration, 0, samples)
					for b.Loop() {
						for range samples {
							t := time.Now()
							if _, err := run(); err != nil {
								b.Fatal(err)
							}
							lat = append(lat, time.Since(t))
						}
					}
					slices.Sort(lat)
					ms := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
					b.ReportMetric(ms(lat[len(lat)/2]), "p50-ms")
					b.ReportMetric(ms(lat[min(len(lat)-1, len(lat)*99/100)]), "p99-ms")
					b.ReportMetric(float64(len(want)), "rows")
				})
			}
		}
	}
}

// FillBench writes a team's read model as the projector would leave it after the bench's
// traffic and team activity: every thread of its own prospect, over 4 links and 4 platforms;
// 30% assigned to one of 4 members, 20% of prospects tagged with one of 5 tags, 10% with one
// of 4 statuses, 25% of threads done, 15% of the others requests.
func FillBench(b *testing.B, s projections.Store, threads, perThread int) {
	ctx := context.Background()
	platforms := []string{"messenger", "instagram", "whatsapp", "api"}
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	// A fixed pseudo-random sequence (xorshift), so every run builds the same read model.
	seed := uint64(88172645463325252)
	rnd := func() float64 {
		seed ^= seed << 13
		seed ^= seed >> 7
		seed ^= seed << 17
		return float64(seed>>11) / (1 << 53)
	}
	err := s.Update(ctx, func(tx projections.Tx) error {
		if err := tx.PutTeam(projections.Team{ID: BenchTeam, Name: "bench", CreatedAt: t0}); err != nil {
			return err
		}
		for i := range 5 {
			if err := tx.PutTag(projections.Tag{ID: fmt.Sprintf("tag_%d", i), TeamID: BenchTeam, Name: fmt.Sprintf("tag %d", i)}); err != nil {
				return err
			}
		}
		for i := range 4 {
			if err := tx.PutStatus(projections.Status{ID: fmt.Sprintf("sts_%d", i), TeamID: BenchTeam, Name: fmt.Sprintf("status %d", i), Position: int32(i)}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
	const batch = 2000
	for start := 0; start < threads; start += batch {
		err := s.Update(ctx, func(tx projections.Tx) error {
			if pf, ok := tx.(projections.Prefetcher); ok {
				// What the batch writes is new: one query, not a round trip per message.
				var p projections.Prefetch
				for i := start; i < min(start+batch, threads); i++ {
					p.Prospects = append(p.Prospects, projections.RowKey{TeamID: BenchTeam, ID: "prs_" + strconv.Itoa(i)})
					p.Threads = append(p.Threads, projections.RowKey{TeamID: BenchTeam, ID: "thr_" + strconv.Itoa(i)})
					for m := range perThread {
						p.Messages = append(p.Messages, projections.RowKey{TeamID: BenchTeam, ID: fmt.Sprintf("msg_%d_%d", i, m)})
					}
				}
				if err := pf.Prefetch(p); err != nil {
					return err
				}
			}
			for i := start; i < min(start+batch, threads); i++ {
				id := strconv.Itoa(i)
				last := t0.Add(time.Duration(int64(rnd()*float64(threads)*60)) * time.Second)
				p := projections.Prospect{ID: "prs_" + id, TeamID: BenchTeam, Platform: platforms[i%4], PlatformID: "u" + id,
					Username: "user" + id, DisplayName: "User " + id, FirstSeenAt: t0, LastSeenAt: last}
				if rnd() < 0.1 {
					p.StatusID = fmt.Sprintf("sts_%d", int(rnd()*4))
				}
				if err := tx.PutProspect(p); err != nil {
					return err
				}
				if rnd() < 0.2 {
					if err := tx.AddProspectTag(BenchTeam, p.ID, fmt.Sprintf("tag_%d", int(rnd()*5))); err != nil {
						return err
					}
				}
				t := projections.Thread{ID: "thr_" + id, TeamID: BenchTeam, Platform: platforms[i%4], PlatformID: "c" + id,
					AccountLinkID: fmt.Sprintf("acc_%d", i%4), ProspectID: p.ID, LastMessageAt: last, CreatedAt: t0,
					LastMessageDirection: "inbound", MessageCount: int32(perThread), LastMessageText: "hello " + id}
				if rnd() < 0.3 {
					t.AssigneeMemberID = fmt.Sprintf("mem_%d", int(rnd()*4))
				}
				if rnd() < 0.3 {
					t.LastMessageDirection = "outbound"
				}
				if rnd() < 0.25 {
					t.Done = true
				} else if rnd() < 0.15 {
					t.Request = true
				}
				for m := range perThread {
					t.LastMessageID = fmt.Sprintf("msg_%d_%d", i, m)
					_, err := tx.InsertMessage(projections.Message{ID: t.LastMessageID, TeamID: BenchTeam, ThreadID: t.ID,
						ProspectID: p.ID, AccountLinkID: t.AccountLinkID, Platform: t.Platform, Direction: "inbound",
						Text: "a message of some length, as people write them " + id, Status: "received",
						SentAt: last.Add(-time.Duration(perThread-m) * time.Minute)})
					if err != nil {
						return err
					}
				}
				if err := tx.PutThread(t); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			b.Fatal(err)
		}
	}
}

func benchEnvInt(name string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(name)); err == nil && v > 0 {
		return v
	}
	return def
}

// TagForBench creates 5 tags in team and tags a fifth of the prospects id(0)…id(n-1) with
// one of them, as the bench's teams do.
func TagForBench(b *testing.B, s projections.Store, team string, n int, id func(i int) string) {
	err := s.Update(context.Background(), func(tx projections.Tx) error {
		for i := range 5 {
			if err := tx.PutTag(projections.Tag{ID: fmt.Sprintf("tag_%d", i), TeamID: team, Name: fmt.Sprintf("tag %d", i)}); err != nil {
				return err
			}
		}
		for i := 0; i < n; i += 5 {
			if err := tx.AddProspectTag(team, id(i), fmt.Sprintf("tag_%d", i/5%5)); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
}
