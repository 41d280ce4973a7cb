package sqlitefts

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/switchboard-oss/switchboard/bench/traffic"
	"github.com/switchboard-oss/switchboard/search"
)

func cpuTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkSearch searches an index of the benchmark's traffic (SWITCHBOARD_BENCH_DOCS
// messages, default 20000, over 8 teams as in make bench, indexed 20 per transaction as live
// traffic is) with the benchmark's queries, newest and relevance, as one of the teams.
func BenchmarkSearch(b *testing.B) {
	n := 20000
	if v, err := strconv.Atoi(os.Getenv("SWITCHBOARD_BENCH_DOCS")); err == nil {
		n = v
	}
	x, err := Open(filepath.Join(b.TempDir(), "search.db"), Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer x.Close()
	const teams = 8
	g, err := traffic.New(traffic.Config{Teams: teams, LinksPerTeam: 2, Threads: n / 10, Messages: n, Seed: 1})
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	var docs []search.Doc
	for i := 0; i < n; {
		op := g.Next()
		m := op.Message
		if m == nil || m.Duplicate {
			continue
		}
		i++
		docs = append(docs, search.Doc{TeamID: fmt.Sprint("team_", m.Link%teams), MessageID: m.PlatformMessageID, ThreadID: fmt.Sprint("t", m.Thread),
			AccountLinkID: fmt.Sprint("l", m.Link), ProspectName: m.DisplayName, Text: m.Text, SentAt: m.SentAt})
		if len(docs) == 20 {
			if err := x.Put(ctx, docs); err != nil {
				b.Fatal(err)
			}
			docs = docs[:0]
		}
	}
	if err := x.Put(ctx, docs); err != nil {
		b.Fatal(err)
	}
	for _, q := range traffic.Queries() {
		for _, sort := range []search.Sort{search.SortRelevance, search.SortNewest} {
			b.Run(fmt.Sprintf("%s/%d", q.Name, sort), func(b *testing.B) {
				terms, err := search.ParseQuery(q.Text)
				if err != nil {
					b.Fatal(err)
				}
				before := cpuTime()
				for b.Loop() {
					if _, err := x.Search(ctx, search.Query{TeamID: "team_1", Terms: terms, Sort: sort, Size: 20}); err != nil {
						b.Fatal(err)
					}
				}
				// CPU time is steadier than wall time on a shared machine.
				b.ReportMetric(float64(cpuTime()-before)/float64(b.N), "cpu-ns/op")
			})
		}
	}
}
