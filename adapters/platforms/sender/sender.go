// Package sender is the sender role: it consumes the replies the team asked for from the log
// and sends them through each platform's Sender, recording every attempt and its outcome.
package sender

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"sync"
	"time"

	"github.com/cenkalti/backoff/v5"
	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/time/rate"

	"github.com/switchboard-oss/switchboard/adapters/platforms"
	"github.com/switchboard-oss/switchboard/commands"
	"github.com/switchboard-oss/switchboard/domain"
	"github.com/switchboard-oss/switchboard/eventlog"
	"github.com/switchboard-oss/switchboard/projections"
)

// Group is SendOnMessageSendRequested's name and consumer group. Frozen: renaming it makes the
// sender read the log from its beginning (harmless: every reply's state is in its aggregate,
// so replies already sent, failed or cancelled are skipped, but slow).
const Group = "sender.v1"

// Consumer is the part of the event log the sender reads.
type Consumer interface {
	ConsumeTypes(ctx context.Context, group string, types []string, h eventlog.Handler) error
}

// Reader is the part of the read model the sender reads: the link a reply goes out through.
type Reader interface {
	AccountLinkByID(ctx context.Context, id string) (projections.AccountLink, error)
}

// Saga records attempts and outcomes (commands.SendSagaHandler).
type Saga interface {
	Begin(ctx context.Context, teamID, prospectID, messageID string) (commands.SendAction, domain.OutgoingSend, error)
	Sent(ctx context.Context, teamID, prospectID, messageID, platformMessageID string, at time.Time) error
	Failed(ctx context.Context, teamID, prospectID, messageID, reason string, permanent bool, code string) error
}

// Health marks a link whose credentials the platform refused (commands.ReportAccountHealthHandler).
type Health interface {
	Handle(ctx context.Context, c commands.ReportAccountHealth) (commands.ReportAccountHealthResult, error)
}

// Deps are what the sender needs.
type Deps struct {
	Log         Consumer
	Reader      Reader
	Credentials platforms.Credentials
	Saga        Saga
	Health      Health
	Logger      *slog.Logger
	Registry    *prometheus.Registry // optional
}

// Options tune the sender; zero values take the defaults.
type Options struct {
	// Deadline bounds all the attempts of one reply (default 2m); then it fails, retryable.
	Deadline time.Duration
	// AttemptTimeout bounds one platform call (default 20s).
	AttemptTimeout time.Duration
	// InitialInterval and MaxInterval shape the exponential backoff (defaults 500ms, 30s).
	InitialInterval, MaxInterval time.Duration
	Now                          func() time.Time
}

func (o *Options) defaults() {
	if o.Deadline <= 0 {
		o.Deadline = 2 * time.Minute
	}
	if o.AttemptTimeout <= 0 {
		o.AttemptTimeout = 20 * time.Second
	}
	if o.InitialInterval <= 0 {
		o.InitialInterval = 500 * time.Millisecond
	}
	if o.MaxInterval <= 0 {
		o.MaxInterval = 30 * time.Second
	}
	if o.Now == nil {
		o.Now = time.Now
	}
}

// SendOnMessageSendRequested sends each reply the team asked for (message.send_requested, or
// message.send_retried for a new attempt). Per reply: message.send_attempted is made durable
// first, then the platform is called (retrying what may pass later, within a deadline), then
// message.sent or message.send_failed is appended. A reply found with an attempt but no
// outcome (the sender died during the call) is reconciled, never sent blindly again.
type SendOnMessageSendRequested struct {
	d       Deps
	o       Options
	senders map[string]platforms.Sender
	results *prometheus.CounterVec

	mu       sync.Mutex
	limiters map[string]*rate.Limiter // per account link
}

// New returns the sender for the given platforms' senders.
func New(d Deps, o Options, senders ...platforms.Sender) *SendOnMessageSendRequested {
	o.defaults()
	if d.Logger == nil {
		d.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	s := &SendOnMessageSendRequested{d: d, o: o, senders: map[string]platforms.Sender{}, limiters: map[string]*rate.Limiter{},
		results: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "switchboard_sends_total",
			Help: "Replies the sender finished, by platform and outcome (sent, or the failure reason)."}, []string{"platform", "outcome"})}
	if d.Registry != nil {
		d.Registry.MustRegister(s.results)
	}
	for _, x := range senders {
		s.senders[x.Platform().String()] = x
	}
	return s
}

