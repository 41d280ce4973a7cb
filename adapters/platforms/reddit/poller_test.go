package reddit

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/switchboard-oss/switchboard/adapters/platforms"
	"github.com/switchboard-oss/switchboard/adapters/platforms/reddit/reddittest"
	"github.com/switchboard-oss/switchboard/adapters/platforms/scheduler/polltest"
	"github.com/switchboard-oss/switchboard/domain"
)

var (
	testLink  = platforms.Link{ID: "acc_reddit", TeamID: "team_1", PlatformID: reddittest.Username}
	testCreds = map[string]string{CredClientID: reddittest.ClientID, CredClientSecret: reddittest.ClientSecret,
		CredRefreshToken: reddittest.RefreshToken}
)

func newFake(t *testing.T) (*reddittest.Server, platforms.Poller) {
	t.Helper()
	fake := reddittest.New(t, polltest.FixtureDir(t, "reddit"))
	return fake, NewPoller(platforms.BaseURLs{"reddit": fake.URL}, fake.Client())
}

func poll(t *testing.T, p platforms.Poller, cursor string) platforms.PollResult {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	res, err := p.Poll(ctx, testLink, testCreds, cursor)
	if err != nil {
		t.Fatalf("poll from %q: %v", cursor, err)
	}
	return res
}

func inboxCalls(reqs []reddittest.Request) []reddittest.Request {
	var out []reddittest.Request
	for _, r := range reqs {
		if r.Path == "/message/inbox" {
			out = append(out, r)
		}
	}
	return out
}

// synthetic is a private message received by the account, for paging tests.
func synthetic(i int) json.RawMessage {
	return json.RawMessage(fmt.Sprintf(`{"kind":"t4","data":{"name":"t4_syn%04d","id":"syn%04d","author":"someone",`+
		`"dest":%q,"subject":"s","body":"message %d","created_utc":%d.0,"first_message_name":null,"replies":""}}`,
		i, i, reddittest.Username, i, 1800000000+i))
}

// The first poll takes the newest page; then only what is newer than the cursor, in pages,
// oldest first, with no gap; the inbox is never marked read.
func TestPollReadsTheInboxForward(t *testing.T) {
	fake, p := newFake(t)
	res := poll(t, p, "")
	if len(res.Items) != 64 || res.More || res.Cursor != "t1_myngt77" {
		t.Fatalf("first poll: %d items, more %v, cursor %q", len(res.Items), res.More, res.Cursor)
	}
	// Recorded in the order they happened, so each prospect's first thread is its first contact.
	if first, last := res.Items[0].(domain.PlatformMessage), res.Items[63].(domain.PlatformOther); first.PlatformMessageID != "t4_22v69cf" || last.Kind != "comment_reply" {
		t.Fatalf("first poll order: %+v … %+v; want oldest first", first.PlatformMessageID, last.Kind)
	}
	// Nothing new: one page before the cursor (empty), one look at the newest item.
	n := len(inboxCalls(fake.Requests()))
	res = poll(t, p, res.Cursor)
	if len(res.Items) != 0 || res.More || res.Cursor != "t1_myngt77" {
		t.Fatalf("idle poll: %d items, more %v, cursor %q", len(res.Items), res.More, res.Cursor)
	}
	if calls := inboxCalls(fake.Requests())[n:]; len(calls) != 2 || calls[0].Query["before"] != "t1_myngt77" || calls[1].Query["limit"] != "1" {
		t.Fatalf("idle poll calls = %+v", calls)
	}

	// A thread arrives.
	fake.Receive(t, reddittest.Things(t, filepath.Join(polltest.FixtureDir(t, "reddit"), "message_thread_with_replies.praw_cassette.json"))...)
	res = poll(t, p, res.Cursor)
	if len(res.Items) != 6 || res.More || res.Cursor != fake.Newest() {
		t.Fatalf("after a thread: %d items, more %v, cursor %q (newest %q)", len(res.Items), res.More, res.Cursor, fake.Newest())
	}

	// A backlog of 230: three pages, nothing lost, nothing twice.
	var backlog []json.RawMessage
	for i := range 230 {
		backlog = append(backlog, synthetic(i))
	}
	fake.Receive(t, backlog...)
	seen := map[string]int{}
	cursor := res.Cursor
	for pages := 0; ; pages++ {
		if pages > 5 {
			t.Fatal("the backlog never ends")
		}
		res = poll(t, p, cursor)
		for _, it := range res.Items {
			seen[it.(domain.PlatformMessage).PlatformMessageID]++
		}
		cursor = res.Cursor
		if !res.More {
			break
		}
	}
	for i := range 230 {
		if id := fmt.Sprintf("t4_syn%04d", i); seen[id] != 1 {
			t.Errorf("%s seen %d times", id, seen[id])
		}
	}
	if len(seen) != 230 || cursor != "t4_syn0229" {
		t.Fatalf("%d seen, cursor %q", len(seen), cursor)
	}

	for _, r := range fake.Requests() {
		if r.Path == "/message/inbox" && (r.Query["mark"] != "false" || r.Query["raw_json"] != "1") {
			t.Errorf("inbox read with %v: polling must not mark messages read", r.Query)
		}
		if !strings.Contains(r.UserAgent, "(by /u/"+reddittest.Username+")") {
			t.Errorf("user agent %q", r.UserAgent)
		}
	}
}

