package bluesky

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/switchboard-oss/switchboard/adapters/platforms"
	"github.com/switchboard-oss/switchboard/adapters/platforms/connect"
	"github.com/switchboard-oss/switchboard/domain"
)

// Credential keys a connected Bluesky link adds: its session (createSession, renewed with
// refreshSession before the access JWT expires). The poller signs in with the app password on
// its own; senders may use the stored session.
const (
	CredAccessJWT  = "access_jwt"
	CredRefreshJWT = "refresh_jwt"
)

type pds struct {
	base   string
	client *http.Client
}

// NewConnect returns Bluesky's connect dialect: handle (or DID, or email) and app password,
// verified with createSession; and its refresher (refreshSession).
func NewConnect(baseURLs platforms.BaseURLs) interface {
	connect.Direct
	connect.Refresher
} {
	return pds{base: strings.TrimRight(baseURLs.Get(domain.PlatformBluesky.String(), DefaultBaseURL), "/"), client: connect.Client}
}

func (pds) Platform() domain.Platform { return domain.PlatformBluesky }

type session struct {
	DID        string `json:"did"`
	Handle     string `json:"handle"`
	AccessJWT  string `json:"accessJwt"`
	RefreshJWT string `json:"refreshJwt"`
}

func (p pds) createSession(ctx context.Context, identifier, password string) (session, error) {
	var s session
	err := connect.PostJSON(ctx, p.client, p.base+"/xrpc/com.atproto.server.createSession", "bluesky createSession",
		map[string]string{"identifier": identifier, "password": password}, "", &s)
	var he *connect.HTTPError
	if errors.As(err, &he) && (he.Status == http.StatusUnauthorized || he.Code == "AuthenticationRequired" || he.Code == "AccountTakedown") {
		return s, &connect.Refused{Reason: "Bluesky refused the identifier or app password"}
	}
	if err == nil && (s.DID == "" || s.AccessJWT == "") {
		err = errors.New("bluesky createSession: no DID or access token")
	}
	return s, err
}

// Verify signs in: the session's DID is the link's platform id.
func (p pds) Verify(ctx context.Context, creds map[string]string) (connect.Asset, error) {
	id, pw := strings.TrimSpace(creds[CredIdentifier]), creds[CredAppPassword]
	if id == "" || pw == "" {
		return connect.Asset{}, &connect.Refused{Reason: "credentials.identifier and credentials.app_password are required"}
	}
	s, err := p.createSession(ctx, id, pw)
	if err != nil {
		return connect.Asset{}, err
	}
	out := map[string]string{CredIdentifier: id, CredAppPassword: pw, connect.CredConnectedBy: "verified"}
	setSession(out, s)
	return connect.Asset{ID: "bluesky:" + s.DID, Platform: domain.PlatformBluesky, PlatformID: s.DID, Username: s.Handle,
		DisplayName: s.Handle, Credentials: out}, nil
}

func setSession(creds map[string]string, s session) time.Time {
	creds[CredAccessJWT], creds[CredRefreshJWT] = s.AccessJWT, s.RefreshJWT
	exp := jwtExpiry(s.AccessJWT)
	if exp.IsZero() {
		exp = time.Now().Add(2 * time.Hour) // the PDS's usual access lifetime
	}
	creds[connect.CredExpiresAt] = exp.UTC().Format(time.RFC3339)
	return exp
}

// jwtExpiry reads a JWT's exp claim without checking it (it is ours, from the PDS).
func jwtExpiry(jwt string) time.Time {
	parts := strings.Split(jwt, ".")
	if len(parts) != 3 {
		return time.Time{}
	}
	b, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return time.Time{}
	}
	var c struct {
		Exp int64 `json:"exp"`
	}
	if json.Unmarshal(b, &c) != nil || c.Exp == 0 {
		return time.Time{}
	}
	return time.Unix(c.Exp, 0).UTC()
}

func (pds) Before() time.Duration { return 30 * time.Minute }

// Refresh renews the session with refreshSession; a refused refresh token signs in again with
// the app password, and only a refused app password needs the member.
func (p pds) Refresh(ctx context.Context, _ platforms.Link, creds map[string]string) (map[string]string, time.Time, error) {
	var s session
	err := connect.PostJSON(ctx, p.client, p.base+"/xrpc/com.atproto.server.refreshSession", "bluesky refreshSession", nil, creds[CredRefreshJWT], &s)
	if connect.AuthFailure(err) || creds[CredRefreshJWT] == "" {
		s, err = p.createSession(ctx, creds[CredIdentifier], creds[CredAppPassword])
	}
	if err != nil {
		return nil, time.Time{}, err
	}
	out := map[string]string{}
	until := setSession(out, s)
	return out, until, nil
}
