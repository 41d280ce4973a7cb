package platforms

import (
	"context"
	"errors"
	"fmt"
	"time"

	"golang.org/x/time/rate"

	"github.com/switchboard-oss/switchboard/domain"
)

// Poller is one platform's polling dialect. The scheduler (one for all polling accounts) calls
// Poll per account link with the link's stored cursor, records the items durably, and only then
// stores the next cursor: a crash repeats a poll (deduplicated by ids), never skips one.
type Poller interface {
	// Platform is the platform the adapter speaks for.
	Platform() domain.Platform
	// Poll fetches what happened after cursor ("" = first poll: the adapter decides how far
	// back to start, e.g. the current head of a log or a bounded backfill).
	Poll(ctx context.Context, link Link, creds map[string]string, cursor string) (PollResult, error)
	// Limit is the documented request rate for one account, and its burst.
	Limit() (rate.Limit, int)
}

// PollResult is one poll's outcome.
type PollResult struct {
	Items []domain.PlatformItem
	// Cursor is where the next poll resumes; stored only after Items are recorded.
	Cursor string
	// More asks for the next poll right away (a page of a backlog); otherwise the scheduler
	// waits its interval.
	More bool
}

// AuthError is a poll refused for the account's credentials: the scheduler records an
// account.health_changed event (active: false, with Reason) and stops polling the link until
// it is linked again. Reason must be safe to show: never a token.
type AuthError struct{ Reason string }

func (e *AuthError) Error() string { return "credentials refused: " + e.Reason }

// RetryAfter is a poll the platform rate-limited (HTTP 429 with Retry-After, or its own
// equivalent): the scheduler waits After before polling the link again.
type RetryAfter struct{ After time.Duration }

func (e *RetryAfter) Error() string { return fmt.Sprintf("rate limited: retry after %v", e.After) }

// IsAuth reports an AuthError.
func IsAuth(err error) (*AuthError, bool) {
	var a *AuthError
	ok := errors.As(err, &a)
	return a, ok
}

// IsRetryAfter reports a RetryAfter.
func IsRetryAfter(err error) (*RetryAfter, bool) {
	var r *RetryAfter
	ok := errors.As(err, &r)
	return r, ok
}

// BaseURLs lets tests (and users behind proxies) point each platform's API elsewhere, by
// platform name ("telegram" → "http://127.0.0.1:1234"). A missing entry is the platform's own.
type BaseURLs map[string]string

// Get returns the base URL for a platform, or def.
func (b BaseURLs) Get(platform, def string) string {
	if u, ok := b[platform]; ok && u != "" {
		return u
	}
	return def
}
