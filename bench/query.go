package main

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"time"

	"connectrpc.com/connect"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/switchboard-oss/switchboard/bench/baseline"
	"github.com/switchboard-oss/switchboard/bench/traffic"
	v1 "github.com/switchboard-oss/switchboard/proto/gen/switchboard/v1"
)

// activity is the team at work on the API links' threads: assignments, tags, statuses,
// threads marked done and read, so that every view and filter has something to select.
func (r *run) activity(ctx context.Context) error {
	type cmd struct {
		team int
		do   func(ctx context.Context, c *api) error
	}
	rng := rand.New(rand.NewPCG(uint64(r.opts.Seed), 7))
	var cmds []cmd
	keys := make([]int, 0, len(r.threads.refs))
	for k := range r.threads.refs {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		ref := r.threads.refs[k]
		tm := r.teams[ref.team]
		if rng.Float64() < 0.3 {
			member := tm.members[rng.IntN(len(tm.members))]
			cmds = append(cmds, cmd{ref.team, func(ctx context.Context, c *api) error {
				_, err := c.threads.AssignThread(ctx, connect.NewRequest(&v1.AssignThreadRequest{ThreadId: ref.id, MemberId: member}))
				return err
			}})
		}
		if rng.Float64() < 0.2 {
			tag := tm.tags[rng.IntN(len(tm.tags))]
			cmds = append(cmds, cmd{ref.team, func(ctx context.Context, c *api) error {
				_, err := c.people.TagProspect(ctx, connect.NewRequest(&v1.TagProspectRequest{ProspectId: ref.prospect, TagId: tag}))
				return err
			}})
		}
		if rng.Float64() < 0.1 {
			status := tm.statuses[rng.IntN(len(tm.statuses))]
			cmds = append(cmds, cmd{ref.team, func(ctx context.Context, c *api) error {
				_, err := c.people.SetProspectStatus(ctx, connect.NewRequest(&v1.SetProspectStatusRequest{ProspectId: ref.prospect, StatusId: status}))
				return err
			}})
		}
		switch x := rng.Float64(); {
		case x < 0.25:
			cmds = append(cmds, cmd{ref.team, func(ctx context.Context, c *api) error {
				_, err := c.threads.MarkThreadDone(ctx, connect.NewRequest(&v1.MarkThreadDoneRequest{ThreadId: ref.id}))
				return err
			}})
		case x < 0.6:
			cmds = append(cmds, cmd{ref.team, func(ctx context.Context, c *api) error {
				_, err := c.threads.MarkThreadRead(ctx, connect.NewRequest(&v1.MarkThreadReadRequest{ThreadId: ref.id}))
				return err
			}})
		}
	}
	var lat Samples
	took, err := closedLoop(ctx, r.sc.Workers, len(cmds), &lat, func(ctx context.Context, w, i int) error {
		c := cmds[i]
		if err := c.do(ctx, r.teams[c.team].apis[w%len(r.pool.clients)]); err != nil {
			return fmt.Errorf("team command: %w", err)
		}
		return nil
	})
	if err != nil {
		return err
	}
	r.add(lat.Latency(Figure{Section: "ingest", Name: fmt.Sprintf("team commands at saturation (assign, tag, status, done, read; %d clients)", r.sc.Workers),
		Unit: "cmd/s", Value: rate(len(cmds), took), N: len(cmds)}))
	return nil
}

// repeat calls f n times in a row (one client, as one user paging) and records each call.
func repeat(ctx context.Context, n int, f func(ctx context.Context) error) (*Samples, error) {
	var s Samples
	for range n {
		t0 := time.Now()
		if err := f(ctx); err != nil {
			return nil, err
		}
		s.Add(time.Since(t0))
	}
	return &s, nil
}

