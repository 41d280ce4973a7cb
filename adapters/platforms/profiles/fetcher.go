// Package profiles fills in prospect profiles on platforms whose webhooks carry only an id
// (Meta's PSID and IGSID): a reaction to message.received fetches the person's name and avatar
// from the platform, cached and rate-limited, and records them as prospect.profile_updated.
package profiles

import (
	"context"

	"golang.org/x/time/rate"

	"github.com/switchboard-oss/switchboard/adapters/platforms"
	"github.com/switchboard-oss/switchboard/domain"
)

// Fetcher reads one person's profile from a platform's API.
type Fetcher interface {
	// Platform is the platform the fetcher speaks for.
	Platform() domain.Platform
	// Fetch returns the profile of the person with prospectPlatformID as seen by the account
	// link. It returns *platforms.AuthError when the platform refuses the link's credentials and
	// *platforms.RetryAfter when it rate-limits; no error ever carries a credential.
	Fetch(ctx context.Context, link platforms.Link, creds map[string]string, prospectPlatformID string) (domain.Participant, error)
	// Limit is the request rate this process allows itself on the platform, and its burst.
	Limit() (rate.Limit, int)
}
