package bluesky

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/switchboard-oss/switchboard/adapters/platforms"
	"github.com/switchboard-oss/switchboard/adapters/platforms/bluesky/blueskytest"
	"github.com/switchboard-oss/switchboard/adapters/platforms/scheduler"
	"github.com/switchboard-oss/switchboard/adapters/platforms/scheduler/polltest"
	"github.com/switchboard-oss/switchboard/domain"
)

var (
	testLink  = platforms.Link{ID: "acc_bluesky", TeamID: "team_1", PlatformID: blueskytest.DID}
	testCreds = map[string]string{CredIdentifier: blueskytest.Identifier, CredAppPassword: blueskytest.AppPassword}
)

func newFake(t *testing.T) (*blueskytest.Server, platforms.Poller) {
	t.Helper()
	fake := blueskytest.New(t, polltest.FixtureDir(t, "bluesky"))
	return fake, NewPoller(platforms.BaseURLs{"bluesky": fake.URL}, fake.Client())
}

func poll(t *testing.T, p platforms.Poller, creds map[string]string, cursor string) platforms.PollResult {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	res, err := p.Poll(ctx, testLink, creds, cursor)
	if err != nil {
		t.Fatalf("poll from %q: %v", cursor, err)
	}
	return res
}

func countNSID(reqs []blueskytest.Request, nsid string) int {
	n := 0
	for _, r := range reqs {
		if r.NSID == nsid {
			n++
		}
	}
	return n
}

func messages(items []domain.PlatformItem) map[string]domain.PlatformMessage {
	out := map[string]domain.PlatformMessage{}
	for _, it := range items {
		if m, ok := it.(domain.PlatformMessage); ok {
			out[m.PlatformMessageID] = m
		}
	}
	return out
}

// The first poll starts at the log's head and lists the convos; the next ones backfill each
// convo, then follow the log from that head.
func TestPollBackfillsThenFollowsTheLog(t *testing.T) {
	fake, p := newFake(t)
	if _, ok := p.(scheduler.SharedLimiter); !ok {
		t.Error("the Bluesky poller does not share the PDS's per-IP limit")
	}
	res := poll(t, p, testCreds, "")
	if len(res.Items) != 0 || !res.More {
		t.Fatalf("first poll = %d items, more %v; want none and more", len(res.Items), res.More)
	}
	st := decodeCursor(res.Cursor)
	if st.Log != blueskytest.Head || strings.Join(st.Backfill, ",") != "3moh3ak5nq32s,3kt4jgm5nc32q,3lcsswcbumw23" {
		t.Fatalf("first cursor = %s", res.Cursor)
	}

	backfilled := map[string]domain.PlatformMessage{}
	cursor := res.Cursor
	for range 3 {
		res = poll(t, p, testCreds, cursor)
		if !res.More {
			t.Fatal("a backfill step did not ask for more")
		}
		for id, m := range messages(res.Items) {
			backfilled[id] = m
		}
		for i := 1; i < len(res.Items); i++ {
			if res.Items[i].(domain.PlatformMessage).SentAt.Before(res.Items[i-1].(domain.PlatformMessage).SentAt) {
				t.Fatal("a backfill step is not oldest first")
			}
		}
		cursor = res.Cursor
	}
	// Every message of the three listed convos: 13 with Barry, 1 with Test Bot #2, 1 in the group.
	if len(backfilled) != 15 {
		t.Fatalf("backfilled %d messages, want 15", len(backfilled))
	}
	if m := backfilled["3l7dmb2oa4p26"]; m.Direction != domain.Inbound || m.Prospect.Username != "blowdart.me" || m.Text != "You smell funny" {
		t.Errorf("backfilled message = %+v", m)
	}
	if st := decodeCursor(cursor); st.Log != blueskytest.Head || len(st.Backfill) != 0 {
		t.Fatalf("cursor after the backfill = %s", cursor)
	}

	res = poll(t, p, testCreds, cursor)
	if len(res.Items) != 84 || !res.More || decodeCursor(res.Cursor).Log != blueskytest.CapturedCursor {
		t.Fatalf("following the log: %d items, more %v, cursor %s", len(res.Items), res.More, res.Cursor)
	}
	// The same messages by both paths: the ids agree, so the log deduplicates them.
	for id, m := range messages(res.Items) {
		if b, ok := backfilled[id]; ok && (b.ConversationID != m.ConversationID || b.Prospect.PlatformID != m.Prospect.PlatformID || b.Direction != m.Direction) {
			t.Errorf("message %s differs between backfill (%+v) and log (%+v)", id, b, m)
		}
	}
	res = poll(t, p, testCreds, res.Cursor)
	if len(res.Items) != 0 || res.More || decodeCursor(res.Cursor).Log != blueskytest.CapturedCursor {
		t.Fatalf("caught up: %d items, more %v, cursor %s", len(res.Items), res.More, res.Cursor)
	}

	reqs := fake.Requests()
	if fake.Sessions() != 1 || countNSID(reqs, "com.atproto.server.createSession") != 1 {
		t.Errorf("%d sessions created; want one, reused", fake.Sessions())
	}
	// The convo listConvos does not show is looked up once, then remembered as unreadable.
	if n := countNSID(reqs, "chat.bsky.convo.getConvo"); n != 1 {
		t.Errorf("getConvo called %d times, want 1", n)
	}
}

