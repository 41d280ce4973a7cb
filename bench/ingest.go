package main

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"connectrpc.com/connect"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/switchboard-oss/switchboard/bench/baseline"
	"github.com/switchboard-oss/switchboard/bench/traffic"
	"github.com/switchboard-oss/switchboard/domain"
	v1 "github.com/switchboard-oss/switchboard/proto/gen/switchboard/v1"
)

// tally is what the server must hold once everything sent is applied.
type tally struct {
	mu            sync.Mutex
	messages      map[int]int // per team: distinct messages
	threads       map[int]map[int]bool
	perThread     map[int]int // distinct messages per generated thread
	duplicates    int         // sent as duplicates, by any path
	apiDuplicates int         // sent as duplicates through IngestMessage
	reported      int         // answered duplicate: true
}

func newTally() *tally {
	return &tally{messages: map[int]int{}, threads: map[int]map[int]bool{}, perThread: map[int]int{}}
}

// sent counts a message the server acknowledged; viaAPI when IngestMessage carried it.
func (t *tally) sent(team int, m *traffic.Message, viaAPI bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if m.Duplicate {
		t.duplicates++
		if viaAPI {
			t.apiDuplicates++
		}
		return
	}
	t.messages[team]++
	t.perThread[m.Thread]++
	if t.threads[team] == nil {
		t.threads[team] = map[int]bool{}
	}
	t.threads[team][m.Thread] = true
}

// total is the number of distinct messages sent.
func (t *tally) total() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	n := 0
	for _, m := range t.messages {
		n += m
	}
	return n
}

func (t *tally) answeredDuplicate() {
	t.mu.Lock()
	t.reported++
	t.mu.Unlock()
}

func (r *run) ingestRequest(m *traffic.Message) *v1.IngestMessageRequest {
	dir := v1.Direction_DIRECTION_INBOUND
	if m.Outbound {
		dir = v1.Direction_DIRECTION_OUTBOUND
	}
	return &v1.IngestMessageRequest{AccountLinkId: r.links[m.Link].id, PlatformMessageId: m.PlatformMessageID,
		Direction: dir, Participant: &v1.Participant{PlatformId: m.ProspectID, Username: m.Username, DisplayName: m.DisplayName},
		Text: m.Text, SentAt: timestamppb.New(m.SentAt)}
}

// ingestOne sends one message through IngestMessage and records what it became.
func (r *run) ingestOne(ctx context.Context, c *api, m *traffic.Message) error {
	l := r.links[m.Link]
	res, err := c.ingest.IngestMessage(ctx, connect.NewRequest(r.ingestRequest(m)))
	if err != nil {
		return fmt.Errorf("IngestMessage %s: %w", m.PlatformMessageID, err)
	}
	if res.Msg.Duplicate {
		r.tally.answeredDuplicate()
	}
	r.threads.set(m.Thread, threadRef{id: res.Msg.ThreadId, prospect: res.Msg.ProspectId, team: l.Team, link: m.Link})
	if !m.Duplicate {
		r.addRow(m, res.Msg.MessageId, res.Msg.ThreadId, res.Msg.ProspectId)
	}
	return nil
}

func (r *run) addRow(m *traffic.Message, id, thread, prospect string) {
	l := r.links[m.Link]
	r.rowsMu.Lock()
	r.rows = append(r.rows, baseline.Row{ID: id, TeamID: r.teams[l.Team].id, ThreadID: thread, ProspectID: prospect,
		AccountLinkID: l.id, PlatformMessageID: m.PlatformMessageID, Outbound: m.Outbound, Text: m.Text, SentAt: m.SentAt})
	r.rowsMu.Unlock()
}

// closedLoop runs workers that each send the next item as soon as their previous one is
// answered: the throughput at saturation. It stops at the first error.
func closedLoop(ctx context.Context, workers, n int, lat *Samples, send func(ctx context.Context, worker, i int) error) (time.Duration, error) {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	var next atomic.Int64
	var wg sync.WaitGroup
	start := time.Now()
	for w := range workers {
		wg.Go(func() {
			for ctx.Err() == nil {
				i := int(next.Add(1) - 1)
				if i >= n {
					return
				}
				t0 := time.Now()
				if err := send(ctx, w, i); err != nil {
					cancel(err)
					return
				}
				lat.Add(time.Since(t0))
			}
		})
	}
	wg.Wait()
	return time.Since(start), context.Cause(ctx)
}

