package scheduler

import (
	"context"
	"crypto/sha256"
	"errors"
	"net/url"
	"strings"
	"time"

	"github.com/cenkalti/backoff/v5"
	"golang.org/x/time/rate"

	"github.com/switchboard-oss/switchboard/adapters/platforms"
	"github.com/switchboard-oss/switchboard/commands"
	"github.com/switchboard-oss/switchboard/domain"
	"github.com/switchboard-oss/switchboard/projections"
)

// storeTimeout bounds storing a cursor once its items are recorded; it runs even while the
// process stops, so a graceful stop does not repeat the last poll.
const storeTimeout = 5 * time.Second

// worker polls one account link.
type worker struct {
	s      *Scheduler
	link   projections.AccountLink
	poller platforms.Poller
	shared *rate.Limiter // the platform's, or nil

	cursor  string
	loaded  bool
	backoff *backoff.ExponentialBackOff
	fails   int
}

// run polls until ctx ends or the platform refuses the credentials; then it reports the link
// unhealthy and returns refused with a digest of the refused credentials.
func (w *worker) run(ctx context.Context) (refused bool, creds [sha256.Size]byte) {
	d := w.s.d
	r, burst := w.poller.Limit()
	limiter := rate.NewLimiter(r, max(burst, 1))
	w.backoff = &backoff.ExponentialBackOff{InitialInterval: d.MinBackoff, RandomizationFactor: 0.2,
		Multiplier: 2, MaxInterval: d.MaxBackoff}
	w.backoff.Reset()
	log := d.Logger.With("platform", w.link.Platform, "account_link_id", w.link.ID)
	platform := w.link.Platform

	for ctx.Err() == nil {
		if !w.loaded {
			c, err := d.Cursors.Get(ctx, w.link.ID)
			if err != nil {
				log.Warn("poll: cursor unavailable", "err", safeErr(err))
				w.fail(ctx)
				continue
			}
			w.cursor, w.loaded = c, true
		}
		if limiter.Wait(ctx) != nil || (w.shared != nil && w.shared.Wait(ctx) != nil) {
			return false, creds
		}
		cr, err := d.Credentials.Get(ctx, w.link.TeamID, w.link.ID)
		if err != nil {
			if ctx.Err() == nil {
				log.Warn("poll: credentials unavailable", "err", safeErr(err))
				w.fail(ctx)
			}
			continue
		}
		pctx, cancel := context.WithTimeout(ctx, d.PollTimeout)
		res, err := w.poller.Poll(pctx, platforms.Link{ID: w.link.ID, TeamID: w.link.TeamID, PlatformID: w.link.PlatformID}, cr, w.cursor)
		timedOut := errors.Is(pctx.Err(), context.DeadlineExceeded)
		cancel()
		if ctx.Err() != nil {
			return false, creds
		}
		if auth, ok := platforms.IsAuth(err); ok {
			w.s.m.polls.WithLabelValues(platform, "auth_refused").Inc()
			log.Warn("poll: the platform refused the credentials; stopping until relinked", "reason", auth.Reason)
			return w.reportRefused(ctx, auth.Reason), digest(cr)
		}
		if ra, ok := platforms.IsRetryAfter(err); ok {
			w.s.m.polls.WithLabelValues(platform, "rate_limited").Inc()
			wait := min(max(ra.After, d.MinBackoff), d.MaxRetryAfter)
			log.Info("poll: rate limited by the platform", "retry_in", wait)
			sleep(ctx, wait)
			continue
		}
		if err != nil {
			outcome := "error"
			if timedOut {
				outcome = "timeout"
			}
			w.s.m.polls.WithLabelValues(platform, outcome).Inc()
			w.fails++
			log.Warn("poll failed; backing off", "outcome", outcome, "attempt", w.fails, "err", safeErr(err))
			w.fail(ctx)
			continue
		}
		if !w.record(ctx, res) {
			continue
		}
		w.s.m.polls.WithLabelValues(platform, "ok").Inc()
		w.fails = 0
		w.backoff.Reset()
		if !res.More {
			sleep(ctx, d.Interval)
		}
	}
	return false, creds
}

// record appends the poll's items, then stores its cursor. It reports false (after backing
// off) when the items could not be recorded: the cursor stays, the poll is repeated.
func (w *worker) record(ctx context.Context, res platforms.PollResult) bool {
	d, platform := w.s.d, w.link.Platform
	if len(res.Items) > 0 {
		rr, err := d.Receiver.Handle(ctx, commands.ReceivePlatform{Link: w.link, Origin: domain.OriginPoll,
			Items: res.Items, RawContentType: "application/json"})
		if err != nil {
			if ctx.Err() == nil {
				w.s.m.polls.WithLabelValues(platform, "record_failed").Inc()
				d.Logger.Warn("poll: items not recorded; the poll will be repeated", "platform", platform,
					"account_link_id", w.link.ID, "err", safeErr(err))
				w.fail(ctx)
			}
			return false
		}
		w.s.m.items.WithLabelValues(platform, "appended").Add(float64(rr.Appended))
		w.s.m.items.WithLabelValues(platform, "duplicate").Add(float64(rr.Duplicates))
	}
	if res.Cursor != w.cursor {
		// The items are durable: store the cursor even if the process is stopping.
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), storeTimeout)
		err := d.Cursors.Put(sctx, w.link.ID, res.Cursor)
		cancel()
		if err != nil {
			// Polling goes on from memory; a restart repeats polls since the stored cursor, and
			// their events are deduplicated.
			d.Logger.Warn("poll: cursor not stored", "platform", platform, "account_link_id", w.link.ID, "err", safeErr(err))
		}
		w.cursor = res.Cursor
	}
	return true
}

// reportRefused records the link unhealthy, retrying until it is recorded or ctx ends.
func (w *worker) reportRefused(ctx context.Context, reason string) bool {
	for ctx.Err() == nil {
		_, err := w.s.d.Health.Handle(ctx, commands.ReportAccountHealth{TeamID: w.link.TeamID, AccountLinkID: w.link.ID,
			Healthy: false, Reason: reason, Origin: domain.OriginPoll})
		if k := domain.KindOf(err); err == nil || (k != domain.KindUnavailable && k != domain.KindInternal) {
			return true // recorded, or nothing to record (the link is gone): stop either way
		}
		w.s.d.Logger.Warn("poll: account health not recorded; retrying", "platform", w.link.Platform,
			"account_link_id", w.link.ID, "err", safeErr(err))
		w.fail(ctx)
	}
	return false
}

// fail waits the next exponential backoff.
func (w *worker) fail(ctx context.Context) {
	sleep(ctx, w.backoff.NextBackOff())
}

func sleep(ctx context.Context, d time.Duration) {
	if d <= 0 {
		return
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}

// safeErr is an error's text fit for a log line: a request URL (which may carry a token in its
// path, as the Telegram Bot API's does) is dropped, and token-like words are redacted.
func safeErr(err error) string {
	msg := err.Error()
	var ue *url.Error
	if errors.As(err, &ue) && ue.URL != "" {
		msg = strings.ReplaceAll(msg, ue.URL, "<url>")
	}
	return commands.SafeHealthReason(msg)
}
