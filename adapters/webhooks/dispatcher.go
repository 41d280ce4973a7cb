package webhooks

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cenkalti/backoff/v5"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/switchboard-oss/switchboard/eventlog"
)

// Options tune delivery; zero values take the defaults.
type Options struct {
	// RetryFor is how long an event is retried before it is dead-lettered; a subscription with
	// no success during a whole window is disabled (default 72h).
	RetryFor time.Duration
	// Holder names this process in the leases (required with several processes).
	Holder string
	// LeaseTTL is how long a lease outlives its holder (default 15s): a subscription of a
	// process that died is taken over after at most that long.
	LeaseTTL time.Duration
	// Parallel is how many event keys of one subscription are delivered at once (default 8).
	Parallel int
	// Batch is how many events one read takes (default 100).
	Batch int
	// Poll is the wait between two reads of a caught-up subscription (default 250ms).
	Poll time.Duration
	// Timeout bounds one POST (default 10s).
	Timeout time.Duration
	// InitialInterval and MaxInterval bound the backoff between attempts (defaults 1s and 1h,
	// the latter never above RetryFor/8).
	InitialInterval, MaxInterval time.Duration
}

func (o Options) withDefaults() Options {
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	def(&o.RetryFor, 72*time.Hour)
	def(&o.LeaseTTL, 15*time.Second)
	def(&o.Poll, 250*time.Millisecond)
	def(&o.Timeout, 10*time.Second)
	def(&o.InitialInterval, time.Second)
	def(&o.MaxInterval, time.Hour)
	o.MaxInterval = min(o.MaxInterval, max(o.RetryFor/8, o.InitialInterval))
	o.InitialInterval = min(o.InitialInterval, o.MaxInterval)
	if o.Parallel <= 0 {
		o.Parallel = 8
	}
	if o.Batch <= 0 {
		o.Batch = 100
	}
	if o.Holder == "" {
		o.Holder = "local"
	}
	return o
}

// Render turns a record into the JSON body POSTed for it: EventService's Event, whose position
// is the team's token of after (the cursor just past the record).
type Render func(teamID string, r eventlog.Record, after eventlog.Cursor) ([]byte, error)

// Deps are what the dispatcher needs.
type Deps struct {
	Log      eventlog.Log
	Manager  *Manager
	Render   Render
	Logger   *slog.Logger
	Registry prometheus.Registerer
}

// Dispatcher delivers every active subscription whose lease this process holds.
type Dispatcher struct {
	d      Deps
	o      Options
	client *http.Client

	deliveries *prometheus.CounterVec
	latency    prometheus.Histogram
	disabled   prometheus.Counter
	dead       prometheus.Counter
}

// NewDispatcher returns a dispatcher; Run starts it.
func NewDispatcher(d Deps, o Options) *Dispatcher {
	o = o.withDefaults()
	if d.Logger == nil {
		d.Logger = slog.New(slog.DiscardHandler)
	}
	dialer := &net.Dialer{Timeout: o.Timeout, Control: d.Manager.Guard.control}
	tr := &http.Transport{Proxy: nil, DialContext: dialer.DialContext, MaxIdleConnsPerHost: o.Parallel,
		IdleConnTimeout: 90 * time.Second, TLSHandshakeTimeout: o.Timeout, ForceAttemptHTTP2: true}
	x := &Dispatcher{d: d, o: o, client: &http.Client{Transport: tr, Timeout: o.Timeout,
		// A redirect is an answer, not an instruction: the receiver's URL is the subscription's.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }},
		deliveries: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "switchboard_webhook_deliveries_total",
			Help: "Outbound webhook delivery attempts, by outcome (ok, failed, dead)."}, []string{"status"}),
		latency: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "switchboard_webhook_delivery_seconds",
			Help: "How long receivers took to answer a delivery.", Buckets: prometheus.DefBuckets}),
		disabled: prometheus.NewCounter(prometheus.CounterOpts{Name: "switchboard_webhook_subscriptions_disabled_total",
			Help: "Subscriptions disabled after failing for their whole retry window."}),
		dead: prometheus.NewCounter(prometheus.CounterOpts{Name: "switchboard_webhook_dead_letters_total",
			Help: "Events given up after the retry window (dead letters)."}),
	}
	if d.Registry != nil {
		d.Registry.MustRegister(x.deliveries, x.latency, x.disabled, x.dead)
	}
	return x
}

