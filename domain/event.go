package domain

import "time"

// Event is one immutable fact, as appended to the log.
type Event struct {
	ID            string
	TeamID        string
	Key           string // ordering key: prospect id, or team id for configuration
	OccurredAt    time.Time
	RecordedAt    time.Time
	Actor         string // member:<id>, platform:<name> or system
	Origin        Origin
	CausationID   string
	CorrelationID string
	Payload       Payload
}

// Type is the event's frozen type name.
func (e Event) Type() string { return e.Payload.EventType() }

// Payload is the fact an event carries. EventType returns its frozen name.
type Payload interface{ EventType() string }

// ActorMember names a member as an actor.
func ActorMember(memberID string) string { return "member:" + memberID }

// ActorPlatform names a platform as an actor.
func ActorPlatform(p Platform) string { return "platform:" + p.String() }

// ActorSystem is Switchboard itself.
const ActorSystem = "system"

// Participant is a person as a platform shows them.
type Participant struct {
	PlatformID  string
	Username    string
	DisplayName string
	AvatarURL   string
}

// Attachment is a file or rich element of a message.
type Attachment struct {
	Type       string
	URL        string
	MimeType   string
	PlatformID string
	Name       string
}

type TeamCreated struct{ TeamID, Name string }
type MemberAdded struct{ MemberID, Email, Name, Role string }
type APIKeyCreated struct {
	KeyID, MemberID, KeyHash string
	InstanceAdmin            bool
	Prefix                   string
}
type APIKeyRevoked struct{ KeyID, MemberID, Reason string }
type MemberRemoved struct{ MemberID string }
type TagCreated struct{ TagID, Name, Color string }
type TagDeleted struct{ TagID string }
type StatusCreated struct {
	StatusID, Name string
	Position       int32
}
type AccountLinked struct {
	AccountLinkID string
	Platform      Platform
	PlatformID    string
	Username      string
	DisplayName   string
	WebhookPath   string
}
type AccountUnlinked struct{ AccountLinkID string }
type AccountHealthChanged struct {
	AccountLinkID string
	Healthy       bool
	Reason        string
}

// AccountTokenRefreshed: Switchboard renewed a link's access token (never the token itself).
// ExpiresAt is when the new one expires (zero: it does not); the event's OccurredAt is when.
type AccountTokenRefreshed struct {
	AccountLinkID string
	ExpiresAt     time.Time
}
type MessageReceived struct {
	MessageID                string
	ThreadID                 string
	ProspectID               string
	AccountLinkID            string
	Platform                 Platform
	PlatformMessageID        string
	PlatformConversationID   string
	Direction                Direction
	Prospect                 Participant
	Sender                   Participant
	Text                     string
	Attachments              []Attachment
	SentAt                   time.Time
	ReplyToPlatformMessageID string
	ReplyToMessageID         string
	Raw                      []byte
	RawContentType           string
	Decision                 Decision
	// ClientMessageID is the id Switchboard gave the message when it sent it, as the platform
	// echoes it back (Meta's metadata), when it does.
	ClientMessageID string
	// Automated: a bot or an automation wrote this outbound message, not a person (response-time
	// analytics leave it out).
	Automated bool
}
type MessageSendRequested struct {
	MessageID, ThreadID, ProspectID, AccountLinkID string
	Platform                                       Platform
	Text                                           string
	Attachments                                    []Attachment
	Decision                                       Decision
	// Where it goes: the prospect's and the conversation's platform ids.
	RecipientPlatformID, PlatformConversationID string
	// The message it answers, when the platform can quote it.
	ReplyToMessageID, ReplyToPlatformMessageID string
	// MessageTag is the platform tag the window rule requires (Meta's HUMAN_AGENT), or "".
	MessageTag string
	// Template is the approved template sent instead of text (WhatsApp), or nil.
	Template *Template
}
type MessageSent struct {
	MessageID, ThreadID, ProspectID, PlatformMessageID string
	SentAt                                             time.Time
}
type MessageSendFailed struct {
	MessageID, ThreadID, ProspectID, Reason string
	Permanent                               bool
	// PlatformErrorCode is the platform's own code (e.g. Graph 10, Telegram 403), never a secret.
	PlatformErrorCode string
}

// MessageSendAttempted: a sender is about to call the platform with a pending reply. An attempt
// with no outcome after it (the sender died) is reconciled, never resent blindly.
type MessageSendAttempted struct {
	MessageID, ThreadID, ProspectID string
	Attempt                         int32
}

// MessageSendRetried: the team asked to send a failed reply again (the same message).
type MessageSendRetried struct{ MessageID, ThreadID, ProspectID string }

// MessageSendCancelled: the team withdrew a pending reply before any attempt.
type MessageSendCancelled struct{ MessageID, ThreadID, ProspectID string }

