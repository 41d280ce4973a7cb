package x

import (
	"github.com/switchboard-oss/switchboard/adapters/platforms/platformtest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/switchboard-oss/switchboard/adapters/platforms"
	"github.com/switchboard-oss/switchboard/adapters/platforms/scheduler/polltest"
	"github.com/switchboard-oss/switchboard/domain"
)

// FuzzParse: whatever the body and the link's user id, the webhook's Parse (AAA and XAA) and
// the poller's dm_events page parser return an error or well-formed items; never a panic.
// Seeds: the repository's own payloads, every shared X sample for the user its fixture table entry names (a v2 event wrapped in a
// page as TestFixtures does), each also for a link without a user id, and odd bodies. `go
// test` runs the seeds; `make fuzz` explores. (the shared ones when they are present).
func FuzzParse(f *testing.F) {
	// The repository's own payloads, always; the shared samples when they are there.
	var dir string
	var shared []string
	if platformtest.SharedPresent("x") {
		dir = polltest.FixtureDir(f, "x")
		shared = polltest.Files(f, dir)
	}
	f.Add(platformtest.RepoPayload(f, "x", "direct_message_events.json"), "8000000000000000001")
	for _, name := range shared {
		c := fixtures[name]
		if c.read == asDoc || strings.HasSuffix(name, ".md") {
			continue
		}
		b, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(name)))
		if err != nil {
			f.Fatal(err)
		}
		if c.read == asDMEvent {
			b = []byte(`{"data":[` + string(b) + `]}`)
		}
		f.Add(b, c.link)
		f.Add(b, "")
	}
	for _, b := range platformtest.OddBodies(func(elem string) string {
		return `{"for_user_id":"` + aaaUser + `","direct_message_events":[` + elem + `],"direct_message_mark_read_events":[` + elem +
			`],"users":{"1":` + elem + `},"data":[` + elem + `]}`
	}) {
		f.Add(b, aaaUser)
	}
	// Found by fuzzing: an AAA key "" named the PlatformOther "".
	f.Add([]byte(`{"for_user_id":"0","":[{}]}`), "0")
	f.Add([]byte(`{"for_user_id":"0","":{}}`), "0")
	f.Fuzz(func(t *testing.T, body []byte, platformID string) {
		link := platforms.Link{ID: "acc_test", TeamID: "team_test", PlatformID: platformID}
		if items, err := NewWebhook().Parse(body, link); err == nil {
			platformtest.CheckItems(t, items)
		}
		page, err := parseDMEvents(body, link)
		if err != nil {
			return
		}
		items := make([]domain.PlatformItem, 0, len(page.events))
		for _, e := range page.events {
			if e.id == "" {
				t.Fatalf("a polled event without its id: %+v", e)
			}
			items = append(items, e.item)
		}
		platformtest.CheckItems(t, items)
	})
}
