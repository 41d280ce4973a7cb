package meta

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"time"

	"github.com/switchboard-oss/switchboard/adapters/platforms"
	"github.com/switchboard-oss/switchboard/domain"
)

// Kinds of domain.PlatformOther the Meta adapters record (raw, counted in
// switchboard_platform_unhandled_total). An event kind nobody models is recorded under its own
// key instead (optin, referral, pass_thread_control, …; WhatsApp: location, contacts, …).
const (
	// KindForeignAccount: an element about another Page / Instagram account / phone number
	// than the link's. A Meta app posts every account's events to one callback URL, so it is
	// the team's own app (the signature proved it) but not this link's conversation: kept
	// raw, never attributed to this link.
	KindForeignAccount = "foreign_account"
	// KindMalformed: an element that does not decode (a field of the wrong type).
	KindMalformed = "malformed"
	// KindInvalidMessage / KindInvalidEdit: no message id or no other participant.
	KindInvalidMessage = "invalid_message"
	KindInvalidEdit    = "invalid_edit"
	// KindReaction: a reaction to a message (no domain item models reactions yet).
	KindReaction = "reaction"
	// KindPostback: a button tap without a message id or title to show.
	KindPostback = "postback"
	// KindUnsupported: Instagram's is_unsupported message (content the API does not expose).
	KindUnsupported = "unsupported_message"
	// KindDelivery / KindRead: a receipt without message ids / without any time.
	KindDelivery = "delivery"
	KindRead     = "read"
	// KindUnknown: an element with nothing but sender, recipient and time.
	KindUnknown = "unknown"
)

// Entries decodes a Graph webhook body, {"object": …, "entry": [...]}, and returns its
// entries undecoded. An error means the body is not this product's webhook at all (the
// endpoint answers 400); anything odd inside an entry is the caller's to record raw.
func Entries(body []byte, object string) ([]json.RawMessage, error) {
	var env struct {
		Object *string           `json:"object"`
		Entry  []json.RawMessage `json:"entry"`
	}
	if err := json.Unmarshal(body, &env); err != nil {
		return nil, fmt.Errorf("meta: body is not a webhook object: %w", err)
	}
	switch {
	case env.Object == nil:
		return nil, errors.New(`meta: body has no "object"`)
	case *env.Object != object:
		return nil, fmt.Errorf("meta: object %q, want %q", *env.Object, object)
	case env.Entry == nil:
		return nil, errors.New(`meta: body has no "entry" array`)
	}
	return env.Entry, nil
}

// Other records an element raw under a kind.
func Other(kind string, raw json.RawMessage, at time.Time) domain.PlatformOther {
	return domain.PlatformOther{Kind: kind, Raw: raw, At: at}
}

// ParseMessaging parses a Messenger Platform webhook body: object "page" (Messenger) or
// "instagram" (Instagram Messaging), entry[].messaging[] (and Messenger's entry[].standby[],
// the events of a conversation another app currently owns, read alike). Every element becomes
// items carrying its own JSON as Raw, so a parser fix can be replayed over the log.
func ParseMessaging(body []byte, object string, link platforms.Link) ([]domain.PlatformItem, error) {
	entries, err := Entries(body, object)
	if err != nil {
		return nil, err
	}
	var items []domain.PlatformItem
	for _, raw := range entries {
		var e struct {
			ID        ID                `json:"id"`
			Time      Int               `json:"time"`
			Messaging []json.RawMessage `json:"messaging"`
			Standby   []json.RawMessage `json:"standby"`
			Changes   []json.RawMessage `json:"changes"`
		}
		if err := json.Unmarshal(raw, &e); err != nil {
			items = append(items, Other(KindMalformed, raw, time.Time{}))
			continue
		}
		c := conversation{account: link.PlatformID, entryID: string(e.ID), entryTime: Millis(e.Time)}
		for _, m := range append(e.Messaging, e.Standby...) {
			items = append(items, c.item(m))
		}
		for _, ch := range e.Changes {
			items = append(items, Other(changeKind(ch), ch, c.entryTime))
		}
	}
	return items, nil
}

// changeKind names an entry[].changes[] element (Page feed, Instagram comments, …) by its
// field: those are subscriptions outside direct messages.
func changeKind(raw json.RawMessage) string {
	var c struct {
		Field string `json:"field"`
	}
	if json.Unmarshal(raw, &c) != nil || c.Field == "" {
		return "change"
	}
	return c.Field
}