// Types are the only events the sender reads (HandleRecords ignores the others): the log
// leaves every other type out before decoding it.
var Types = []string{domain.TypeMessageSendRequested, domain.TypeMessageSendRetried}

// Run consumes the log's send requests until ctx is done.
func (s *SendOnMessageSendRequested) Run(ctx context.Context) error {
	return s.d.Log.ConsumeTypes(ctx, Group, Types, s.HandleRecords)
}

type job struct {
	team, prospect, message string
	platform                domain.Platform
}

// HandleRecords sends a batch's replies: one goroutine per account link (each link keeps its
// order and its own rate limit, so a slow or failing link never holds up another link's
// sends), and returns once all are recorded, so a crash redelivers the batch and the
// aggregates say what is left to do.
func (s *SendOnMessageSendRequested) HandleRecords(ctx context.Context, records []eventlog.Record) error {
	byLink := map[string][]job{}
	var links []string
	for _, rec := range records {
		var j job
		var link string
		switch p := rec.Event.Payload.(type) {
		case domain.MessageSendRequested:
			j, link = job{rec.Event.TeamID, p.ProspectID, p.MessageID, p.Platform}, p.AccountLinkID
		case domain.MessageSendRetried:
			j, link = job{team: rec.Event.TeamID, prospect: p.ProspectID, message: p.MessageID}, ""
		default:
			continue
		}
		if link == "" {
			link = j.prospect // a retry does not name its link: its prospect's replies keep their order
		}
		key := rec.Event.TeamID + "\x00" + link
		if _, ok := byLink[key]; !ok {
			links = append(links, key)
		}
		byLink[key] = append(byLink[key], j)
	}
	var wg sync.WaitGroup
	errs := make([]error, len(links))
	for i, key := range links {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for _, j := range byLink[key] {
				if err := s.handle(ctx, j); err != nil {
					errs[i] = err
					return
				}
			}
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
}

// handle takes one reply through the saga. It returns an error only when its outcome could
// not be recorded (the log unavailable, or ctx done): the batch is then delivered again.
func (s *SendOnMessageSendRequested) handle(ctx context.Context, j job) error {
	action, out, err := s.d.Saga.Begin(ctx, j.team, j.prospect, j.message)
	if err != nil {
		return err
	}
	if action == commands.SendSkip {
		return nil
	}
	r := out.Request
	platform := r.Platform.String()
	log := s.d.Logger.With("platform", platform, "account_link_id", r.AccountLinkID, "message_id", r.MessageID)
	fail := func(se *platforms.SendError) error {
		s.results.WithLabelValues(platform, se.Reason).Inc()
		log.Warn("sender: reply failed", "reason", se.Reason, "temporary", se.Temporary, "code", se.Code, "detail", se.Detail)
		if se.LinkFault && s.d.Health != nil {
			if _, err := s.d.Health.Handle(ctx, commands.ReportAccountHealth{TeamID: j.team, AccountLinkID: r.AccountLinkID,
				Reason: "the platform refused a reply: " + se.Reason}); err != nil {
				log.Warn("sender: link health not recorded", "err", err)
			}
		}
		return s.d.Saga.Failed(ctx, j.team, j.prospect, r.MessageID, se.Reason, !se.Temporary, se.Code)
	}
	sender, ok := s.senders[platform]
	link, lerr := s.d.Reader.AccountLinkByID(ctx, r.AccountLinkID)
	if !ok || lerr != nil || link.TeamID != j.team || link.Unlinked {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return fail(&platforms.SendError{Reason: platforms.ReasonLinkUnavailable, Temporary: true})
	}
	creds, err := s.d.Credentials.Get(ctx, link.TeamID, link.ID)
	if err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return fail(&platforms.SendError{Reason: platforms.ReasonLinkUnavailable, Temporary: true, Detail: "credentials unavailable"})
	}
	pl := platforms.Link{ID: link.ID, TeamID: link.TeamID, PlatformID: link.PlatformID}
	m := platforms.Outbound{MessageID: r.MessageID, ThreadID: r.ThreadID, Recipient: r.RecipientPlatformID,
		Conversation: r.PlatformConversationID, Text: r.Text, Attachments: r.Attachments, ReplyTo: r.ReplyToPlatformMessageID,
		MessageTag: r.MessageTag, Template: r.Template}

	if action == commands.SendReconcile {
		if rec, ok := sender.(platforms.Reconciler); ok {
			cctx, cancel := context.WithTimeout(ctx, s.o.AttemptTimeout)
			sent, found, err := rec.Find(cctx, pl, creds, m)
			cancel()
			if err == nil && found {
				log.Info("sender: reconciled a reply whose outcome was unknown: the platform has it")
				return s.sent(ctx, j, platform, sent)
			}
		}
		log.Warn("sender: a reply's attempt has no recorded outcome and the platform cannot be asked: a person decides (RetrySend)")
		return fail(&platforms.SendError{Reason: platforms.ReasonUnknownOutcome, Temporary: true})
	}

	sent, err := s.attempt(ctx, sender, pl, creds, m, log)
	if err != nil {
		if ctx.Err() != nil {
			// Stopping mid-attempt: the outcome is unknown; the next start reconciles it.
			return ctx.Err()
		}
		return fail(platforms.AsSendError(err))
	}
	return s.sent(ctx, j, platform, sent)
}

