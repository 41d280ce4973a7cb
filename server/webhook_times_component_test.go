package server_test

import (
	"fmt"
	"net/http"
	"testing"
	"time"

	v1 "github.com/switchboard-oss/switchboard/proto/gen/switchboard/v1"
)

// TestWebhookTimesOutOfRange: a platform time before 2000 or far in the future (here Telegram's
// `date`) is taken as not given: the message is dated when it was received, not 1970 or 9999;
// a plausible time is kept as sent.
func TestWebhookTimesOutOfRange(t *testing.T) {
	t.Parallel()
	s := startServer(t, t.TempDir())
	a := api{t, newConnectClient(s.Addr), adminKey}
	tg := call[v1.LinkAccountResponse](a, "/switchboard.v1.AccountService/LinkAccount", &v1.LinkAccountRequest{
		Platform: v1.Platform_PLATFORM_TELEGRAM, PlatformId: tgxBotID, Username: "shop_bot",
		Credentials: map[string]string{"bot_token": tgxBotID + ":AAE-not-a-real-token", "webhook_secret": tgxWebhookSecret}}).AccountLink
	start := time.Now().Add(-time.Minute)
	plausible := time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)
	for i, date := range []int64{5, -86400, 253402300800 * 4, plausible.Unix()} {
		body := fmt.Sprintf(`{"update_id":%d,"message":{"message_id":%d,"from":{"id":%d,"is_bot":false,"first_name":"U%d"},`+
			`"chat":{"id":%d,"first_name":"U%d","type":"private"},"date":%d,"text":"date %d"}}`, 900+i, 10+i, 500+i, i, 500+i, i, date, date)
		h := http.Header{"Content-Type": {"application/json"}, "X-Telegram-Bot-Api-Secret-Token": {tgxWebhookSecret}}
		if code := tgxPost(t, s.Addr, tg.WebhookPath, []byte(body), h); code != http.StatusOK {
			t.Fatalf("date %d: webhook answered %d", date, code)
		}
	}
	threads := tgxThreads(t, s, a, tg.Id, 4)
	for i, want := range []time.Time{{}, {}, {}, plausible} {
		th := threads[fmt.Sprint(500+i)]
		if th == nil {
			t.Fatalf("no thread for chat %d", 500+i)
		}
		got := th.LastMessageAt.AsTime()
		if want.IsZero() {
			if got.Before(start) || got.After(time.Now().Add(time.Minute)) {
				t.Errorf("chat %d: dated %s, want the time it was received", 500+i, got)
			}
		} else if !got.Equal(want) {
			t.Errorf("chat %d: dated %s, want %s", 500+i, got, want)
		}
	}
}