func TestPollRefreshesAnExpiredSession(t *testing.T) {
	fake, p := newFake(t)
	cursor := `{"log":"` + blueskytest.CapturedCursor + `"}`
	poll(t, p, testCreds, cursor)
	fake.ExpireTokens()
	poll(t, p, testCreds, cursor)
	reqs := fake.Requests()
	if fake.Sessions() != 1 || countNSID(reqs, "com.atproto.server.refreshSession") != 1 {
		t.Fatalf("sessions %d, refreshes %d; want the session refreshed, not reopened", fake.Sessions(),
			countNSID(reqs, "com.atproto.server.refreshSession"))
	}
	// Other credential keys change nothing: the session belongs to the identifier and password.
	poll(t, p, map[string]string{CredIdentifier: blueskytest.Identifier, CredAppPassword: blueskytest.AppPassword, "other": "x"}, cursor)
	if fake.Sessions() != 1 {
		t.Fatalf("%d sessions; want the one session kept", fake.Sessions())
	}
}

func TestPollAuthErrors(t *testing.T) {
	fake, p := newFake(t)
	ctx := context.Background()
	for name, creds := range map[string]map[string]string{
		"no credentials":     {},
		"no app password":    {CredIdentifier: blueskytest.Identifier},
		"wrong app password": {CredIdentifier: blueskytest.Identifier, CredAppPassword: "wrong-pass-word-0000"},
	} {
		_, err := p.Poll(ctx, testLink, creds, "")
		a, ok := platforms.IsAuth(err)
		if !ok {
			t.Errorf("%s: err = %v, want an AuthError", name, err)
			continue
		}
		if strings.Contains(a.Reason, "wrong-pass") || a.Reason == "" {
			t.Errorf("%s: reason %q", name, a.Reason)
		}
	}
	// A working session whose app password is then revoked.
	cursor := `{"log":"` + blueskytest.CapturedCursor + `"}`
	poll(t, p, testCreds, cursor)
	fake.Revoke()
	_, err := p.Poll(ctx, testLink, testCreds, cursor)
	if a, ok := platforms.IsAuth(err); !ok || !strings.Contains(a.Reason, "AuthenticationRequired") {
		t.Fatalf("after revocation: err = %v, want an AuthError naming AuthenticationRequired", err)
	}
}

func TestPollRateLimitsAndFailures(t *testing.T) {
	fake, p := newFake(t)
	cursor := `{"log":"` + blueskytest.CapturedCursor + `"}`
	poll(t, p, testCreds, cursor)
	fake.FailChats(1)
	_, err := p.Poll(context.Background(), testLink, testCreds, cursor)
	if _, auth := platforms.IsAuth(err); err == nil || auth {
		t.Fatalf("a 500: err = %v, want a transient error", err)
	}
	if _, limited := platforms.IsRetryAfter(err); limited {
		t.Fatalf("a 500 taken for a rate limit: %v", err)
	}

	// A PDS that rate-limits: ratelimit-reset is a unix time.
	reset := time.Now().Add(42 * time.Second).Unix()
	limited := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Ratelimit-Reset", strconv.FormatInt(reset, 10))
		w.WriteHeader(http.StatusTooManyRequests)
		_, _ = w.Write([]byte(`{"error":"RateLimitExceeded","message":"Rate Limit Exceeded"}`))
	}))
	defer limited.Close()
	p = NewPoller(platforms.BaseURLs{"bluesky": limited.URL}, limited.Client())
	_, err = p.Poll(context.Background(), testLink, testCreds, cursor)
	ra, ok := platforms.IsRetryAfter(err)
	if !ok || ra.After < 30*time.Second || ra.After > 45*time.Second {
		t.Fatalf("429: err = %v, want a RetryAfter of about 42s", err)
	}
}