// openLoop offers items at a fixed rate whatever the answers' pace, and measures each from the
// moment it was due, so a slow answer cannot hide the queue it causes (no coordinated omission).
func openLoop(ctx context.Context, perSecond, n int, lat *Samples, send func(ctx context.Context, i int) error) (time.Duration, error) {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	var wg sync.WaitGroup
	interval := time.Second / time.Duration(perSecond)
	start := time.Now()
	for i := 0; i < n && ctx.Err() == nil; i++ {
		due := start.Add(time.Duration(i) * interval)
		if d := time.Until(due); d > 0 {
			time.Sleep(d)
		}
		wg.Go(func() {
			if err := send(ctx, i); err != nil {
				cancel(err)
				return
			}
			lat.Add(time.Since(due))
		})
	}
	wg.Wait()
	return time.Since(start), context.Cause(ctx)
}

// ingestSaturation sends the API links' share of the fill stream with many concurrent clients.
// IngestMessage answers once durable, so the projectors may still be busy when the last answer
// comes: caughtUp waits for them, and the end-to-end rate counts that time too.
func (r *run) ingestSaturation(ctx context.Context, msgs []*traffic.Message, caughtUp func(context.Context) error) error {
	// The first half one per call (IngestMessage), the second in batches (IngestMessages).
	one, batched := msgs[:len(msgs)/2], msgs[len(msgs)/2:]
	var lat Samples
	workers := r.sc.Workers
	took, err := closedLoop(ctx, workers, len(one), &lat, func(ctx context.Context, w, i int) error {
		m := one[i]
		r.tally.sent(r.links[m.Link].Team, m, true)
		return r.ingestOne(ctx, r.teams[r.links[m.Link].Team].apis[w%len(r.pool.clients)], m)
	})
	if err != nil {
		return err
	}
	r.saturation = rate(len(one), took)
	r.add(lat.Latency(Figure{Section: "ingest", Name: fmt.Sprintf("IngestMessage at saturation (%d concurrent clients, HTTP/2)", workers),
		Unit: "msg/s", Value: rate(len(one), took), Note: fmt.Sprintf("%d messages acknowledged (durable) in %s", len(one), took.Round(time.Millisecond))}))
	t0 := time.Now()
	if err := caughtUp(ctx); err != nil {
		return err
	}
	lag := time.Since(t0)
	r.add(Figure{Section: "ingest", Name: "IngestMessage at saturation, until the read model and search index applied it all",
		Unit: "msg/s", Value: rate(len(one), took+lag), Note: fmt.Sprintf("projectors finished %s after the last answer", lag.Round(time.Millisecond))})

	// IngestMessages: 100 messages per call, each call of one team (one key).
	byTeam := map[int][]*traffic.Message{}
	var teams []int
	for _, m := range batched {
		t := r.links[m.Link].Team
		if _, ok := byTeam[t]; !ok {
			teams = append(teams, t)
		}
		byTeam[t] = append(byTeam[t], m)
	}
	var calls [][]*traffic.Message
	for _, t := range teams {
		for ms := byTeam[t]; len(ms) > 0; {
			n := min(ingestBatch, len(ms))
			calls = append(calls, ms[:n])
			ms = ms[n:]
		}
	}
	var blat Samples
	took, err = closedLoop(ctx, workers, len(calls), &blat, func(ctx context.Context, w, i int) error {
		batch := calls[i]
		for _, m := range batch {
			r.tally.sent(r.links[m.Link].Team, m, true)
		}
		return r.ingestBatch(ctx, r.teams[r.links[batch[0].Link].Team].apis[w%len(r.pool.clients)], batch)
	})
	if err != nil {
		return err
	}
	r.add(blat.Latency(Figure{Section: "ingest", Name: fmt.Sprintf("IngestMessages at saturation, %d messages per call (%d concurrent clients, HTTP/2)", ingestBatch, workers),
		Unit: "msg/s", Value: rate(len(batched), took), Note: fmt.Sprintf("%d messages in %d calls acknowledged (durable) in %s; latency per call", len(batched), len(calls), took.Round(time.Millisecond))}))
	t0 = time.Now()
	if err := caughtUp(ctx); err != nil {
		return err
	}
	lag = time.Since(t0)
	r.add(Figure{Section: "ingest", Name: "IngestMessages at saturation, until the read model and search index applied it all",
		Unit: "msg/s", Value: rate(len(batched), took+lag), Note: fmt.Sprintf("projectors finished %s after the last answer", lag.Round(time.Millisecond))})
	return nil
}