// queries measures the inbox's reads: every view, the filters, first and deep pages,
// ListMessages and GetThread, on the busiest team.
func (r *run) queries(ctx context.Context) error {
	tm := r.teams[0]
	c := tm.apis[0]
	n := r.sc.Iterations
	apiLink := r.links[tm.links[1]].id
	type q struct {
		name string
		req  *v1.ListThreadsRequest
	}
	list := []q{
		{"INBOX", &v1.ListThreadsRequest{View: v1.View_VIEW_INBOX}},
		{"NO_REPLY", &v1.ListThreadsRequest{View: v1.View_VIEW_NO_REPLY}},
		{"REQUESTS", &v1.ListThreadsRequest{View: v1.View_VIEW_REQUESTS}},
		{"ARCHIVED", &v1.ListThreadsRequest{View: v1.View_VIEW_ARCHIVED}},
		{"ALL", &v1.ListThreadsRequest{View: v1.View_VIEW_ALL}},
		{"INBOX, account link", &v1.ListThreadsRequest{View: v1.View_VIEW_INBOX, AccountLinkId: apiLink}},
		{"INBOX, platform Messenger", &v1.ListThreadsRequest{View: v1.View_VIEW_INBOX, Platform: v1.Platform_PLATFORM_MESSENGER}},
		{"INBOX, assignee", &v1.ListThreadsRequest{View: v1.View_VIEW_INBOX, AssigneeMemberId: tm.members[0]}},
		{"INBOX, unassigned", &v1.ListThreadsRequest{View: v1.View_VIEW_INBOX, Unassigned: true}},
		{"ALL, tag", &v1.ListThreadsRequest{View: v1.View_VIEW_ALL, TagId: tm.tags[0]}},
		{"ALL, status", &v1.ListThreadsRequest{View: v1.View_VIEW_ALL, StatusId: tm.statuses[0]}},
		{"ARCHIVED, tag", &v1.ListThreadsRequest{View: v1.View_VIEW_ARCHIVED, TagId: tm.tags[1]}},
	}
	for _, item := range list {
		for _, depth := range []int{1, r.sc.DeepPage} {
			req := item.req
			// Walk to the page, as a user scrolling would, then time that page.
			reached := 1
			for reached < depth {
				res, err := c.threads.ListThreads(ctx, connect.NewRequest(req))
				if err != nil {
					return fmt.Errorf("ListThreads %s: %w", item.name, err)
				}
				if res.Msg.NextPageToken == "" {
					break
				}
				next := proto.CloneOf(req)
				next.PageToken = res.Msg.NextPageToken
				req, reached = next, reached+1
			}
			if depth > 1 && reached == 1 {
				continue // a single page: no deep page to measure
			}
			s, err := repeat(ctx, n, func(ctx context.Context) error {
				_, err := c.threads.ListThreads(ctx, connect.NewRequest(req))
				return err
			})
			if err != nil {
				return fmt.Errorf("ListThreads %s: %w", item.name, err)
			}
			r.add(s.Latency(Figure{Section: "queries", Name: fmt.Sprintf("ListThreads %s, page %d", item.name, reached)}))
		}
	}

	// The team's threads, busiest first, for ListMessages and GetThread.
	counts := r.tally.perThread
	var mine []int
	for k, ref := range r.threads.refs {
		if ref.team == 0 {
			mine = append(mine, k)
		}
	}
	slices.SortFunc(mine, func(a, b int) int { return counts[b] - counts[a] })
	busiest := r.threads.refs[mine[0]]
	rng := rand.New(rand.NewPCG(uint64(r.opts.Seed), 11))
	randomThread := func() threadRef { return r.threads.refs[mine[rng.IntN(len(mine))]] }

	s, err := repeat(ctx, n, func(ctx context.Context) error {
		_, err := c.threads.ListMessages(ctx, connect.NewRequest(&v1.ListMessagesRequest{ThreadId: busiest.id}))
		return err
	})
	if err != nil {
		return fmt.Errorf("ListMessages: %w", err)
	}
	r.add(s.Latency(Figure{Section: "queries", Name: fmt.Sprintf("ListMessages, busiest thread (%d messages), page 1", counts[mine[0]])}))
	req := &v1.ListMessagesRequest{ThreadId: busiest.id}
	reached := 1
	for reached < 10 {
		res, err := c.threads.ListMessages(ctx, connect.NewRequest(req))
		if err != nil {
			return err
		}
		if res.Msg.NextPageToken == "" {
			break
		}
		req = &v1.ListMessagesRequest{ThreadId: busiest.id, PageToken: res.Msg.NextPageToken}
		reached++
	}
	if s, err = repeat(ctx, n, func(ctx context.Context) error {
		_, err := c.threads.ListMessages(ctx, connect.NewRequest(req))
		return err
	}); err != nil {
		return fmt.Errorf("ListMessages: %w", err)
	}
	r.add(s.Latency(Figure{Section: "queries", Name: fmt.Sprintf("ListMessages, busiest thread, page %d", reached)}))
	if s, err = repeat(ctx, n, func(ctx context.Context) error {
		_, err := c.threads.ListMessages(ctx, connect.NewRequest(&v1.ListMessagesRequest{ThreadId: randomThread().id}))
		return err
	}); err != nil {
		return fmt.Errorf("ListMessages: %w", err)
	}
	r.add(s.Latency(Figure{Section: "queries", Name: "ListMessages, random thread, page 1"}))
	if s, err = repeat(ctx, n, func(ctx context.Context) error {
		_, err := c.threads.GetThread(ctx, connect.NewRequest(&v1.GetThreadRequest{ThreadId: randomThread().id}))
		return err
	}); err != nil {
		return fmt.Errorf("GetThread: %w", err)
	}
	r.add(s.Latency(Figure{Section: "queries", Name: "GetThread, random thread"}))
	return nil
}

