package instagram_test

import (
	"testing"

	"github.com/switchboard-oss/switchboard/adapters/platforms/instagram"
	pt "github.com/switchboard-oss/switchboard/adapters/platforms/platformtest"
)

// FuzzParse: whatever the body and the link's account id, Parse returns an error or well-formed
// items; never a panic. Seeds: the repository's own payloads, every shared Instagram sample (fragments wrapped as TestFixtures
// wraps them, .jsonc stripped) for each account id the fixture table uses, and odd bodies. `go
// test` runs the seeds; `make fuzz` explores. (the shared ones when they are present).
func FuzzParse(f *testing.F) {
	links := []string{igid, blAccount}
	// The repository's own payloads, always; the shared samples when they are there.
	f.Add(pt.RepoPayload(f, "instagram", "text_message.webhook_body.json"), "17841400000000001")
	var shared []string
	if pt.SharedPresent("instagram") {
		shared = pt.MetaFixtureFiles(f, "instagram")
	}
	for _, name := range shared {
		for _, link := range links {
			f.Add(pt.MetaBody(f, "instagram", name, instagram.Object, link, nil), link)
		}
	}
	for _, b := range pt.OddBodies(func(elem string) string {
		return string(pt.MetaWrapMessaging(instagram.Object, igid, []byte(elem)))
	}) {
		f.Add(b, igid)
	}
	// Found by fuzzing: an event key "" named the PlatformOther "".
	f.Add(pt.MetaWrapMessaging(instagram.Object, igid, []byte(`{"sender":{"id":"u1"},"recipient":{"id":"`+igid+`"},"":1}`)), igid)
	f.Fuzz(func(t *testing.T, body []byte, platformID string) {
		items, err := parse(body, platformID)
		if err != nil {
			return
		}
		pt.CheckItems(t, items)
	})
}