// ingestBatch is how many messages one IngestMessages call of the benchmark carries.
const ingestBatch = 100

// ingestBatch sends messages of one team through IngestMessages and records what each became.
func (r *run) ingestBatch(ctx context.Context, c *api, batch []*traffic.Message) error {
	req := &v1.IngestMessagesRequest{Messages: make([]*v1.IngestMessageRequest, len(batch))}
	for i, m := range batch {
		req.Messages[i] = r.ingestRequest(m)
	}
	res, err := c.ingest.IngestMessages(ctx, connect.NewRequest(req))
	if err != nil {
		return fmt.Errorf("IngestMessages (%d messages): %w", len(batch), err)
	}
	for i, m := range batch {
		it := res.Msg.Results[i]
		if it.Error != nil {
			return fmt.Errorf("IngestMessages %s: %s", m.PlatformMessageID, it.Error.Message)
		}
		if it.Duplicate {
			r.tally.answeredDuplicate()
		}
		l := r.links[m.Link]
		r.threads.set(m.Thread, threadRef{id: it.ThreadId, prospect: it.ProspectId, team: l.Team, link: m.Link})
		if !m.Duplicate {
			r.addRow(m, it.MessageId, it.ThreadId, it.ProspectId)
		}
	}
	return nil
}

// ingestAtLoad offers IngestMessage at a fixed rate while freshness probes run beside it.
func (r *run) ingestAtLoad(ctx context.Context, msgs []*traffic.Message) error {
	var lat Samples
	stop := make(chan struct{})
	probes := make(chan error, 1)
	go func() { probes <- r.freshness(ctx, stop) }()
	// Offered above saturation, the queue grows without bound: latencies then measure the
	// backlog, and a mode far below the load (Kafka + PostgreSQL here) runs calls past their
	// deadline. Such a mode gets 70% of its measured saturation instead, said in the name.
	load, name := r.sc.LoadRate, fmt.Sprintf("IngestMessage at a fixed %d msg/s", r.sc.LoadRate)
	if r.saturation > 0 && float64(load) > 1.2*r.saturation {
		load = max(1, int(0.7*r.saturation))
		name = fmt.Sprintf("IngestMessage at a fixed %d msg/s (70%% of saturation: %d msg/s is above what this mode sustains)", load, r.sc.LoadRate)
		msgs = msgs[:min(len(msgs), load*r.sc.LoadSeconds)]
	}
	took, err := openLoop(ctx, load, len(msgs), &lat, func(ctx context.Context, i int) error {
		m := msgs[i]
		r.tally.sent(r.links[m.Link].Team, m, true)
		return r.ingestOne(ctx, r.teams[r.links[m.Link].Team].apis[i%len(r.pool.clients)], m)
	})
	close(stop)
	perr := <-probes
	if err != nil {
		return err
	}
	if perr != nil {
		return perr
	}
	r.add(lat.Latency(Figure{Section: "ingest", Name: name,
		Unit: "msg/s", Value: rate(len(msgs), took), Note: "latency measured from each message's due time"}))
	return nil
}