func (s *SendOnMessageSendRequested) sent(ctx context.Context, j job, platform string, sent platforms.Sent) error {
	at := sent.At
	if at.IsZero() {
		at = s.o.Now()
	}
	s.results.WithLabelValues(platform, "sent").Inc()
	return s.d.Saga.Sent(ctx, j.team, j.prospect, j.message, sent.PlatformMessageID, at)
}

// attempt calls the platform, retrying temporary failures with exponential backoff (or the
// platform's own wait) within the deadline; a permanent failure ends it at once.
func (s *SendOnMessageSendRequested) attempt(ctx context.Context, sender platforms.Sender, link platforms.Link,
	creds map[string]string, m platforms.Outbound, log *slog.Logger) (platforms.Sent, error) {
	lim := s.limiter(link.ID, sender)
	var last *platforms.SendError
	b := backoff.NewExponentialBackOff()
	b.InitialInterval, b.MaxInterval = s.o.InitialInterval, s.o.MaxInterval
	sent, err := backoff.Retry(ctx, func() (platforms.Sent, error) {
		if err := lim.Wait(ctx); err != nil {
			return platforms.Sent{}, backoff.Permanent(err)
		}
		actx, cancel := context.WithTimeout(ctx, s.o.AttemptTimeout)
		defer cancel()
		sent, err := sender.Send(actx, link, creds, m)
		if err == nil {
			return sent, nil
		}
		last = platforms.AsSendError(err)
		if !last.Temporary {
			return platforms.Sent{}, backoff.Permanent(last)
		}
		log.Info("sender: temporary failure; retrying", "reason", last.Reason, "code", last.Code, "retry_after", last.RetryAfter)
		if last.RetryAfter > 0 {
			return platforms.Sent{}, &backoff.RetryAfterError{Duration: last.RetryAfter}
		}
		return platforms.Sent{}, last
	}, backoff.WithBackOff(b), backoff.WithMaxElapsedTime(s.o.Deadline))
	if err != nil && last != nil && ctx.Err() == nil {
		return sent, last
	}
	return sent, err
}

func (s *SendOnMessageSendRequested) limiter(linkID string, sender platforms.Sender) *rate.Limiter {
	s.mu.Lock()
	defer s.mu.Unlock()
	l, ok := s.limiters[linkID]
	if !ok {
		limit, burst := sender.Limit()
		l = rate.NewLimiter(limit, max(burst, 1))
		s.limiters[linkID] = l
	}
	return l
}
