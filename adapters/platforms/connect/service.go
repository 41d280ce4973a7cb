package connect

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"golang.org/x/oauth2"

	"github.com/switchboard-oss/switchboard/adapters/platforms"
	"github.com/switchboard-oss/switchboard/commands"
	"github.com/switchboard-oss/switchboard/domain"
	"github.com/switchboard-oss/switchboard/projections"
)

// StateTTL is how long a state (and then a finished grant awaiting the member's pick) lives.
const StateTTL = 10 * time.Minute

// States keeps the flows' one-time states, sealed, shared by every process.
type States interface {
	PutConnectState(ctx context.Context, id string, data []byte, expires time.Time) error
	// TakeConnectState removes and returns an unexpired state: one caller gets it.
	TakeConnectState(ctx context.Context, id string, now time.Time) ([]byte, bool, error)
	GetConnectState(ctx context.Context, id string, now time.Time) ([]byte, bool, error)
}

// Credentials reads and replaces links' credentials (sealed at rest).
type Credentials interface {
	Get(ctx context.Context, teamID, accountLinkID string) (map[string]string, error)
	Put(ctx context.Context, teamID, accountLinkID string, creds map[string]string) error
}

// Links reads account links.
type Links interface {
	AccountLink(ctx context.Context, teamID, id string) (projections.AccountLink, error)
}

// Deps are what the service needs.
type Deps struct {
	App         commands.App
	States      States
	Credentials Credentials
	Links       Links
	// PublicURL is where platforms reach this deployment: callbacks and webhooks.
	PublicURL string
	Logger    *slog.Logger
	Now       func() time.Time
}

// Service runs the connect flows and the webhook registration.
type Service struct {
	d          Deps
	oauth      map[string]OAuth          // by name
	byPlatform map[domain.Platform]OAuth // StartConnect's routing
	direct     map[domain.Platform]Direct
	registrars map[domain.Platform]Registrar
}

// NewService returns the service over the configured flows (unconfigured apps are left out by
// the caller), the direct platforms and the registrars.
func NewService(d Deps, flows []OAuth, direct []Direct, registrars []Registrar) *Service {
	if d.Now == nil {
		d.Now = time.Now
	}
	if d.Logger == nil {
		d.Logger = slog.New(slog.DiscardHandler)
	}
	d.PublicURL = strings.TrimRight(d.PublicURL, "/")
	s := &Service{d: d, oauth: map[string]OAuth{}, byPlatform: map[domain.Platform]OAuth{},
		direct: map[domain.Platform]Direct{}, registrars: map[domain.Platform]Registrar{}}
	for _, f := range flows {
		s.oauth[f.Name()] = f
		for _, p := range f.Platforms() {
			if _, taken := s.byPlatform[p]; !taken { // the first flow listed for a platform wins
				s.byPlatform[p] = f
			}
		}
	}
	for _, x := range direct {
		s.direct[x.Platform()] = x
	}
	for _, r := range registrars {
		s.registrars[r.Platform()] = r
	}
	return s
}

// state is what a state stands for, sealed in the store.
type state struct {
	TeamID, MemberID, Role string
	Flow                   string
	Platform               string // what StartConnect asked for
	ReturnURL              string
	Verifier               string        `json:",omitempty"`
	Assets                 []storedAsset `json:",omitempty"` // a finished grant awaiting the pick
}

func (st state) actor() commands.Actor {
	return commands.Actor{TeamID: st.TeamID, MemberID: st.MemberID, Role: st.Role}
}

// stateKey is what the store keys a state by: its hash, so the store alone never holds a
// usable state. Finished grants live under another key of the same state.
func stateKey(phase, s string) string {
	sum := sha256.Sum256([]byte(phase + "\x00" + s))
	return hex.EncodeToString(sum[:])
}

// Started is StartConnect's answer.
type Started struct {
	AuthorizeURL, State string
	// LinkIDs are the links made at once (direct platforms).
	LinkIDs []string
}

