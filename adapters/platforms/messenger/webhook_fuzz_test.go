package messenger_test

import (
	"testing"

	"github.com/switchboard-oss/switchboard/adapters/platforms/messenger"
	pt "github.com/switchboard-oss/switchboard/adapters/platforms/platformtest"
)

// FuzzParse: whatever the body and the link's Page id, Parse returns an error or well-formed
// items; never a panic. Seeds: the repository's own payloads, every shared Messenger sample (fragments wrapped as TestFixtures
// wraps them, .jsonc stripped) for each Page id the fixture table uses, and odd bodies. `go
// test` runs the seeds; `make fuzz` explores. (the shared ones when they are present).
func FuzzParse(f *testing.F) {
	links := []string{page, entryPage}
	// The repository's own payloads, always; the shared samples when they are there.
	f.Add(pt.RepoPayload(f, "messenger", "text_message.webhook_body.json"), "100000000000001")
	var shared []string
	if pt.SharedPresent("messenger") {
		shared = pt.MetaFixtureFiles(f, "messenger")
	}
	for _, name := range shared {
		for _, link := range links {
			f.Add(pt.MetaBody(f, "messenger", name, messenger.Object, link, nil), link)
		}
	}
	for _, b := range pt.OddBodies(func(elem string) string {
		return string(pt.MetaWrapMessaging(messenger.Object, page, []byte(elem)))
	}) {
		f.Add(b, page)
	}
	// Found by fuzzing: an event key "" named the PlatformOther "".
	f.Add(pt.MetaWrapMessaging(messenger.Object, page, []byte(`{"sender":{"id":"u1"},"recipient":{"id":"`+page+`"},"":1}`)), page)
	f.Fuzz(func(t *testing.T, body []byte, platformID string) {
		items, err := parse(body, platformID)
		if err != nil {
			return
		}
		pt.CheckItems(t, items)
	})
}