// MessageDeliveryUpdated: the platform delivered our reply, or the prospect read it.
type MessageDeliveryUpdated struct {
	MessageID, ThreadID, ProspectID string
	Status                          string // delivered or read
	At                              time.Time
}
type MessageEdited struct {
	MessageID, ThreadID, ProspectID, Text string
	Raw                                   []byte
}
type MessageDeleted struct {
	MessageID, ThreadID, ProspectID string
	Raw                             []byte
}
type ThreadRead struct{ ThreadID, ProspectID string }
type ThreadSeen struct {
	ThreadID, ProspectID string
	SeenAt               time.Time
}
type ThreadAssigned struct {
	ThreadID, ProspectID, MemberID string
	Decision                       Decision
}
type ThreadUnassigned struct{ ThreadID, ProspectID string }
type ThreadDone struct {
	ThreadID, ProspectID string
	Decision             Decision
}
type ThreadReopened struct{ ThreadID, ProspectID string }
type ProspectProfileUpdated struct {
	ProspectID  string
	Platform    Platform
	PlatformID  string
	Username    string
	DisplayName string
	AvatarURL   string
}
type ProspectTagged struct {
	ProspectID, TagID string
	Decision          Decision
}
type ProspectUntagged struct{ ProspectID, TagID string }
type ProspectStatusChanged struct {
	ProspectID, StatusID string
	Decision             Decision
}
type ProspectContextUpdated struct {
	ProspectID   string
	Notes        string
	Valuation    float64
	CustomFields map[string]string
}

type PlatformUnhandled struct {
	AccountLinkID  string
	Platform       Platform
	Kind           string
	Raw            []byte
	RawContentType string
}

// WebhookSubscriptionCreated: the team subscribed a URL to its events. The signing secret is
// derived from the instance's secret and the subscription id: it is never in an event.
type WebhookSubscriptionCreated struct {
	SubscriptionID, URL, Description, MemberID string
	EventTypes                                 []string
}

// WebhookSubscriptionUpdated: the subscription's settings after a change (all of them).
type WebhookSubscriptionUpdated struct {
	SubscriptionID, URL, Description string
	EventTypes                       []string
	Paused                           bool
}

// WebhookSubscriptionDeleted: nothing more is delivered to the subscription.
type WebhookSubscriptionDeleted struct{ SubscriptionID string }

// WebhookSubscriptionDisabled: Switchboard stopped delivering to a URL that failed for the
// whole retry window.
type WebhookSubscriptionDisabled struct{ SubscriptionID, Reason string }

// Frozen event type names. Never derived from Go names; never edited once released.
const (
	TypeTeamCreated            = "team.created.v1"
	TypeMemberAdded            = "member.added.v1"
	TypeAPIKeyCreated          = "api_key.created.v1"
	TypeAPIKeyRevoked          = "api_key.revoked.v1"
	TypeMemberRemoved          = "member.removed.v1"
	TypeTagCreated             = "tag.created.v1"
	TypeTagDeleted             = "tag.deleted.v1"
	TypeStatusCreated          = "status.created.v1"
	TypeAccountLinked          = "account.linked.v1"
	TypeAccountUnlinked        = "account.unlinked.v1"
	TypeAccountHealthChanged   = "account.health_changed.v1"
	TypeAccountTokenRefreshed  = "account.token_refreshed.v1"
	TypeMessageReceived        = "message.received.v1"
	TypeMessageSendRequested   = "message.send_requested.v1"
	TypeMessageSent            = "message.sent.v1"
	TypeMessageSendFailed      = "message.send_failed.v1"
	TypeMessageSendAttempted   = "message.send_attempted.v1"
	TypeMessageSendRetried     = "message.send_retried.v1"
	TypeMessageSendCancelled   = "message.send_cancelled.v1"
	TypeMessageDeliveryUpdated = "message.delivery_updated.v1"
	TypeMessageEdited          = "message.edited.v1"
	TypeMessageDeleted         = "message.deleted.v1"
	TypeThreadRead             = "thread.read.v1"
	TypeThreadSeen             = "thread.seen.v1"
	TypeThreadAssigned         = "thread.assigned.v1"
	TypeThreadUnassigned       = "thread.unassigned.v1"
	TypeThreadDone             = "thread.done.v1"
	TypeThreadReopened         = "thread.reopened.v1"
	TypeProspectProfileUpdated = "prospect.profile_updated.v1"
	TypeProspectTagged         = "prospect.tagged.v1"
	TypeProspectUntagged       = "prospect.untagged.v1"
	TypeProspectStatusChanged  = "prospect.status_changed.v1"
	TypeProspectContextUpdated = "prospect.context_updated.v1"
	TypePlatformUnhandled      = "platform.unhandled.v1"

	TypeWebhookSubscriptionCreated  = "webhook_subscription.created.v1"
	TypeWebhookSubscriptionUpdated  = "webhook_subscription.updated.v1"
	TypeWebhookSubscriptionDeleted  = "webhook_subscription.deleted.v1"
	TypeWebhookSubscriptionDisabled = "webhook_subscription.disabled.v1"
)

