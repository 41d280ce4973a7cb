package telegram

import (
	"github.com/switchboard-oss/switchboard/adapters/platforms/platformtest"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/switchboard-oss/switchboard/adapters/platforms"
	"github.com/switchboard-oss/switchboard/adapters/platforms/scheduler/polltest"
)

// FuzzParse: whatever the body and the bot's user id, the webhook's Parse and the getUpdates
// path (parseGetUpdates, pollResult) return an error or well-formed items; never a panic.
// Seeds: the repository's own payloads, every shared Telegram sample (a Message wrapped in an Update as TestFixtures does), for a bot
// that wrote none of them and for one that wrote the guide's, all of them as one getUpdates
// page, the repository's own payloads, and odd bodies. `go test` runs the seeds; `make fuzz`
// explores.
func FuzzParse(f *testing.F) {
	// The repository's own payloads, always; the shared samples when they are there.
	var dir string
	var shared []string
	if platformtest.SharedPresent("telegram") {
		dir = polltest.FixtureDir(f, "telegram")
		shared = polltest.Files(f, dir)
	}
	bots := []string{testLink.PlatformID, testUser.PlatformID}
	own := platformtest.RepoPayload(f, "telegram", "message_text.update.json")
	f.Add(own, testLink.PlatformID)
	updates := []string{string(own)}
	for _, name := range shared {
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
	for _, b := range platformtest.OddBodies(func(elem string) string { return `{"update_id":1,"message":` + elem + `}` }) {
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
			platformtest.CheckItems(t, items)
		}
		res, err := parseGetUpdates(&http.Response{StatusCode: http.StatusOK, Header: http.Header{}}, body)
		if err != nil {
			return
		}
		platformtest.CheckItems(t, pollResult(res, link, "").Items)
	})
}
