package platformtest

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/switchboard-oss/switchboard/domain"
)

// CheckItems fails on an item ReceivePlatform would have to refuse or rename: a message
// without its id, prospect or direction, an edit, delete or receipt naming no message, an
// unnamed PlatformOther, a Raw that is not JSON.
func CheckItems(t testing.TB, items []domain.PlatformItem) {
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

// OddBodies are edge seeds: nothing, JSON that is no object, and deep nesting (inside an
// element the parser reads, and bare).
func OddBodies(wrap func(elem string) string) [][]byte {
	deep := strings.Repeat(`{"a":[`, 2000) + `1` + strings.Repeat(`]}`, 2000)
	return [][]byte{nil, []byte(`null`), []byte(`[]`), []byte(`{}`), []byte(`"x"`), []byte(`{"a":1}{`),
		[]byte(wrap(`null`)), []byte(wrap(`7`)), []byte(wrap(`{}`)), []byte(wrap(deep)), []byte(deep),
		[]byte(strings.Repeat(`[`, 20000))}
}
