package domain

import "strings"

// Platform is where a conversation happens. Only the values below exist.
type Platform struct{ name string }

var (
	PlatformAPI       = Platform{"api"}
	PlatformMessenger = Platform{"messenger"}
	PlatformInstagram = Platform{"instagram"}
	PlatformWhatsApp  = Platform{"whatsapp"}
	PlatformTelegram  = Platform{"telegram"}
	PlatformX         = Platform{"x"}
	PlatformBluesky   = Platform{"bluesky"}
	PlatformReddit    = Platform{"reddit"}
)

// Platforms lists every platform, in the API's enum order.
var Platforms = []Platform{PlatformAPI, PlatformMessenger, PlatformInstagram, PlatformWhatsApp,
	PlatformTelegram, PlatformX, PlatformBluesky, PlatformReddit}

// ParsePlatform returns the platform of a name (as in events and webhook paths).
func ParsePlatform(name string) (Platform, error) {
	for _, p := range Platforms {
		if p.name == strings.ToLower(name) {
			return p, nil
		}
	}
	return Platform{}, Invalid("platform", "unknown platform %q", name)
}

// String is the frozen name used in events and paths.
func (p Platform) String() string { return p.name }

// IsZero reports an unset platform.
func (p Platform) IsZero() bool { return p.name == "" }

// Direction says who wrote a message.
type Direction struct{ name string }

var (
	Inbound  = Direction{"inbound"}
	Outbound = Direction{"outbound"}
)

// ParseDirection returns the direction of a name.
func ParseDirection(name string) (Direction, error) {
	switch name {
	case "inbound":
		return Inbound, nil
	case "outbound":
		return Outbound, nil
	}
	return Direction{}, Invalid("direction", "must be inbound or outbound")
}

func (d Direction) String() string { return d.name }

// IsZero reports an unset direction.
func (d Direction) IsZero() bool { return d.name == "" }

// Origin says how an event arrived.
type Origin string

const (
	OriginWebhook  Origin = "webhook"
	OriginPoll     Origin = "poll"
	OriginAPI      Origin = "api"
	OriginBackfill Origin = "backfill"
	OriginSystem   Origin = "system"
)