// StartConnect starts a flow for the actor's team and member, or links a direct platform's
// account at once.
func (s *Service) StartConnect(ctx context.Context, a commands.Actor, p domain.Platform, returnURL string, creds map[string]string) (Started, error) {
	if p.IsZero() {
		return Started{}, domain.Invalid("platform", "is required")
	}
	if d, ok := s.direct[p]; ok {
		if returnURL != "" {
			if err := checkReturnURL(returnURL); err != nil {
				return Started{}, err
			}
		}
		return s.startDirect(ctx, a, d, creds)
	}
	f, ok := s.byPlatform[p]
	if !ok {
		return Started{}, domain.Precondition("connecting %s accounts is not configured on this server (see README: Connecting accounts)", p)
	}
	if len(creds) > 0 {
		return Started{}, domain.Invalid("credentials", "are for Telegram and Bluesky only: %s connects by OAuth", p)
	}
	if err := checkReturnURL(returnURL); err != nil {
		return Started{}, err
	}
	if s.d.PublicURL == "" {
		return Started{}, domain.Precondition("the server has no --public-url for the platform to call back")
	}
	raw := make([]byte, 32)
	if _, err := rand.Read(raw); err != nil {
		return Started{}, err
	}
	st := base64.RawURLEncoding.EncodeToString(raw)
	rec := state{TeamID: a.TeamID, MemberID: a.MemberID, Role: a.Role, Flow: f.Name(), Platform: p.String(), ReturnURL: returnURL}
	challenge := ""
	if f.PKCE() {
		rec.Verifier = oauth2.GenerateVerifier()
		challenge = oauth2.S256ChallengeFromVerifier(rec.Verifier)
	}
	if err := s.putState(ctx, stateKey("start", st), rec); err != nil {
		return Started{}, err
	}
	return Started{AuthorizeURL: f.AuthorizeURL(st, s.redirectURI(f), challenge), State: st}, nil
}

func checkReturnURL(raw string) error {
	if raw == "" {
		return domain.Invalid("return_url", "is required")
	}
	if len(raw) > 4096 {
		return domain.Invalid("return_url", "must be at most 4096 characters")
	}
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return domain.Invalid("return_url", "must be an absolute http or https URL")
	}
	return nil
}

func (s *Service) redirectURI(f OAuth) string { return s.d.PublicURL + "/oauth/callback/" + f.Name() }

func (s *Service) putState(ctx context.Context, key string, rec state) error {
	b, err := json.Marshal(rec)
	if err != nil {
		return err
	}
	if err := s.d.States.PutConnectState(ctx, key, b, s.d.Now().Add(StateTTL)); err != nil {
		return domain.Unavailable("the connect state store", err)
	}
	return nil
}

func decodeState(b []byte) (state, error) {
	var st state
	err := json.Unmarshal(b, &st)
	return st, err
}

func (s *Service) startDirect(ctx context.Context, a commands.Actor, d Direct, creds map[string]string) (Started, error) {
	asset, err := d.Verify(ctx, creds)
	if err != nil {
		if r, ok := IsRefused(err); ok {
			return Started{}, domain.Invalid("credentials", "%s", r.Reason)
		}
		s.d.Logger.Warn("connect: verifying credentials failed", "platform", d.Platform().String(), "err", err)
		return Started{}, domain.Unavailable(d.Platform().String(), errors.New("the platform could not verify the credentials"))
	}
	id, err := s.link(ctx, a, asset)
	if err != nil {
		return Started{}, err
	}
	return Started{LinkIDs: []string{id}}, nil
}

// link links one asset through the LinkAccount command (events and sealing as any link), then
// registers its webhook.
func (s *Service) link(ctx context.Context, a commands.Actor, asset Asset) (string, error) {
	creds := asset.Credentials
	if r, ok := s.registrars[asset.Platform]; ok {
		if more := r.Prepare(creds); more != nil {
			creds = more
		}
	}
	res, err := s.d.App.LinkAccount.Handle(ctx, a, commands.LinkAccount{Platform: asset.Platform, PlatformID: asset.PlatformID,
		Username: asset.Username, DisplayName: asset.DisplayName, Credentials: creds})
	if err != nil {
		return "", err
	}
	s.register(ctx, a.TeamID, res.AccountLinkID, asset.Platform, asset.PlatformID, res.WebhookPath, creds)
	return res.AccountLinkID, nil
}

// Linked registers the webhook of a link made through LinkAccount (credentials pasted): a
// generated webhook secret is stored first.
func (s *Service) Linked(ctx context.Context, teamID, linkID string, p domain.Platform, platformID, webhookPath string) {
	r, ok := s.registrars[p]
	if !ok || s.d.PublicURL == "" {
		return
	}
	creds, err := s.d.Credentials.Get(ctx, teamID, linkID)
	if err != nil || len(creds) == 0 {
		return // no credentials given: the operator registers by hand, as before
	}
	if more := r.Prepare(creds); more != nil {
		if err := s.d.Credentials.Put(ctx, teamID, linkID, more); err != nil {
			s.unhealthy(ctx, teamID, linkID, "webhook not registered: the credential store is unavailable")
			return
		}
		creds = more
	}
	s.register(ctx, teamID, linkID, p, platformID, webhookPath, creds)
}