// conversation is what one entry says about whose events these are.
type conversation struct {
	account, entryID string
	entryTime        time.Time
}

type party struct {
	ID ID `json:"id"`
}

// messagingItem is one entry[].messaging[] element. Exactly one event field is set.
type messagingItem struct {
	Sender      party        `json:"sender"`
	Recipient   party        `json:"recipient"`
	Timestamp   Int          `json:"timestamp"`
	Message     *message     `json:"message"`
	MessageEdit *messageEdit `json:"message_edit"`
	Read        *struct {
		Watermark Int    `json:"watermark"`
		Mid       string `json:"mid"`
	} `json:"read"`
	Delivery *struct {
		Mids      []string `json:"mids"`
		Watermark Int      `json:"watermark"`
	} `json:"delivery"`
	Reaction json.RawMessage `json:"reaction"`
	Postback *struct {
		Mid   string `json:"mid"`
		Title string `json:"title"`
	} `json:"postback"`
}

type message struct {
	Mid           string       `json:"mid"`
	Text          string       `json:"text"`
	IsEcho        bool         `json:"is_echo"`
	Metadata      string       `json:"metadata"`
	IsDeleted     bool         `json:"is_deleted"`
	IsUnsupported bool         `json:"is_unsupported"`
	Attachments   []attachment `json:"attachments"`
	ReplyTo       *struct {
		Mid   string `json:"mid"`
		Story *struct {
			URL string `json:"url"`
			ID  ID     `json:"id"`
		} `json:"story"`
	} `json:"reply_to"`
}

type messageEdit struct {
	Mid  string `json:"mid"`
	Text string `json:"text"`
}

type attachment struct {
	Type    string `json:"type"`
	URL     string `json:"url"`   // template echoes put it here
	Title   string `json:"title"` // and here
	Payload struct {
		URL          string `json:"url"`
		Title        string `json:"title"`
		StickerID    ID     `json:"sticker_id"`
		AttachmentID ID     `json:"attachment_id"`
	} `json:"payload"`
}

// item turns one messaging element into one item.
func (c conversation) item(raw json.RawMessage) domain.PlatformItem {
	var m messagingItem
	if err := json.Unmarshal(raw, &m); err != nil {
		return Other(KindMalformed, raw, c.entryTime)
	}
	at := FirstTime(Millis(m.Timestamp), c.entryTime)
	sender, recipient := string(m.Sender.ID), string(m.Recipient.ID)
	// The account is a participant of every element about it; entry.id names it too, but
	// published samples disagree with their own participants, so either one suffices.
	if c.account == "" || (c.entryID != c.account && sender != c.account && recipient != c.account) {
		return Other(KindForeignAccount, raw, at)
	}
	// The prospect is the other participant: the recipient when the account wrote (an echo).
	outbound := m.Message != nil && m.Message.IsEcho || sender == c.account
	prospect := sender
	if outbound {
		prospect = recipient
	}
	switch {
	case m.Message != nil:
		return c.message(raw, m.Message, outbound, prospect, at)
	case m.MessageEdit != nil:
		if m.MessageEdit.Mid == "" || prospect == "" {
			return Other(KindInvalidEdit, raw, at)
		}
		return domain.PlatformEdit{PlatformMessageID: m.MessageEdit.Mid, ProspectPlatformID: prospect,
			Text: m.MessageEdit.Text, EditedAt: at, Raw: raw}
	case m.Read != nil:
		// Messenger sends a watermark; Instagram the mid of the last message seen, so the
		// element's own time is the best watermark there is.
		w := FirstTime(Millis(m.Read.Watermark), at)
		if w.IsZero() || prospect == "" {
			return Other(KindRead, raw, at)
		}
		return domain.PlatformSeen{ProspectPlatformID: prospect, Watermark: w}
	case m.Delivery != nil:
		mids := nonEmpty(m.Delivery.Mids)
		if len(mids) == 0 || prospect == "" {
			// A bare watermark names no message; resolving it needs the read model.
			return Other(KindDelivery, raw, at)
		}
		return domain.PlatformDelivered{PlatformMessageIDs: mids, ProspectPlatformID: prospect,
			At: FirstTime(Millis(m.Timestamp), Millis(m.Delivery.Watermark), c.entryTime)}
	case m.Reaction != nil && !isNull(m.Reaction):
		return Other(KindReaction, raw, at)
	case m.Postback != nil:
		// The tapped button's title shows in the conversation as the person's own message
		// (an Instagram ice breaker is often the first contact), so with a mid it is one.
		if m.Postback.Mid == "" || m.Postback.Title == "" || prospect == "" || outbound {
			return Other(KindPostback, raw, at)
		}
		return domain.PlatformMessage{PlatformMessageID: m.Postback.Mid, Direction: domain.Inbound,
			Prospect: domain.Participant{PlatformID: prospect}, Text: m.Postback.Title, SentAt: at, Raw: raw}
	}
	return Other(eventKind(raw), raw, at)
}