// Run delivers until ctx ends: it claims the lease of every active subscription it can and
// runs one worker per subscription held, checking for new and changed subscriptions every
// second.
func (x *Dispatcher) Run(ctx context.Context) error {
	var wg sync.WaitGroup
	defer wg.Wait()
	var mu sync.Mutex
	running := map[string]context.CancelFunc{}
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for {
		subs, err := x.d.Manager.Store.AllSubscriptions(ctx)
		if err != nil && ctx.Err() == nil {
			x.d.Logger.Warn("webhooks: listing subscriptions failed", "err", err)
		}
		share := x.share(ctx, subs)
		mu.Lock()
		held := len(running)
		// Over its share (another process joined): hand the surplus back; the others claim it.
		for id, stop := range running {
			if held <= share {
				break
			}
			stop()
			delete(running, id)
			held--
		}
		mu.Unlock()
		for _, s := range subs {
			mu.Lock()
			_, busy := running[s.ID]
			held := len(running)
			mu.Unlock()
			if busy || !s.Active() || held >= share {
				continue
			}
			now := time.Now()
			ok, err := x.d.Manager.Store.ClaimLease(ctx, s.ID, x.o.Holder, now.Add(x.o.LeaseTTL), now)
			if err != nil || !ok {
				continue
			}
			wctx, cancel := context.WithCancel(ctx)
			mu.Lock()
			running[s.ID] = cancel
			mu.Unlock()
			wg.Add(1)
			go func(s Subscription) {
				defer wg.Done()
				defer func() {
					mu.Lock()
					if running[s.ID] != nil && wctx.Err() == nil {
						delete(running, s.ID)
					}
					mu.Unlock()
					cancel()
					rctx, rcancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
					_ = x.d.Manager.Store.ReleaseLease(rctx, s.ID, x.o.Holder)
					rcancel()
				}()
				if err := x.work(wctx, s); err != nil && wctx.Err() == nil {
					x.d.Logger.Warn("webhooks: subscription worker stopped; it restarts", "subscription_id", s.ID, "err", err)
				}
			}(s)
		}
		select {
		case <-ctx.Done():
			mu.Lock()
			for _, c := range running {
				c()
			}
			mu.Unlock()
			return nil
		case <-tick.C:
		}
	}
}

// share is how many subscriptions this process takes: the active ones divided among the live
// processes of the role, each announcing itself with a lease of its own ("~node:<holder>").
// A process that dies stops announcing itself: after the lease TTL the others' share grows and
// they claim its subscriptions.
func (x *Dispatcher) share(ctx context.Context, subs []Subscription) int {
	now := time.Now()
	if _, err := x.d.Manager.Store.ClaimLease(ctx, "~node:"+x.o.Holder, x.o.Holder, now.Add(x.o.LeaseTTL), now); err != nil {
		return len(subs)
	}
	leases, err := x.d.Manager.Store.Leases(ctx, now)
	if err != nil {
		return len(subs)
	}
	nodes := 0
	for id := range leases {
		if strings.HasPrefix(id, "~node:") {
			nodes++
		}
	}
	active := 0
	for _, s := range subs {
		if s.Active() {
			active++
		}
	}
	return (active + max(nodes, 1) - 1) / max(nodes, 1)
}

// errStop ends a worker: its subscription is no longer active, or the lease was lost.
var errStop = errors.New("stop")

