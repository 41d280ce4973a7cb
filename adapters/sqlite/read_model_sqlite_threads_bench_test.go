package sqlite

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/switchboard-oss/switchboard/projections"
)

// BenchmarkListThreads measures one page of ListThreads (the read model's query, with its
// prospects) on every view, with the filters make bench uses, on page 1 and a deep page, over
// a read model of SB_BENCH_THREADS threads (default 100,000) of one team and
// SB_BENCH_MESSAGES messages per thread (default 10: 1M messages). It reports the median and
// the p99 of SB_BENCH_SAMPLES calls (default 300) of each case. Each case runs twice on the
// same file: "before" with the filters as earlier releases wrote them (the status filter
// joining prospects, the tag filter checked per thread in the view's order), "after" with the
// current query. Run it alone: `nice -n 5 go test -run - -bench ListThreads -benchtime 1x
// ./adapters/sqlite/`.
func BenchmarkListThreads(b *testing.B) {
	threads := benchEnvInt("SB_BENCH_THREADS", 100_000)
	perThread := benchEnvInt("SB_BENCH_MESSAGES", 10)
	samples := benchEnvInt("SB_BENCH_SAMPLES", 300)
	s, err := OpenReadModel(filepath.Join(b.TempDir(), "readmodel.db"))
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	t0 := time.Now()
	benchFillReadModel(b, s, threads, perThread)
	b.Logf("read model of %d threads, %d messages built in %s", threads, threads*perThread, time.Since(t0).Round(time.Second))

	type tcase struct {
		name string
		q    projections.ThreadQuery
	}
	team := benchTeam
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
		{"INBOX+status", projections.ThreadQuery{View: projections.ViewInbox, StatusID: "sts_1"}},
		{"ARCHIVED+status", projections.ThreadQuery{View: projections.ViewArchived, StatusID: "sts_2"}},
	}
	ctx := context.Background()
	const limit = projections.DefaultPageSize + 1
	for _, c := range cases {
		c.q.TeamID, c.q.Limit = team, limit
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
			for _, variant := range []string{"before", "after"} {
				run := func() ([]projections.Thread, error) { return s.Threads(ctx, q) }
				if variant == "before" {
					run = func() ([]projections.Thread, error) { return benchThreadsBefore(ctx, s, q) }
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

const benchTeam = "tea_bench"

// benchFillReadModel writes a team's read model as the projector would leave it after the
// bench's traffic and team activity: every thread of its own prospect, over 4 links and 4
// platforms; 30% assigned to one of 4 members, 20% of prospects tagged with one of 5 tags,
// 10% with one of 4 statuses, 25% of threads done, 15% of the others requests.
func benchFillReadModel(b *testing.B, s *ReadModel, threads, perThread int) {
	ctx := context.Background()
	platforms := []string{"messenger", "instagram", "whatsapp", "api"}
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	// A fixed pseudo-random sequence (xorshift), so every run builds the same file.
	seed := uint64(88172645463325252)
	rnd := func() float64 {
		seed ^= seed << 13
		seed ^= seed >> 7
		seed ^= seed << 17
		return float64(seed>>11) / (1 << 53)
	}
	err := s.Update(ctx, func(tx projections.Tx) error {
		if err := tx.PutTeam(projections.Team{ID: benchTeam, Name: "bench", CreatedAt: t0}); err != nil {
			return err
		}
		for i := range 5 {
			if err := tx.PutTag(projections.Tag{ID: fmt.Sprintf("tag_%d", i), TeamID: benchTeam, Name: fmt.Sprintf("tag %d", i)}); err != nil {
				return err
			}
		}
		for i := range 4 {
			if err := tx.PutStatus(projections.Status{ID: fmt.Sprintf("sts_%d", i), TeamID: benchTeam, Name: fmt.Sprintf("status %d", i), Position: int32(i)}); err != nil {
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
			for i := start; i < min(start+batch, threads); i++ {
				id := strconv.Itoa(i)
				last := t0.Add(time.Duration(int64(rnd()*float64(threads)*60)) * time.Second)
				p := projections.Prospect{ID: "prs_" + id, TeamID: benchTeam, Platform: platforms[i%4], PlatformID: "u" + id,
					Username: "user" + id, DisplayName: "User " + id, FirstSeenAt: t0, LastSeenAt: last}
				if rnd() < 0.1 {
					p.StatusID = fmt.Sprintf("sts_%d", int(rnd()*4))
				}
				if err := tx.PutProspect(p); err != nil {
					return err
				}
				if rnd() < 0.2 {
					if err := tx.AddProspectTag(benchTeam, p.ID, fmt.Sprintf("tag_%d", int(rnd()*5))); err != nil {
						return err
					}
				}
				t := projections.Thread{ID: "thr_" + id, TeamID: benchTeam, Platform: platforms[i%4], PlatformID: "c" + id,
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
					_, err := tx.InsertMessage(projections.Message{ID: t.LastMessageID, TeamID: benchTeam, ThreadID: t.ID,
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
