package telegram

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/switchboard-oss/switchboard/adapters/platforms"
	"github.com/switchboard-oss/switchboard/adapters/platforms/scheduler/polltest"
	"github.com/switchboard-oss/switchboard/domain"
)

// FuzzParse: whatever the body and the bot's user id, the webhook's Parse and the getUpdates
// path (parseGetUpdates, pollResult) return an error or well-formed items; never a panic.
// Seeds: every Telegram sample (a Message wrapped in an Update as TestFixtures does), for a bot
// that wrote none of them and for one that wrote the guide's, all of them as one getUpdates
// page, and odd bodies. `go test` runs the seeds; `make fuzz` explores. Skipped like
// TestFixtures without the samples (polltest.FixtureDir: fixtureDir takes a *testing.T).
func FuzzParse(f *testing.F) {
	dir := polltest.FixtureDir(f, "telegram")
	bots := []string{testLink.PlatformID, testUser.PlatformID}
	var updates []string
	for _, name := range polltest.Files(f, dir) {
		if strings.HasSuffix(name, ".md") {
			continue
		}
		b, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(name)))
		if err != nil {
			f.Fatal(err)
		}
		if fixtures[name].message {
			b = []byte(`{"update_id":1,"message":` + string(b) + `}`)
		}
		for _, bot := range bots {
			f.Add(b, bot)
		}
		updates = append(updates, string(b))
	}
	f.Add([]byte(`{"ok":true,"result":[`+strings.Join(updates, ",")+`]}`), testLink.PlatformID)
	for _, b := range fuzzOddBodies(func(elem string) string { return `{"update_id":1,"message":` + elem + `}` }) {
		f.Add(b, testLink.PlatformID)
	}
	f.Add([]byte(`{"update_id":1}`), testLink.PlatformID)
	f.Add([]byte(`{"ok":true,"result":[{"update_id":9223372036854775807,"edited_message":{"message_id":1,"chat":{"id":-1},"photo":[{"file_id":"p"}]}},7]}`),
		testLink.PlatformID)
	// Found by fuzzing: an Update field "" named the PlatformOther "".
	f.Add([]byte(`{"update_id":1,"":1}`), testLink.PlatformID)
	f.Fuzz(func(t *testing.T, body []byte, platformID string) {
		link := platforms.Link{ID: testLink.ID, TeamID: testLink.TeamID, PlatformID: platformID}
		if items, err := NewWebhook().Parse(body, link); err == nil {
			checkFuzzItems(t, items)
		}
		res, err := parseGetUpdates(&http.Response{StatusCode: http.StatusOK, Header: http.Header{}}, body)
		if err != nil {
			return
		}
		checkFuzzItems(t, pollResult(res, link, "").Items)
	})
}

// checkFuzzItems fails on an item ReceivePlatform would have to refuse or rename: a message
// without its id, prospect or direction, an edit, delete or receipt naming no message, an
// unnamed PlatformOther, a Raw that is not JSON.
func checkFuzzItems(t *testing.T, items []domain.PlatformItem) {
	t.Helper()
	for i, it := range items {
		var raw []byte
		bad := false
		switch v := it.(type) {
		case domain.PlatformMessage:
			raw = v.Raw
			bad = v.PlatformMessageID == "" || v.Prospect.PlatformID == "" || (v.Direction != domain.Inbound && v.Direction != domain.Outbound)
		case domain.PlatformEdit:
			raw, bad = v.Raw, v.PlatformMessageID == ""
		case domain.PlatformDelete:
			raw, bad = v.Raw, v.PlatformMessageID == ""
		case domain.PlatformDelivered:
			bad = len(v.PlatformMessageIDs) == 0 || slices.Contains(v.PlatformMessageIDs, "")
		case domain.PlatformFailed:
			bad = v.PlatformMessageID == ""
		case domain.PlatformOther:
			raw, bad = v.Raw, v.Kind == ""
		case domain.PlatformSeen, domain.PlatformProfile:
		default:
			bad = true
		}
		if bad {
			t.Fatalf("item %d is not well-formed: %.400s", i, fmt.Sprintf("%T%+v", it, it))
		}
		if raw != nil && !json.Valid(raw) {
			t.Fatalf("item %d (%T): Raw is not JSON: %.400q", i, it, raw)
		}
	}
}

// fuzzOddBodies are edge seeds: nothing, JSON that is no object, and deep nesting (inside an
// element the parser reads, and bare).
func fuzzOddBodies(wrap func(elem string) string) [][]byte {
	deep := strings.Repeat(`{"a":[`, 2000) + `1` + strings.Repeat(`]}`, 2000)
	return [][]byte{nil, []byte(`null`), []byte(`[]`), []byte(`{}`), []byte(`"x"`), []byte(`{"a":1}{`),
		[]byte(wrap(`null`)), []byte(wrap(`7`)), []byte(wrap(`{}`)), []byte(wrap(deep)), []byte(deep),
		[]byte(strings.Repeat(`[`, 20000))}
}
