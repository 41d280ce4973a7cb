package telegram

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"golang.org/x/time/rate"

	"github.com/switchboard-oss/switchboard/adapters/platforms"
	"github.com/switchboard-oss/switchboard/domain"
)

// DefaultBaseURL is the Bot API's own address.
const DefaultBaseURL = "https://api.telegram.org"

const (
	// longPoll is getUpdates' timeout: short, so a poll returns soon and the scheduler stays in
	// charge, but not 0, which Telegram reserves for testing.
	longPoll = 5 * time.Second
	// pageSize is getUpdates' maximum limit.
	pageSize = 100
	// maxResponse bounds a getUpdates body (100 updates).
	maxResponse = 32 << 20
	// defaultRetryAfter is the wait when a 429 names none.
	defaultRetryAfter = 5 * time.Second
)

// ErrWebhookSet is getUpdates refused (409 Conflict) because the bot has a webhook: such a
// bot is fed by its webhook; polling it needs deleteWebhook first.
var ErrWebhookSet = errors.New("telegram: getUpdates is refused while a webhook is set for the bot")

type poller struct {
	base   string
	client *http.Client
}

// NewPoller returns Telegram's getUpdates long polling. The cursor is the next offset (the
// last update_id + 1): calling getUpdates with it confirms, and drops, every earlier update,
// so a cursor is stored only after its items are. The first poll (no cursor) takes whatever
// Telegram still holds (unconfirmed updates are kept 24 hours). A nil client gets one whose
// timeout outlasts the long poll.
func NewPoller(baseURLs platforms.BaseURLs, client *http.Client) platforms.Poller {
	if client == nil {
		client = &http.Client{Timeout: longPoll + 25*time.Second}
	}
	return &poller{base: strings.TrimRight(baseURLs.Get(domain.PlatformTelegram.String(), DefaultBaseURL), "/"), client: client}
}

func (*poller) Platform() domain.Platform { return domain.PlatformTelegram }

// Limit: Telegram documents no getUpdates limit; its FAQ asks for at most one request per
// second per chat, and a long poll holds each request open up to its timeout anyway.
func (*poller) Limit() (rate.Limit, int) { return rate.Every(time.Second), 1 }

// botResponse is every Bot API answer.
type botResponse struct {
	OK          bool              `json:"ok"`
	Result      []json.RawMessage `json:"result"`
	ErrorCode   int               `json:"error_code"`
	Description string            `json:"description"`
	Parameters  struct {
		RetryAfter int `json:"retry_after"`
	} `json:"parameters"`
}

func (p *poller) Poll(ctx context.Context, link platforms.Link, creds map[string]string, cursor string) (platforms.PollResult, error) {
	token := creds[CredBotToken]
	if token == "" {
		return platforms.PollResult{}, &platforms.AuthError{Reason: "the account link has no bot_token"}
	}
	q := url.Values{"timeout": {strconv.Itoa(int(longPoll / time.Second))}, "limit": {strconv.Itoa(pageSize)}}
	if cursor != "" {
		if _, err := strconv.ParseInt(cursor, 10, 64); err != nil {
			return platforms.PollResult{}, fmt.Errorf("telegram: cursor %q is not an update offset", cursor)
		}
		q.Set("offset", cursor)
	}
	// The token is part of the path: no error below may carry the URL.
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, p.base+"/bot"+token+"/getUpdates?"+q.Encode(), nil)
	if err != nil {
		return platforms.PollResult{}, errors.New("telegram: cannot build the getUpdates request")
	}
	resp, err := p.client.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return platforms.PollResult{}, fmt.Errorf("telegram getUpdates: %w", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxResponse))
	if err != nil {
		return platforms.PollResult{}, fmt.Errorf("telegram getUpdates: reading the response: %w", err)
	}
	res, err := parseGetUpdates(resp, body)
	if err != nil {
		return platforms.PollResult{}, err
	}
	return pollResult(res, link, cursor), nil
}

// parseGetUpdates reads a getUpdates answer, mapping refusals to the scheduler's errors.
func parseGetUpdates(resp *http.Response, body []byte) (botResponse, error) {
	var res botResponse
	jsonErr := json.Unmarshal(body, &res)
	code := resp.StatusCode
	if res.ErrorCode != 0 {
		code = res.ErrorCode
	}
	switch {
	case code == http.StatusUnauthorized || code == http.StatusNotFound:
		// 401 is a wrong or revoked token, 404 a malformed one.
		return res, &platforms.AuthError{Reason: fmt.Sprintf("the Bot API refused the bot token (%d %s)", code, http.StatusText(code))}
	case code == http.StatusTooManyRequests:
		after := time.Duration(res.Parameters.RetryAfter) * time.Second
		if after <= 0 {
			if s, err := strconv.Atoi(resp.Header.Get("Retry-After")); err == nil && s > 0 {
				after = time.Duration(s) * time.Second
			}
		}
		if after <= 0 {
			after = defaultRetryAfter
		}
		return res, &platforms.RetryAfter{After: after}
	case code == http.StatusConflict:
		return res, ErrWebhookSet
	case code != http.StatusOK || jsonErr != nil || !res.OK:
		desc := res.Description
		if desc == "" {
			desc = http.StatusText(code)
		}
		return res, fmt.Errorf("telegram getUpdates: %d %s", code, desc)
	}
	return res, nil
}

// pollResult maps a page of updates. An update that is not readable is kept raw rather than
// failing the poll: failing would stop the cursor before it forever.
func pollResult(res botResponse, link platforms.Link, cursor string) platforms.PollResult {
	out := platforms.PollResult{Cursor: cursor, More: len(res.Result) >= pageSize}
	var last int64
	for _, u := range res.Result {
		items, id, err := updateItems(u, link)
		if err != nil {
			items = []domain.PlatformItem{domain.PlatformOther{Kind: "malformed_update", Raw: compact(u)}}
		}
		out.Items = append(out.Items, items...)
		last = max(last, id)
	}
	if last > 0 {
		out.Cursor = strconv.FormatInt(last+1, 10)
	}
	return out
}