func (s *Service) register(ctx context.Context, teamID, linkID string, p domain.Platform, platformID, webhookPath string, creds map[string]string) {
	r, ok := s.registrars[p]
	if !ok || s.d.PublicURL == "" {
		return
	}
	link := platforms.Link{ID: linkID, TeamID: teamID, PlatformID: platformID}
	if err := r.Register(ctx, link, creds, s.d.PublicURL+webhookPath); err != nil {
		s.d.Logger.Warn("connect: webhook registration failed", "platform", p.String(), "account_link_id", linkID, "err", err)
		s.unhealthy(ctx, teamID, linkID, "webhook registration failed: "+err.Error())
		return
	}
	s.d.Logger.Info("connect: webhook registered", "platform", p.String(), "account_link_id", linkID)
}

func (s *Service) unhealthy(ctx context.Context, teamID, linkID, reason string) {
	if _, err := s.d.App.ReportAccountHealth.Handle(ctx, commands.ReportAccountHealth{TeamID: teamID, AccountLinkID: linkID,
		Reason: reason}); err != nil {
		s.d.Logger.Warn("connect: recording the link unhealthy failed", "account_link_id", linkID, "err", err)
	}
}

// Unlinked removes the webhook of an unlinked link (best effort: the link is unlinked whatever
// the platform answers, and its deliveries are refused from now on anyway).
func (s *Service) Unlinked(ctx context.Context, teamID, linkID string) {
	l, err := s.d.Links.AccountLink(ctx, teamID, linkID)
	if err != nil {
		return
	}
	p, err := domain.ParsePlatform(l.Platform)
	if err != nil {
		return
	}
	r, ok := s.registrars[p]
	if !ok {
		return
	}
	creds, err := s.d.Credentials.Get(ctx, teamID, linkID)
	if err != nil || len(creds) == 0 {
		return
	}
	if err := r.Unregister(ctx, platforms.Link{ID: linkID, TeamID: teamID, PlatformID: l.PlatformID}, creds); err != nil {
		s.d.Logger.Warn("connect: webhook removal failed", "platform", l.Platform, "account_link_id", linkID, "err", err)
	}
}

// ConnectableAssets lists a finished grant's assets, for its own team only.
func (s *Service) ConnectableAssets(ctx context.Context, a commands.Actor, st string) ([]Asset, error) {
	if st == "" {
		return nil, domain.Invalid("state", "is required")
	}
	b, ok, err := s.d.States.GetConnectState(ctx, stateKey("grant", st), s.d.Now())
	if err != nil {
		return nil, domain.Unavailable("the connect state store", err)
	}
	rec, derr := decodeState(b)
	if !ok || derr != nil || rec.TeamID != a.TeamID {
		return nil, domain.NotFound("connect state", "(given)")
	}
	out := make([]Asset, len(rec.Assets))
	for i, as := range rec.Assets {
		out[i] = as.asset()
		out[i].Credentials = nil
	}
	return out, nil
}

// LinkConnectedAssets links the picked assets of a finished grant; the grant is used up.
func (s *Service) LinkConnectedAssets(ctx context.Context, a commands.Actor, st string, ids []string) ([]string, error) {
	if st == "" {
		return nil, domain.Invalid("state", "is required")
	}
	if len(ids) == 0 || len(ids) > 100 {
		return nil, domain.Invalid("asset_ids", "must name 1 to 100 assets")
	}
	// Checked before taking, so another team's call or a wrong pick does not use up the grant.
	listed, err := s.ConnectableAssets(ctx, a, st)
	if err != nil {
		return nil, err
	}
	for _, id := range ids {
		if !slices.ContainsFunc(listed, func(as Asset) bool { return as.ID == id }) {
			return nil, domain.Invalid("asset_ids", "%q is not an asset of this grant", id)
		}
	}
	rec, err := s.take(ctx, stateKey("grant", st))
	if err != nil {
		return nil, err
	}
	if rec.TeamID != a.TeamID {
		return nil, domain.NotFound("connect state", "(given)")
	}
	var picked []Asset
	for _, id := range ids {
		i := slices.IndexFunc(rec.Assets, func(as storedAsset) bool { return as.ID == id })
		if i < 0 {
			return nil, domain.Invalid("asset_ids", "%q is not an asset of this grant", id)
		}
		picked = append(picked, rec.Assets[i].asset())
	}
	var links []string
	for _, as := range picked {
		// The member who started the flow links, with the role they had then.
		id, err := s.link(ctx, rec.actor(), as)
		if err != nil {
			return links, err
		}
		links = append(links, id)
	}
	return links, nil
}