func (TeamCreated) EventType() string            { return TypeTeamCreated }
func (MemberAdded) EventType() string            { return TypeMemberAdded }
func (APIKeyCreated) EventType() string          { return TypeAPIKeyCreated }
func (APIKeyRevoked) EventType() string          { return TypeAPIKeyRevoked }
func (MemberRemoved) EventType() string          { return TypeMemberRemoved }
func (TagCreated) EventType() string             { return TypeTagCreated }
func (TagDeleted) EventType() string             { return TypeTagDeleted }
func (StatusCreated) EventType() string          { return TypeStatusCreated }
func (AccountLinked) EventType() string          { return TypeAccountLinked }
func (AccountUnlinked) EventType() string        { return TypeAccountUnlinked }
func (AccountHealthChanged) EventType() string   { return TypeAccountHealthChanged }
func (AccountTokenRefreshed) EventType() string  { return TypeAccountTokenRefreshed }
func (MessageReceived) EventType() string        { return TypeMessageReceived }
func (MessageSendRequested) EventType() string   { return TypeMessageSendRequested }
func (MessageSent) EventType() string            { return TypeMessageSent }
func (MessageSendFailed) EventType() string      { return TypeMessageSendFailed }
func (MessageSendAttempted) EventType() string   { return TypeMessageSendAttempted }
func (MessageSendRetried) EventType() string     { return TypeMessageSendRetried }
func (MessageSendCancelled) EventType() string   { return TypeMessageSendCancelled }
func (MessageDeliveryUpdated) EventType() string { return TypeMessageDeliveryUpdated }
func (MessageEdited) EventType() string          { return TypeMessageEdited }
func (MessageDeleted) EventType() string         { return TypeMessageDeleted }
func (ThreadRead) EventType() string             { return TypeThreadRead }
func (ThreadSeen) EventType() string             { return TypeThreadSeen }
func (ThreadAssigned) EventType() string         { return TypeThreadAssigned }
func (ThreadUnassigned) EventType() string       { return TypeThreadUnassigned }
func (ThreadDone) EventType() string             { return TypeThreadDone }
func (ThreadReopened) EventType() string         { return TypeThreadReopened }
func (ProspectProfileUpdated) EventType() string { return TypeProspectProfileUpdated }
func (ProspectTagged) EventType() string         { return TypeProspectTagged }
func (ProspectUntagged) EventType() string       { return TypeProspectUntagged }
func (ProspectStatusChanged) EventType() string  { return TypeProspectStatusChanged }
func (ProspectContextUpdated) EventType() string { return TypeProspectContextUpdated }
func (PlatformUnhandled) EventType() string      { return TypePlatformUnhandled }

func (WebhookSubscriptionCreated) EventType() string  { return TypeWebhookSubscriptionCreated }
func (WebhookSubscriptionUpdated) EventType() string  { return TypeWebhookSubscriptionUpdated }
func (WebhookSubscriptionDeleted) EventType() string  { return TypeWebhookSubscriptionDeleted }
func (WebhookSubscriptionDisabled) EventType() string { return TypeWebhookSubscriptionDisabled }

// EventTypes lists every frozen event type name.
func EventTypes() []string {
	return []string{
		TypeTeamCreated,
		TypeMemberAdded,
		TypeAPIKeyCreated,
		TypeAPIKeyRevoked,
		TypeMemberRemoved,
		TypeTagCreated,
		TypeTagDeleted,
		TypeStatusCreated,
		TypeAccountLinked,
		TypeAccountUnlinked,
		TypeAccountHealthChanged,
		TypeAccountTokenRefreshed,
		TypeMessageReceived,
		TypeMessageSendRequested,
		TypeMessageSent,
		TypeMessageSendFailed,
		TypeMessageSendAttempted,
		TypeMessageSendRetried,
		TypeMessageSendCancelled,
		TypeMessageDeliveryUpdated,
		TypeMessageEdited,
		TypeMessageDeleted,
		TypeThreadRead,
		TypeThreadSeen,
		TypeThreadAssigned,
		TypeThreadUnassigned,
		TypeThreadDone,
		TypeThreadReopened,
		TypeProspectProfileUpdated,
		TypeProspectTagged,
		TypeProspectUntagged,
		TypeProspectStatusChanged,
		TypeProspectContextUpdated,
		TypePlatformUnhandled,
		TypeWebhookSubscriptionCreated,
		TypeWebhookSubscriptionUpdated,
		TypeWebhookSubscriptionDeleted,
		TypeWebhookSubscriptionDisabled,
	}
}
