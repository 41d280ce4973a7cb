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
// Seeds: every X sample for the user its fixture table entry names (a v2 event wrapped in a
// page as TestFixtures does), each also for a link without a user id, and odd bodies. `go
// test` runs the seeds; `make fuzz` explores. Skipped like TestFixtures without the samples
// (polltest.FixtureDir: fixtureDir takes a *testing.T).
func FuzzParse(f *testing.F) {
	dir := polltest.FixtureDir(f, "x")
	for _, name := range polltest.Files(f, dir) {
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