// freshness ingests a probe message now and then and measures how long after its
// acknowledgement it shows at the top of ListThreads and is found by SearchMessages.
func (r *run) freshness(ctx context.Context, stop <-chan struct{}) error {
	tm := r.teams[0]
	var api *api = tm.apis[len(tm.apis)-1]
	lk := r.links[tm.links[len(tm.links)-1]]
	var inbox, found Samples
	tick := time.NewTicker(r.sc.ProbeEvery)
	defer tick.Stop()
	for i := 0; ; i++ {
		select {
		case <-stop:
			r.add(inbox.Latency(Figure{Section: "freshness", Name: "acknowledged ingest → top of ListThreads", Note: "probes during the fixed-load run"}))
			r.add(found.Latency(Figure{Section: "freshness", Name: "acknowledged ingest → found by SearchMessages", Note: "probes during the fixed-load run"}))
			if inbox.Len() == 0 {
				return fmt.Errorf("freshness: no probe completed")
			}
			return nil
		case <-ctx.Done():
			return ctx.Err()
		case <-tick.C:
		}
		word := fmt.Sprintf("zqprobe%dx%d", r.opts.Seed, i)
		m := &traffic.Message{Link: tm.links[len(tm.links)-1], Thread: -1, ProspectID: "bench-probe", Username: "probe",
			DisplayName: "Freshness Probe", PlatformMessageID: "probe-" + word, Text: "freshness " + word, SentAt: time.Now()}
		res, err := api.ingest.IngestMessage(ctx, connect.NewRequest(r.ingestRequest(m)))
		if err != nil {
			return fmt.Errorf("freshness probe: %w", err)
		}
		r.tally.sent(lk.Team, m, true)
		acked := time.Now()
		var wg sync.WaitGroup
		var errs [2]error
		wg.Go(func() {
			var seen string
			errs[0] = poll(ctx, func() (bool, error) {
				out, err := api.threads.ListThreads(ctx, connect.NewRequest(&v1.ListThreadsRequest{View: v1.View_VIEW_ALL,
					AccountLinkId: lk.id, PageSize: 1}))
				if err != nil {
					return false, err
				}
				if len(out.Msg.Threads) == 0 {
					seen = "no thread"
					return false, nil
				}
				t := out.Msg.Threads[0]
				seen = fmt.Sprintf("thread %s, last message %q at %s", t.Id, t.LastMessageText, t.LastMessageAt.AsTime().Format(time.RFC3339Nano))
				return t.Id == res.Msg.ThreadId && t.LastMessageText == m.Text, nil
			})
			if errs[0] != nil {
				errs[0] = fmt.Errorf("probe %q (thread %s) not at the top of ListThreads: %w; the top: %s", m.Text, res.Msg.ThreadId, errs[0], seen)
			}
			inbox.Add(time.Since(acked))
		})
		wg.Go(func() {
			errs[1] = poll(ctx, func() (bool, error) {
				out, err := api.search.SearchMessages(ctx, connect.NewRequest(&v1.SearchMessagesRequest{Query: word, PageSize: 1}))
				return err == nil && out.Msg.Total == 1, err
			})
			if errs[1] != nil {
				errs[1] = fmt.Errorf("probe %q not found by SearchMessages: %w", m.Text, errs[1])
			}
			found.Add(time.Since(acked))
		})
		wg.Wait()
		for _, err := range errs {
			if err != nil {
				return fmt.Errorf("freshness probe: %w", err)
			}
		}
	}
}

// poll asks every 2ms until ok, for at most 30s.
func poll(ctx context.Context, ok func() (bool, error)) error {
	deadline := time.Now().Add(30 * time.Second)
	for {
		done, err := ok()
		if err != nil {
			return err
		}
		if done {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("not visible after 30s")
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(2 * time.Millisecond):
		}
	}
}

// Messenger webhook bodies, as Meta sends them (see ../shared/fixtures/platforms/messenger).
type (
	mBody struct {
		Object string   `json:"object"`
		Entry  []mEntry `json:"entry"`
	}
	mEntry struct {
		ID        string  `json:"id"`
		Time      int64   `json:"time"`
		Messaging []mItem `json:"messaging"`
	}
	mItem struct {
		Sender      mID           `json:"sender"`
		Recipient   mID           `json:"recipient"`
		Timestamp   int64         `json:"timestamp"`
		Message     *mMessage     `json:"message,omitempty"`
		MessageEdit *mMessageEdit `json:"message_edit,omitempty"`
	}
	mID struct {
		ID string `json:"id"`
	}
	mMessage struct {
		Mid    string `json:"mid"`
		Text   string `json:"text"`
		IsEcho bool   `json:"is_echo,omitempty"`
		AppID  int64  `json:"app_id,omitempty"`
	}
	mMessageEdit struct {
		Mid     string `json:"mid"`
		Text    string `json:"text"`
		NumEdit int    `json:"num_edit"`
	}
)

func (r *run) messengerItem(op traffic.Op) mItem {
	if e := op.Edit; e != nil {
		page := r.links[e.Link].PlatformID
		return mItem{Sender: mID{e.ProspectID}, Recipient: mID{page}, Timestamp: e.At.UnixMilli(),
			MessageEdit: &mMessageEdit{Mid: e.PlatformMessageID, Text: e.Text, NumEdit: e.NumEdit}}
	}
	m := op.Message
	page := r.links[m.Link].PlatformID
	it := mItem{Sender: mID{m.ProspectID}, Recipient: mID{page}, Timestamp: m.SentAt.UnixMilli(),
		Message: &mMessage{Mid: m.PlatformMessageID, Text: m.Text}}
	if m.Outbound {
		// What the team wrote comes back as an echo, from the page to the person.
		it.Sender, it.Recipient = it.Recipient, it.Sender
		it.Message.IsEcho, it.Message.AppID = true, 1517512848264412
	}
	return it
}

