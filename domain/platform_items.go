package domain

import "time"

// PlatformItem is one fact a platform told us (in a webhook or a poll), normalized: every
// platform adapter turns its payloads into these, and one command turns them into events, so
// every path (webhook, poll, backfill, the API channel) derives the same ids.
type PlatformItem interface{ platformItem() }

// PlatformMessage: a message exists on the platform. Outbound when the team's account wrote it
// (a Meta echo, a message sent from the platform's own app).
type PlatformMessage struct {
	PlatformMessageID        string
	ConversationID           string // "" means the prospect's id: a one-to-one conversation
	Direction                Direction
	Prospect                 Participant // the external person, whichever the direction
	Sender                   Participant // who wrote it, when not the prospect (group chats)
	Text                     string
	Attachments              []Attachment
	SentAt                   time.Time
	ReplyToPlatformMessageID string
	Raw                      []byte
	// ClientMessageID: the msg_ id our sender attached to the message (Meta's metadata), seen
	// again in the platform's echo of our own reply.
	ClientMessageID string
	// Automated: a bot or an automation wrote this outbound message, not a person.
	Automated bool
}

// PlatformEdit: a message's text changed.
type PlatformEdit struct {
	PlatformMessageID  string
	ConversationID     string
	ProspectPlatformID string
	Text               string
	EditedAt           time.Time
	Raw                []byte
}

// PlatformDelete: a message was deleted (unsent).
type PlatformDelete struct {
	PlatformMessageID  string
	ConversationID     string
	ProspectPlatformID string
	DeletedAt          time.Time
	Raw                []byte
}

// PlatformSeen: the prospect read the team's messages up to a time.
type PlatformSeen struct {
	ConversationID     string
	ProspectPlatformID string
	Watermark          time.Time
	// PlatformMessageID names the message the status is about, when the platform names one
	// (WhatsApp's read status): that reply of ours becomes read.
	PlatformMessageID string
}

// PlatformDelivered: the platform delivered (or, Accepted, only accepted) messages the team sent.
type PlatformDelivered struct {
	Accepted           bool
	PlatformMessageIDs []string
	ConversationID     string
	ProspectPlatformID string
	At                 time.Time
}

// PlatformFailed: the platform refused a message the team sent.
type PlatformFailed struct {
	PlatformMessageID  string
	ConversationID     string
	ProspectPlatformID string
	Reason             string
	Code               string // the platform's error code, when it gives one
	At                 time.Time
}

// PlatformRead: the prospect read one message the team sent.
type PlatformRead struct {
	PlatformMessageID  string
	ConversationID     string
	ProspectPlatformID string
	At                 time.Time
}

// PlatformProfile: the platform shows a prospect's profile.
type PlatformProfile struct {
	Prospect Participant
}

// PlatformOther: a payload kind Switchboard does not model; it is recorded raw and counted,
// never dropped.
type PlatformOther struct {
	Kind string
	Raw  []byte
	At   time.Time
}

func (PlatformMessage) platformItem()   {}
func (PlatformEdit) platformItem()      {}
func (PlatformDelete) platformItem()    {}
func (PlatformSeen) platformItem()      {}
func (PlatformRead) platformItem()      {}
func (PlatformDelivered) platformItem() {}
func (PlatformFailed) platformItem()    {}
func (PlatformProfile) platformItem()   {}
func (PlatformOther) platformItem()     {}
