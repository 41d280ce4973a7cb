package x

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
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
	for _, b := range fuzzOddBodies(func(elem string) string {
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
			checkFuzzItems(t, items)
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
		checkFuzzItems(t, items)
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