// webhooks delivers the Messenger links' share of the stream as signed webhook POSTs carrying
// batches of messaging items; each page's batches go in order, pages in parallel, as Meta does.
func (r *run) webhooks(ctx context.Context, ops []traffic.Op) error {
	type batch struct {
		link int
		body []byte
		msgs []*traffic.Message
	}
	perLink := map[int][]traffic.Op{}
	for _, op := range ops {
		l := opLink(op)
		perLink[l] = append(perLink[l], op)
	}
	var queues [][]batch
	messages, edits := 0, 0
	for l, ops := range perLink {
		var q []batch
		for i := 0; i < len(ops); i += r.sc.WebhookBatch {
			chunk := ops[i:min(i+r.sc.WebhookBatch, len(ops))]
			b := batch{link: l}
			body := mBody{Object: "page", Entry: []mEntry{{ID: r.links[l].PlatformID, Time: time.Now().UnixMilli()}}}
			for _, op := range chunk {
				body.Entry[0].Messaging = append(body.Entry[0].Messaging, r.messengerItem(op))
				if op.Message != nil {
					b.msgs = append(b.msgs, op.Message)
					messages++
				} else {
					edits++
				}
			}
			raw, err := json.Marshal(body)
			if err != nil {
				return err
			}
			b.body = raw
			q = append(q, b)
		}
		queues = append(queues, q)
	}
	hc := h2c()
	defer hc.CloseIdleConnections()
	var lat Samples
	took, err := closedLoop(ctx, len(queues), len(queues), &lat, func(ctx context.Context, _, qi int) error {
		for _, b := range queues[qi] {
			t0 := time.Now()
			if err := r.postWebhook(ctx, hc, r.links[b.link], b.body); err != nil {
				return err
			}
			lat.Add(time.Since(t0))
			for _, m := range b.msgs {
				r.tally.sent(r.links[m.Link].Team, m, false)
				if !m.Duplicate {
					r.messengerRow(m)
				}
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	// closedLoop timed whole queues; the figure wants each POST.
	f := lat.Latency(Figure{Section: "ingest", Name: fmt.Sprintf("Messenger webhooks, signed, %d items per POST (%d pages in parallel)", r.sc.WebhookBatch, len(queues)),
		Unit: "msg/s", Value: rate(messages, took), Note: fmt.Sprintf("%d messages and %d edits in %s; latency per POST", messages, edits, took.Round(time.Millisecond))})
	r.add(f)
	return nil
}

func opLink(op traffic.Op) int {
	if op.Edit != nil {
		return op.Edit.Link
	}
	return op.Message.Link
}

// messengerRow records a webhook-borne message for the baselines, with the ids the server
// derives for it (webhooks answer no ids).
func (r *run) messengerRow(m *traffic.Message) {
	l := r.links[m.Link]
	team := r.teams[l.Team].id
	thread := domain.ThreadID(team, domain.PlatformMessenger, l.id, m.ProspectID)
	prospect := domain.ProspectID(team, domain.PlatformMessenger, m.ProspectID)
	r.threads.set(m.Thread, threadRef{id: thread, prospect: prospect, team: l.Team, link: m.Link})
	r.addRow(m, domain.MessageID(team, domain.PlatformMessenger, l.id, m.PlatformMessageID), thread, prospect)
}

func (r *run) postWebhook(ctx context.Context, hc *http.Client, l link, body []byte) error {
	mac := hmac.New(sha256.New, []byte(l.appSecret))
	mac.Write(body)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, r.e.base()+l.webhook, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Hub-Signature-256", "sha256="+hex.EncodeToString(mac.Sum(nil)))
	res, err := hc.Do(req)
	if err != nil {
		return fmt.Errorf("webhook: %w", err)
	}
	defer res.Body.Close()
	msg, _ := io.ReadAll(io.LimitReader(res.Body, 512))
	if res.StatusCode != http.StatusOK {
		return fmt.Errorf("webhook %s answered %d: %s", l.webhook, res.StatusCode, bytes.TrimSpace(msg))
	}
	return nil
}
