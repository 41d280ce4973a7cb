// Package projections builds the read model from the event log and answers the queries that
// read it. Projection rules and query semantics live here, once; adapters (adapters/sqlite,
// adapters/postgres) only store rows. Every read-model adapter passes the one conformance suite
// in projections/readmodeltest.
package projections

import "time"

// Team is a tenant.
type Team struct {
	ID, Name  string
	CreatedAt time.Time
}

// Member is a person of a team.
type Member struct {
	ID, TeamID, Email, Name, Role string
	CreatedAt                     time.Time
}

// APIKey is a key's hash and whom it acts as.
type APIKey struct {
	ID, TeamID, MemberID, Hash string
	InstanceAdmin              bool
	CreatedAt                  time.Time
	Prefix                     string    // the key's first characters ("" for first-release keys)
	LastUsedAt                 time.Time // zero: never seen used (kept to within a minute)
}

// Tag labels prospects.
type Tag struct{ ID, TeamID, Name, Color string }

// Status is a pipeline stage.
type Status struct {
	ID, TeamID, Name string
	Position         int32
}

// AccountLink is one of a team's platform accounts.
type AccountLink struct {
	ID, TeamID, Platform, PlatformID, Username, DisplayName, WebhookPath string
	// Active is true while linked and healthy.
	Active       bool
	Unlinked     bool
	Healthy      bool
	HealthReason string
	LinkedAt     time.Time
}

// Prospect is an external person on one platform.
type Prospect struct {
	ID, TeamID, Platform, PlatformID, Username, DisplayName, AvatarURL string
	StatusID                                                           string
	Notes                                                              string
	Valuation                                                          float64
	CustomFields                                                       map[string]string
	FirstSeenAt, LastSeenAt                                            time.Time
	// Filled by queries, not stored on the row.
	Tags   []Tag
	Status *Status
}

// Thread is one conversation.
type Thread struct {
	ID, TeamID, Platform, PlatformID, AccountLinkID, ProspectID string
	AssigneeMemberID                                            string
	Done, Request                                               bool
	LastMessageID, LastMessageText, LastMessageDirection        string
	LastMessageAt                                               time.Time
	UnreadCount, MessageCount                                   int32
	CreatedAt                                                   time.Time
	// Filled by queries.
	Prospect *Prospect
}

// Attachment of a message.
type Attachment struct {
	Type       string `json:"type"`
	URL        string `json:"url,omitempty"`
	MimeType   string `json:"mime_type,omitempty"`
	PlatformID string `json:"platform_id,omitempty"`
	Name       string `json:"name,omitempty"`
}

// Message is one message of a thread.
type Message struct {
	ID, TeamID, ThreadID, ProspectID, AccountLinkID, Platform, PlatformID string
	Direction                                                             string
	SenderPlatformID, SenderUsername, SenderDisplayName, SenderAvatarURL  string
	Text                                                                  string
	Attachments                                                           []Attachment
	SentAt                                                                time.Time
	Edited, Deleted                                                       bool
	ReplyToMessageID                                                      string
	Status                                                                string
}