func (c conversation) message(raw json.RawMessage, m *message, outbound bool, prospect string, at time.Time) domain.PlatformItem {
	switch {
	case m.Mid == "" || prospect == "":
		return Other(KindInvalidMessage, raw, at)
	case m.IsDeleted:
		return domain.PlatformDelete{PlatformMessageID: m.Mid, ProspectPlatformID: prospect, DeletedAt: at, Raw: raw}
	case m.IsUnsupported:
		return Other(KindUnsupported, raw, at)
	}
	out := domain.PlatformMessage{PlatformMessageID: m.Mid, Direction: domain.Inbound,
		Prospect: domain.Participant{PlatformID: prospect}, Text: m.Text, SentAt: at, Raw: raw}
	if outbound {
		out.Direction, out.Sender = domain.Outbound, domain.Participant{PlatformID: c.account}
		if domain.HasPrefix(m.Metadata, domain.PrefixMessage) {
			// Our sender puts the reply's msg_ id in metadata: the echo maps back to it.
			out.ClientMessageID = m.Metadata
		}
	}
	for _, a := range m.Attachments {
		out.Attachments = append(out.Attachments, attachmentOf(a))
	}
	if r := m.ReplyTo; r != nil {
		out.ReplyToPlatformMessageID = r.Mid
		if r.Story != nil {
			// A reply to a story: the story is what the message is about.
			out.Attachments = append(out.Attachments, domain.Attachment{Type: "story", URL: r.Story.URL, PlatformID: string(r.Story.ID)})
		}
	}
	return out
}

// attachmentOf maps Meta's attachment types onto Switchboard's (image, video, audio, file,
// sticker, share, story). Rich elements (fallback links, templates, shared posts and reels)
// are shares; a type nobody knows keeps its URL as a file.
func attachmentOf(a attachment) domain.Attachment {
	p := a.Payload
	out := domain.Attachment{URL: firstNonEmpty(p.URL, a.URL), PlatformID: string(p.AttachmentID)}
	switch a.Type {
	case "image", "video", "audio", "file":
		out.Type = a.Type
		if p.StickerID != "" {
			// Until Aug 2026 Messenger sends stickers as images with a sticker_id too.
			out.Type, out.PlatformID = "sticker", string(p.StickerID)
		}
	case "sticker":
		out.Type, out.PlatformID = "sticker", firstNonEmpty(string(p.StickerID), out.PlatformID)
	case "story_mention":
		out.Type = "story"
	case "fallback", "share", "template", "reel", "ig_reel", "ig_post", "post", "location", "link":
		out.Type, out.Name = "share", firstNonEmpty(p.Title, a.Title)
	default:
		out.Type = "file"
	}
	return out
}

// eventKind names an element Switchboard does not model by its event field (the key that is
// not sender, recipient or timestamp): optin, referral, account_linking, …
func eventKind(raw json.RawMessage) string {
	var fields map[string]json.RawMessage
	if json.Unmarshal(raw, &fields) != nil {
		return KindMalformed
	}
	keys := make([]string, 0, len(fields))
	for k := range fields {
		if k != "sender" && k != "recipient" && k != "timestamp" && k != "" && len(k) <= 64 {
			keys = append(keys, k)
		}
	}
	if len(keys) == 0 {
		return KindUnknown
	}
	sort.Strings(keys)
	return keys[0]
}

func nonEmpty(ss []string) []string {
	var out []string
	for _, s := range ss {
		if s != "" {
			out = append(out, s)
		}
	}
	return out
}

func firstNonEmpty(ss ...string) string {
	for _, s := range ss {
		if s != "" {
			return s
		}
	}
	return ""
}

// isNull reports a JSON null (an absent value for our purposes).
func isNull(raw json.RawMessage) bool { return bytes.Equal(bytes.TrimSpace(raw), []byte("null")) }