// work delivers one subscription while this process holds its lease and it stays active.
func (x *Dispatcher) work(ctx context.Context, s Subscription) error {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	// Renew the lease; losing it (a pause of this process past the TTL) stops the worker.
	go func() {
		t := time.NewTicker(x.o.LeaseTTL / 3)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				now := time.Now()
				ok, err := x.d.Manager.Store.ClaimLease(ctx, s.ID, x.o.Holder, now.Add(x.o.LeaseTTL), now)
				if err == nil && !ok {
					cancel(fmt.Errorf("lease of webhook subscription %s lost", s.ID))
					return
				}
			}
		}
	}()
	w := &worker{x: x, id: s.ID, team: s.TeamID, lastSuccess: atomic.Int64{}}
	w.lastSuccess.Store(s.LastSuccessAt.UnixNano())
	if s.LastSuccessAt.IsZero() {
		w.lastSuccess.Store(time.Now().UnixNano()) // a new subscription's window starts now
	}
	for ctx.Err() == nil {
		more, err := w.batch(ctx)
		if errors.Is(err, errStop) {
			return nil
		}
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			x.d.Logger.Warn("webhooks: delivery paused", "subscription_id", s.ID, "err", err)
			more = false
		}
		if !more {
			select {
			case <-ctx.Done():
			case <-time.After(x.o.Poll):
			}
		}
	}
	return nil
}

type worker struct {
	x           *Dispatcher
	id, team    string
	lastSuccess atomic.Int64 // unix nanoseconds of the last success
}

// outcome of one event's delivery.
type outcome int

const (
	delivered outcome = iota
	dead
	aborted
)

// batch reads the events after the checkpoint and delivers them, in order per key and keys in
// parallel, then moves the checkpoint past them. It reports whether more may be waiting.
func (w *worker) batch(ctx context.Context) (bool, error) {
	m := w.x.d.Manager
	sub, err := m.Store.Subscription(ctx, w.team, w.id)
	if errors.Is(err, ErrNotFound) {
		return false, errStop
	}
	if err != nil {
		return false, err
	}
	if !sub.Active() {
		return false, errStop
	}
	cp, err := m.Store.Checkpoint(ctx, w.id)
	if err != nil {
		return false, err
	}
	cursor, err := eventlog.ParseCursor(cp.Cursor)
	if err != nil {
		return false, fmt.Errorf("checkpoint of webhook subscription %s: %w", w.id, err)
	}
	head, err := w.x.d.Log.Head(ctx)
	if err != nil {
		return false, err
	}
	recs, err := w.x.d.Log.Read(ctx, eventlog.Query{After: cursor, TeamID: sub.TeamID, Types: sub.EventTypes, Limit: w.x.o.Batch})
	if err != nil {
		return false, err
	}
	// Each record's cursor just before and just after it.
	befores := make([]eventlog.Cursor, len(recs))
	afters := make([]eventlog.Cursor, len(recs))
	c := clone(cursor)
	for i, r := range recs {
		befores[i] = clone(c)
		c.Advance(r.Position)
		afters[i] = clone(c)
	}
	full := len(recs) >= w.x.o.Batch
	if !full {
		// The read went up to (at least) the head read before it: nothing up to it is left.
		for p, off := range head {
			c.Advance(eventlog.Position{Partition: p, Offset: off})
		}
	}
	if len(recs) > 0 {
		if err := w.deliverAll(ctx, sub, cp, recs, befores, afters); err != nil {
			return false, err
		}
	}
	if c.String() == cursor.String() {
		return full, nil
	}
	if _, err := m.Store.MoveCheckpoint(ctx, w.id, cp.Gen, c.String(), cp.Since); err != nil {
		return false, err
	}
	return full || len(recs) > 0, nil
}

func clone(c eventlog.Cursor) eventlog.Cursor {
	out := eventlog.Cursor{}
	for k, v := range c {
		out[k] = v
	}
	return out
}