// searches measures SearchMessages for every generated query kind, with and without filters,
// and the same searches in PostgreSQL full-text search over the same messages when reachable.
func (r *run) searches(ctx context.Context, fts *baseline.PostgresFTS) error {
	tm := r.teams[0]
	c := tm.apis[0]
	apiLink := r.links[tm.links[1]].id
	inbound := false
	// The newer half of the history.
	first, last := r.rows[0].SentAt, r.rows[0].SentAt
	for _, row := range r.rows {
		first, last = minTime(first, row.SentAt), maxTime(last, row.SentAt)
	}
	from := first.Add(last.Sub(first) / 2)
	type variant struct {
		name   string
		req    func(q string) *v1.SearchMessagesRequest
		fts    func(q string) baseline.FTSQuery
		onlyOn string // the query name it runs on ("" for all)
	}
	variants := []variant{
		{"relevance", func(q string) *v1.SearchMessagesRequest { return &v1.SearchMessagesRequest{Query: q} },
			func(q string) baseline.FTSQuery { return baseline.FTSQuery{Text: q, TeamID: tm.id} }, ""},
		{"newest", func(q string) *v1.SearchMessagesRequest { return &v1.SearchMessagesRequest{Query: q, Sort: "newest"} },
			func(q string) baseline.FTSQuery { return baseline.FTSQuery{Text: q, TeamID: tm.id, Newest: true} }, ""},
		{"account link + inbound, newest", func(q string) *v1.SearchMessagesRequest {
			return &v1.SearchMessagesRequest{Query: q, AccountLinkId: apiLink, Direction: v1.Direction_DIRECTION_INBOUND, Sort: "newest"}
		}, func(q string) baseline.FTSQuery {
			return baseline.FTSQuery{Text: q, TeamID: tm.id, AccountLinkID: apiLink, Outbound: &inbound, Newest: true}
		}, "word (common)"},
		{"time range, relevance", func(q string) *v1.SearchMessagesRequest {
			return &v1.SearchMessagesRequest{Query: q, From: timestamppb.New(from)}
		}, nil, "word (common)"},
	}
	for _, q := range traffic.Queries() {
		for _, v := range variants {
			if v.onlyOn != "" && v.onlyOn != q.Name {
				continue
			}
			var total int64
			s, err := repeat(ctx, r.sc.Iterations, func(ctx context.Context) error {
				res, err := c.search.SearchMessages(ctx, connect.NewRequest(v.req(q.Text)))
				if err == nil {
					total = res.Msg.Total
				}
				return err
			})
			if err != nil {
				return fmt.Errorf("SearchMessages %q: %w", q.Text, err)
			}
			f := s.Latency(Figure{Section: "search", Name: fmt.Sprintf("SearchMessages %s %s, %s", q.Name, q.Text, v.name),
				Note: fmt.Sprintf("%d matches", total)})
			r.add(f)
			if fts == nil || v.fts == nil {
				continue
			}
			var ftsTotal int64
			bs, err := repeat(ctx, r.sc.Iterations, func(ctx context.Context) error {
				_, t, err := fts.Search(ctx, v.fts(q.Text))
				ftsTotal = t
				return err
			})
			if err != nil {
				return fmt.Errorf("PostgreSQL FTS %q: %w", q.Text, err)
			}
			b := bs.Latency(Figure{Section: "baseline", Name: fmt.Sprintf("PostgreSQL FTS %s %s, %s", q.Name, q.Text, v.name),
				Note: fmt.Sprintf("%d matches", ftsTotal)})
			r.add(b)
			r.ratio(fmt.Sprintf("search p99 %s %s, %s: ours / PostgreSQL FTS", q.Name, q.Text, v.name), f.P99, b.P99)
		}
	}
	return nil
}

// verify walks every team's ALL view to its end and checks that the read model holds exactly
// the threads and messages sent (duplicates once), and that every duplicate was reported.
func (r *run) verify(ctx context.Context, when string) (threads, messages int, err error) {
	for t, tm := range r.teams {
		c := tm.apis[0]
		req := &v1.ListThreadsRequest{View: v1.View_VIEW_ALL, PageSize: 100}
		gotThreads, gotMessages := 0, 0
		for {
			res, err := c.threads.ListThreads(ctx, connect.NewRequest(req))
			if err != nil {
				return 0, 0, fmt.Errorf("verify (%s): ListThreads: %w", when, err)
			}
			for _, th := range res.Msg.Threads {
				gotThreads++
				gotMessages += int(th.MessageCount)
			}
			if res.Msg.NextPageToken == "" {
				break
			}
			req = &v1.ListThreadsRequest{View: v1.View_VIEW_ALL, PageSize: 100, PageToken: res.Msg.NextPageToken}
		}
		wantThreads, wantMessages := len(r.tally.threads[t]), r.tally.messages[t]
		if gotThreads != wantThreads || gotMessages != wantMessages {
			return 0, 0, fmt.Errorf("verify (%s): team %d holds %d threads and %d messages; %d and %d were sent",
				when, t, gotThreads, gotMessages, wantThreads, wantMessages)
		}
		threads, messages = threads+gotThreads, messages+gotMessages
	}
	if r.tally.reported != r.tally.apiDuplicates {
		return 0, 0, fmt.Errorf("verify (%s): %d duplicates sent through IngestMessage, %d answered duplicate: true",
			when, r.tally.apiDuplicates, r.tally.reported)
	}
	return threads, messages, nil
}

func minTime(a, b time.Time) time.Time {
	if b.Before(a) {
		return b
	}
	return a
}

func maxTime(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}