func (s *Service) take(ctx context.Context, key string) (state, error) {
	b, ok, err := s.d.States.TakeConnectState(ctx, key, s.d.Now())
	if err != nil {
		return state{}, domain.Unavailable("the connect state store", err)
	}
	if !ok {
		return state{}, domain.NotFound("connect state", "(given)")
	}
	rec, err := decodeState(b)
	if err != nil {
		return state{}, domain.NotFound("connect state", "(given)")
	}
	return rec, nil
}

// Callback serves GET /oauth/callback/{flow}: the platform sends the browser back here.
func (s *Service) Callback() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet {
			w.Header().Set("Allow", http.MethodGet)
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		name := strings.TrimPrefix(r.URL.Path, "/oauth/callback/")
		f, ok := s.oauth[name]
		if !ok {
			http.Error(w, "unknown connect flow", http.StatusNotFound)
			return
		}
		q := r.URL.Query()
		st := q.Get("state")
		if st == "" {
			http.Error(w, "the state parameter is missing: start again from Switchboard", http.StatusBadRequest)
			return
		}
		rec, err := s.take(r.Context(), stateKey("start", st))
		if domain.KindOf(err) == domain.KindUnavailable {
			s.d.Logger.Error("connect: the state store failed", "err", errors.Unwrap(err))
			http.Error(w, "the server cannot check this connect link right now: try again", http.StatusServiceUnavailable)
			return
		}
		if err != nil || rec.Flow != name {
			// Unknown, expired, already used, or another flow's: nothing is linked.
			http.Error(w, "this connect link is unknown, expired or already used: start again from Switchboard", http.StatusBadRequest)
			return
		}
		if e := q.Get("error"); e != "" {
			back(w, r, rec.ReturnURL, url.Values{"connect": {"error"}, "error": {safeCode(e)}})
			return
		}
		code := q.Get("code")
		if code == "" {
			back(w, r, rec.ReturnURL, url.Values{"connect": {"error"}, "error": {"missing_code"}})
			return
		}
		assets, err := f.Exchange(r.Context(), code, s.redirectURI(f), rec.Verifier)
		if err != nil {
			s.d.Logger.Warn("connect: code exchange failed", "flow", name, "team_id", rec.TeamID, "err", err)
			back(w, r, rec.ReturnURL, url.Values{"connect": {"error"}, "error": {"exchange_failed"}})
			return
		}
		// The grant may cover more (Facebook Login: Pages, Instagram accounts, WhatsApp
		// numbers): the member connected one platform.
		assets = slices.DeleteFunc(assets, func(as Asset) bool { return as.Platform.String() != rec.Platform })
		switch {
		case len(assets) == 0:
			back(w, r, rec.ReturnURL, url.Values{"connect": {"error"}, "error": {"no_accounts"}})
			return
		case len(assets) > 1:
			for _, as := range assets {
				rec.Assets = append(rec.Assets, as.stored())
			}
			if err := s.putState(r.Context(), stateKey("grant", st), rec); err != nil {
				back(w, r, rec.ReturnURL, url.Values{"connect": {"error"}, "error": {"unavailable"}})
				return
			}
			back(w, r, rec.ReturnURL, url.Values{"connect": {"choose"}, "state": {st}})
			return
		}
		id, err := s.link(r.Context(), rec.actor(), assets[0])
		if err != nil {
			s.d.Logger.Warn("connect: linking failed", "flow", name, "team_id", rec.TeamID, "err", err)
			code := "link_failed"
			if domain.KindOf(err) == domain.KindPermissionDenied {
				code = "permission_denied"
			}
			back(w, r, rec.ReturnURL, url.Values{"connect": {"error"}, "error": {code}})
			return
		}
		back(w, r, rec.ReturnURL, url.Values{"connect": {"ok"}, "account_link_ids": {id}})
	})
}

// back redirects the browser to the return URL with the result added to its query.
func back(w http.ResponseWriter, r *http.Request, returnURL string, v url.Values) {
	u, err := url.Parse(returnURL)
	if err != nil {
		http.Error(w, "bad return URL", http.StatusBadRequest)
		return
	}
	q := u.Query()
	for k, vs := range v {
		q[k] = vs
	}
	u.RawQuery = q.Encode()
	http.Redirect(w, r, u.String(), http.StatusFound)
}

// safeCode keeps an OAuth error code (access_denied…) and nothing else the platform sent.
func safeCode(s string) string {
	if len(s) > 40 || strings.IndexFunc(s, func(r rune) bool { return !(r == '_' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z') }) >= 0 {
		return "denied"
	}
	return s
}