// A cursor whose message left the inbox: the newest page is read again (deduplicated by id).
func TestPollRecoversFromAVanishedCursor(t *testing.T) {
	_, p := newFake(t)
	res := poll(t, p, "t4_deleted1")
	if len(res.Items) != 64 || res.Cursor != "t1_myngt77" {
		t.Fatalf("%d items, cursor %q", len(res.Items), res.Cursor)
	}
}

func TestPollTokens(t *testing.T) {
	fake, p := newFake(t)
	cursor := poll(t, p, "").Cursor
	poll(t, p, cursor)
	tokens := func() int {
		n := 0
		for _, r := range fake.Requests() {
			if r.Path == "/api/v1/access_token" {
				n++
			}
		}
		return n
	}
	if tokens() != 1 {
		t.Fatalf("%d token requests for 2 polls, want 1", tokens())
	}
	fake.ExpireToken()
	poll(t, p, cursor)
	if tokens() != 2 {
		t.Fatalf("%d token requests after a refused token, want 2", tokens())
	}

	ctx := context.Background()
	for name, creds := range map[string]map[string]string{
		"no credentials": {},
		"wrong secret":   {CredClientID: reddittest.ClientID, CredClientSecret: "nope", CredRefreshToken: reddittest.RefreshToken},
	} {
		_, err := p.Poll(ctx, testLink, creds, cursor)
		if a, ok := platforms.IsAuth(err); !ok || strings.Contains(a.Reason, "nope") {
			t.Errorf("%s: err = %v, want an AuthError without the secret", name, err)
		}
	}
	fake.Revoke()
	_, err := p.Poll(ctx, testLink, testCreds, cursor)
	if a, ok := platforms.IsAuth(err); !ok || !strings.Contains(a.Reason, "invalid_grant") {
		t.Fatalf("revoked: err = %v, want an AuthError naming invalid_grant", err)
	}
}

func TestPollRateLimited(t *testing.T) {
	fake, p := newFake(t)
	cursor := poll(t, p, "").Cursor
	fake.RateLimit(1)
	_, err := p.Poll(context.Background(), testLink, testCreds, cursor)
	ra, ok := platforms.IsRetryAfter(err)
	if !ok || ra.After != 7*time.Second {
		t.Fatalf("429: err = %v, want RetryAfter 7s (x-ratelimit-reset)", err)
	}
	poll(t, p, cursor)
}