// deliverAll delivers a batch: each key's events one after another, keys in parallel. It
// returns an error when a delivery was cut short (the checkpoint must not move past it).
func (w *worker) deliverAll(ctx context.Context, sub Subscription, cp Checkpoint, recs []eventlog.Record, befores, afters []eventlog.Cursor) error {
	byKey := map[string][]int{}
	var keys []string
	for i, r := range recs {
		if !cp.Since.IsZero() && r.Event.RecordedAt.Before(cp.Since) {
			continue // RedeliverFrom a time: events recorded before it are not sent again
		}
		if _, ok := byKey[r.Event.Key]; !ok {
			keys = append(keys, r.Event.Key)
		}
		byKey[r.Event.Key] = append(byKey[r.Event.Key], i)
	}
	bctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	sem := make(chan struct{}, w.x.o.Parallel)
	var wg sync.WaitGroup
	var cut atomic.Bool
	for _, k := range keys {
		wg.Add(1)
		sem <- struct{}{}
		go func(idx []int) {
			defer wg.Done()
			defer func() { <-sem }()
			for _, i := range idx {
				if bctx.Err() != nil {
					if context.Cause(bctx) == errDisabled {
						w.deadLetter(ctx, recs[i], befores[i], "the subscription was disabled")
						continue
					}
					cut.Store(true)
					return
				}
				switch w.deliver(bctx, sub, recs[i], befores[i], afters[i], cancel) {
				case aborted:
					if context.Cause(bctx) == errDisabled {
						w.deadLetter(ctx, recs[i], befores[i], "the subscription was disabled")
						continue
					}
					cut.Store(true)
					return
				case delivered, dead:
				}
			}
		}(byKey[k])
	}
	wg.Wait()
	if cut.Load() {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if context.Cause(bctx) == errInactive {
			return errStop // the checkpoint stays: a resume delivers the rest
		}
		return errors.New("delivery interrupted")
	}
	return nil
}

var (
	errDisabled = errors.New("subscription disabled")
	errInactive = errors.New("subscription paused or deleted")
)

func (w *worker) deadLetter(ctx context.Context, r eventlog.Record, before eventlog.Cursor, why string) {
	w.record(ctx, Delivery{SubscriptionID: w.id, EventID: r.Event.ID, EventType: r.Event.Type(), Key: r.Event.Key,
		Before: before.String(), At: time.Now().UTC(), Error: why, Status: StatusDead})
}

func (w *worker) record(ctx context.Context, d Delivery) {
	w.x.deliveries.WithLabelValues(d.Status).Inc()
	if d.Status == StatusDead {
		w.x.dead.Inc()
	}
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	if err := w.x.d.Manager.Store.RecordDelivery(rctx, d); err != nil {
		w.x.d.Logger.Warn("webhooks: recording a delivery failed", "subscription_id", w.id, "event_id", d.EventID, "err", err)
	}
}

