// Package platforms receives the platforms' traffic: one HTTP endpoint for every webhook,
// dispatching to the platform's own adapter (adapters/platforms/<name>) for its handshake,
// signature and parsing. Adding a platform touches its folder and one line of wiring.
package platforms

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"strings"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/switchboard-oss/switchboard/commands"
	"github.com/switchboard-oss/switchboard/domain"
	"github.com/switchboard-oss/switchboard/projections"
)

// Link is what an adapter knows of the account link a payload arrived for.
type Link struct {
	ID, TeamID, PlatformID string
}

// ErrSignature is what Verify returns for a missing or wrong signature (the caller answers 401).
var ErrSignature = errors.New("missing or invalid signature")

// Webhook is one platform's webhook dialect.
type Webhook interface {
	// Platform is the platform the adapter speaks for.
	Platform() domain.Platform
	// Handshake answers a GET: a subscription check (Meta hub.challenge, X CRC). It writes the
	// whole response; a platform without a handshake answers 405.
	Handshake(w http.ResponseWriter, r *http.Request, creds map[string]string)
	// Verify checks the request's signature over the raw body, in constant time, before anything
	// is parsed. It returns ErrSignature (possibly wrapped) when the request is not authentic.
	Verify(r *http.Request, body []byte, creds map[string]string) error
	// Parse turns an authentic body into platform items. A kind it does not model becomes
	// domain.PlatformOther, never an error; an error means the body is not the platform's format.
	Parse(body []byte, link Link) ([]domain.PlatformItem, error)
}

// Links finds account links by id alone (a webhook carries no API key).
type Links interface {
	AccountLinkByID(ctx context.Context, id string) (projections.AccountLink, error)
}

// Credentials opens an account link's credentials.
type Credentials interface {
	Get(ctx context.Context, teamID, accountLinkID string) (map[string]string, error)
}

// Receiver records what a payload said.
type Receiver interface {
	Handle(ctx context.Context, c commands.ReceivePlatform) (commands.ReceiveResult, error)
}

// HandlerDeps are what the webhook endpoint needs.
type HandlerDeps struct {
	Links       Links
	Credentials Credentials
	Receiver    Receiver
	Logger      *slog.Logger
	Registry    *prometheus.Registry
	// MaxBody bounds a request body (default 1 MiB); a larger one gets 413.
	MaxBody int64
}

// DefaultMaxBody is the body limit when HandlerDeps.MaxBody is 0. Meta batches up to 1000
// updates in one POST, which stays well below it.
const DefaultMaxBody = 1 << 20

type handler struct {
	d        HandlerDeps
	hooks    map[string]Webhook
	received *prometheus.CounterVec
	other    *prometheus.CounterVec
}

// NewHandler serves GET and POST /webhooks/{platform}/{account_link_id} for the given adapters.
func NewHandler(d HandlerDeps, hooks ...Webhook) http.Handler {
	if d.MaxBody == 0 {
		d.MaxBody = DefaultMaxBody
	}
	h := &handler{d: d, hooks: map[string]Webhook{},
		received: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "switchboard_webhook_requests_total",
			Help: "Webhook requests, by platform and HTTP status."}, []string{"platform", "status"}),
		other: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "switchboard_platform_unhandled_total",
			Help: "Platform payloads of a kind Switchboard does not model, recorded raw, by platform and kind."}, []string{"platform", "kind"}),
	}
	if d.Registry != nil {
		d.Registry.MustRegister(h.received, h.other)
	}
	for _, w := range hooks {
		h.hooks[w.Platform().String()] = w
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /webhooks/{platform}/{link}", h.serve)
	mux.HandleFunc("POST /webhooks/{platform}/{link}", h.serve)
	return mux
}

func (h *handler) reply(w http.ResponseWriter, platform string, status int, msg string) {
	h.received.WithLabelValues(platform, http.StatusText(status)).Inc()
	http.Error(w, msg, status)
}

func (h *handler) serve(w http.ResponseWriter, r *http.Request) {
	name, linkID := r.PathValue("platform"), r.PathValue("link")
	hook, ok := h.hooks[name]
	if !ok {
		h.reply(w, "unknown", http.StatusNotFound, "unknown platform")
		return
	}
	ctx := r.Context()
	link, err := h.d.Links.AccountLinkByID(ctx, linkID)
	switch {
	case errors.Is(err, projections.ErrNotFound) || (err == nil && (link.Platform != name || link.Unlinked)):
		h.reply(w, name, http.StatusNotFound, "unknown account link")
		return
	case err != nil:
		h.d.Logger.Warn("webhook: read model unavailable", "platform", name, "err", err)
		h.reply(w, name, http.StatusServiceUnavailable, "temporarily unavailable")
		return
	}
	creds, err := h.d.Credentials.Get(ctx, link.TeamID, link.ID)
	if err != nil {
		h.d.Logger.Warn("webhook: credentials unavailable", "platform", name, "account_link_id", link.ID)
		h.reply(w, name, http.StatusServiceUnavailable, "temporarily unavailable")
		return
	}
	if r.Method == http.MethodGet {
		h.received.WithLabelValues(name, "handshake").Inc()
		hook.Handshake(w, r, creds)
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, h.d.MaxBody))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			h.reply(w, name, http.StatusRequestEntityTooLarge, "body too large")
			return
		}
		h.reply(w, name, http.StatusBadRequest, "unreadable body")
		return
	}
	// Authenticity first: nothing of an unsigned body is parsed or recorded.
	if err := hook.Verify(r, body, creds); err != nil {
		h.reply(w, name, http.StatusUnauthorized, "invalid signature")
		return
	}
	items, err := hook.Parse(body, Link{ID: link.ID, TeamID: link.TeamID, PlatformID: link.PlatformID})
	if err != nil {
		h.d.Logger.Warn("webhook: body not in the platform's format", "platform", name, "account_link_id", link.ID, "err", err)
		h.reply(w, name, http.StatusBadRequest, "malformed payload")
		return
	}
	res, err := h.d.Receiver.Handle(ctx, commands.ReceivePlatform{Link: link, Origin: domain.OriginWebhook, Items: items,
		RawContentType: contentType(r)})
	if err != nil {
		// Not acknowledged: the platform retries, and the retry is deduplicated.
		h.d.Logger.Warn("webhook: events not recorded", "platform", name, "account_link_id", link.ID, "err", err)
		h.reply(w, name, http.StatusServiceUnavailable, "temporarily unavailable")
		return
	}
	for kind, n := range res.Unhandled {
		h.other.WithLabelValues(name, kind).Add(float64(n))
	}
	h.received.WithLabelValues(name, http.StatusText(http.StatusOK)).Inc()
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write([]byte("EVENT_RECEIVED"))
}

func contentType(r *http.Request) string {
	ct := r.Header.Get("Content-Type")
	if i := strings.IndexByte(ct, ';'); i >= 0 {
		ct = ct[:i]
	}
	if ct == "" {
		return "application/json"
	}
	return strings.TrimSpace(ct)
}
