package platforms

import (
	"context"
	"time"

	"github.com/switchboard-oss/switchboard/commands"
	"github.com/switchboard-oss/switchboard/domain"
)

// earliestPlatformTime is before any message of the platforms Switchboard speaks to: a time
// before it is a bug or a forgery (0, a few seconds, seconds read as milliseconds).
var earliestPlatformTime = time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)

// maxClockSkew is how far ahead of our clock a platform's time may be.
const maxClockSkew = 24 * time.Hour

// PlausibleTimes wraps a Receiver so that a platform time out of range (before 2000, or more
// than a day ahead of now) counts as not given: the event takes the time it was received at,
// instead of being stored as 1970 or year 9999 and sorting the inbox wrong forever. Read
// watermarks and delivery times are cursors the events are identified by: left as they are.
func PlausibleTimes(r Receiver) Receiver { return plausibleTimes{r: r, now: time.Now} }

type plausibleTimes struct {
	r   Receiver
	now func() time.Time
}

func (p plausibleTimes) Handle(ctx context.Context, c commands.ReceivePlatform) (commands.ReceiveResult, error) {
	latest := p.now().Add(maxClockSkew)
	fix := func(t time.Time) time.Time {
		if t.Before(earliestPlatformTime) || t.After(latest) {
			return time.Time{}
		}
		return t
	}
	items := make([]domain.PlatformItem, len(c.Items))
	for i, it := range c.Items {
		switch x := it.(type) {
		case domain.PlatformMessage:
			x.SentAt = fix(x.SentAt)
			it = x
		case domain.PlatformEdit:
			x.EditedAt = fix(x.EditedAt)
			it = x
		case domain.PlatformDelete:
			x.DeletedAt = fix(x.DeletedAt)
			it = x
		case domain.PlatformOther:
			x.At = fix(x.At)
			it = x
		}
		items[i] = it
	}
	c.Items = items
	return p.r.Handle(ctx, c)
}