// deliver POSTs one event until the receiver accepts it (delivered), the retry window is over
// (dead: dead-lettered, and the subscription disabled when nothing succeeded during the whole
// window), or ctx ends (aborted).
func (w *worker) deliver(ctx context.Context, sub Subscription, r eventlog.Record, before, after eventlog.Cursor, stopBatch context.CancelCauseFunc) outcome {
	body, err := w.x.d.Render(sub.TeamID, r, after)
	if err != nil {
		w.x.d.Logger.Error("webhooks: rendering an event failed; dead-lettered", "subscription_id", w.id, "event_id", r.Event.ID, "err", err)
		w.deadLetter(ctx, r, before, "could not render the event")
		return dead
	}
	secret := w.x.d.Manager.Secrets.For(sub.ID)
	bo := backoff.NewExponentialBackOff()
	bo.InitialInterval, bo.MaxInterval = w.x.o.InitialInterval, w.x.o.MaxInterval
	bo.Reset()
	start := time.Now()
	for attempt := 1; ; attempt++ {
		status, latency, retryAfter, err := w.post(ctx, sub.URL, secret, r, body, attempt)
		if ctx.Err() != nil {
			return aborted
		}
		now := time.Now()
		d := Delivery{SubscriptionID: w.id, EventID: r.Event.ID, EventType: r.Event.Type(), Key: r.Event.Key,
			Before: before.String(), Attempt: attempt, At: now.UTC(), HTTPStatus: status, Latency: latency}
		w.x.latency.Observe(latency.Seconds())
		if err == nil {
			d.Status = StatusOK
			w.lastSuccess.Store(now.UnixNano())
			w.record(ctx, d)
			return delivered
		}
		d.Error = errString(err)
		wait := max(bo.NextBackOff(), retryAfter)
		if now.Add(wait).Sub(start) > w.x.o.RetryFor {
			d.Status = StatusDead
			w.record(ctx, d)
			w.x.d.Logger.Warn("webhooks: an event failed for the whole retry window; dead-lettered",
				"subscription_id", w.id, "event_id", r.Event.ID, "retry_for", w.x.o.RetryFor, "err", d.Error)
			if time.Unix(0, w.lastSuccess.Load()).Before(start) {
				reason := fmt.Sprintf("every delivery failed for %s; last error: %s", w.x.o.RetryFor, d.Error)
				dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
				err := w.x.d.Manager.Disable(dctx, sub.TeamID, sub.ID, reason)
				cancel()
				if err != nil {
					w.x.d.Logger.Error("webhooks: disabling a failing subscription failed", "subscription_id", w.id, "err", err)
				} else {
					w.x.disabled.Inc()
					w.x.d.Logger.Error("webhooks: subscription disabled: it failed for the whole retry window",
						"subscription_id", w.id, "team_id", sub.TeamID, "retry_for", w.x.o.RetryFor, "last_error", d.Error)
				}
				stopBatch(errDisabled)
			}
			return dead
		}
		d.Status = StatusFailed
		w.record(ctx, d)
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return aborted
		case <-t.C:
		}
		// The team may have paused, deleted or re-pointed the subscription meanwhile.
		cur, err := w.x.d.Manager.Store.Subscription(ctx, sub.TeamID, sub.ID)
		if errors.Is(err, ErrNotFound) || (err == nil && !cur.Active()) {
			stopBatch(errInactive)
			return aborted
		}
		if err == nil {
			sub.URL = cur.URL
		}
	}
}

// post makes one attempt: nil error for a 2xx answer.
func (w *worker) post(ctx context.Context, url, secret string, r eventlog.Record, body []byte, attempt int) (int, time.Duration, time.Duration, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return 0, 0, 0, fmt.Errorf("bad request: %w", err)
	}
	now := time.Now()
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "Switchboard-Webhooks/1")
	req.Header.Set("Switchboard-Signature", Signature(secret, now, body))
	req.Header.Set("Idempotency-Key", r.Event.ID)
	req.Header.Set("Switchboard-Event-Id", r.Event.ID)
	req.Header.Set("Switchboard-Event-Type", r.Event.Type())
	req.Header.Set("Switchboard-Subscription-Id", w.id)
	req.Header.Set("Switchboard-Delivery-Attempt", strconv.Itoa(attempt))
	res, err := w.x.client.Do(req)
	latency := time.Since(now)
	if err != nil {
		return 0, latency, 0, fmt.Errorf("no answer: %w", err)
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(res.Body, 64<<10))
	_ = res.Body.Close()
	if res.StatusCode >= 200 && res.StatusCode < 300 {
		return res.StatusCode, latency, 0, nil
	}
	return res.StatusCode, latency, retryAfter(res.Header.Get("Retry-After"), now), fmt.Errorf("HTTP %d", res.StatusCode)
}

// retryAfter reads Retry-After (seconds or an HTTP date); 0 when absent or unreadable.
func retryAfter(v string, now time.Time) time.Duration {
	if v == "" {
		return 0
	}
	if s, err := strconv.Atoi(v); err == nil && s > 0 {
		return time.Duration(s) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil && t.After(now) {
		return t.Sub(now)
	}
	return 0
}
