// Package whatsapp is the WhatsApp Cloud API's webhook adapter: the Meta handshake and
// signature (adapters/platforms/meta) and bodies with object "whatsapp_business_account",
// entry[].changes[] of field "messages" holding messages[] or statuses[]. The link's
// platform_id is the business phone_number_id (value.metadata.phone_number_id; entry.id is
// the WhatsApp Business Account, which may hold several numbers); the prospect is the wa_id,
// named by contacts[].profile.name.
//
//	messages[] text / button / interactive reply  PlatformMessage, Inbound (the text or tapped title)
//	messages[] image, video, audio, document,     PlatformMessage with the attachment (document → file)
//	           sticker                            and the caption as text
//	messages[].context.id                         ReplyToPlatformMessageID
//	messages[] reaction, location, contacts, …    PlatformOther under the message type
//	statuses[] sent, delivered                    PlatformDelivered
//	statuses[] read                               PlatformSeen at the status time
//	statuses[] failed                             PlatformFailed, reason = errors[0].title
//	statuses[] deleted, warning, …                PlatformOther "status_<status>"
//	a value of another phone_number_id            PlatformOther "foreign_account"
//	changes[] of another field                    PlatformOther under the field
//
// Times are epoch seconds sent as strings.
package whatsapp

import (
	"encoding/json"
	"strconv"
	"strings"
	"time"

	"github.com/switchboard-oss/switchboard/adapters/platforms"
	"github.com/switchboard-oss/switchboard/adapters/platforms/meta"
	"github.com/switchboard-oss/switchboard/domain"
)

// Object is the "object" of WhatsApp webhook bodies.
const Object = "whatsapp_business_account"

// KindInvalidStatus: a status without the message id or the recipient.
const KindInvalidStatus = "invalid_status"

type webhook struct{ meta.Signed }

// NewWebhook returns the WhatsApp webhook adapter.
func NewWebhook() platforms.Webhook { return webhook{} }

func (webhook) Platform() domain.Platform { return domain.PlatformWhatsApp }

// Parse turns every message and status into an item carrying its own JSON as Raw. A change of
// another field (account_update, message_template_status_update, smb_message_echoes, …) is
// recorded raw under its field name.
func (webhook) Parse(body []byte, link platforms.Link) ([]domain.PlatformItem, error) {
	entries, err := meta.Entries(body, Object)
	if err != nil {
		return nil, err
	}
	var items []domain.PlatformItem
	for _, raw := range entries {
		var e struct {
			Changes []json.RawMessage `json:"changes"`
		}
		if err := json.Unmarshal(raw, &e); err != nil {
			items = append(items, meta.Other(meta.KindMalformed, raw, time.Time{}))
			continue
		}
		for _, ch := range e.Changes {
			items = append(items, change(ch, link.PlatformID)...)
		}
	}
	return items, nil
}

type value struct {
	Metadata struct {
		PhoneNumberID meta.ID `json:"phone_number_id"`
	} `json:"metadata"`
	Contacts json.RawMessage   `json:"contacts"`
	Messages []json.RawMessage `json:"messages"`
	Statuses []json.RawMessage `json:"statuses"`
	Errors   json.RawMessage   `json:"errors"`
}

func change(raw json.RawMessage, account string) []domain.PlatformItem {
	var c struct {
		Field string          `json:"field"`
		Value json.RawMessage `json:"value"`
	}
	if err := json.Unmarshal(raw, &c); err != nil {
		return []domain.PlatformItem{meta.Other(meta.KindMalformed, raw, time.Time{})}
	}
	if c.Field != "messages" {
		kind := c.Field
		if kind == "" || len(kind) > 64 {
			kind = "change"
		}
		return []domain.PlatformItem{meta.Other(kind, raw, time.Time{})}
	}
	var v value
	if err := json.Unmarshal(c.Value, &v); err != nil {
		return []domain.PlatformItem{meta.Other(meta.KindMalformed, raw, time.Time{})}
	}
	if account == "" || string(v.Metadata.PhoneNumberID) != account {
		// Another number of the same business account: its events belong to its own link.
		return []domain.PlatformItem{meta.Other(meta.KindForeignAccount, raw, time.Time{})}
	}
	names := contactNames(v.Contacts)
	var items []domain.PlatformItem
	for _, m := range v.Messages {
		items = append(items, messageItem(m, names))
	}
	for _, s := range v.Statuses {
		items = append(items, statusItem(s))
	}
	if len(v.Messages) == 0 && len(v.Statuses) == 0 && len(v.Errors) > 0 {
		// A notification of errors alone (no message or status to hang them on).
		items = append(items, meta.Other("errors", raw, time.Time{}))
	}
	return items
}

// contactNames maps wa_id → profile name. Contacts that do not decode only lose the name:
// the messages themselves are still read.
func contactNames(raw json.RawMessage) map[string]string {
	var cs []struct {
		WaID    meta.ID `json:"wa_id"`
		Profile struct {
			Name string `json:"name"`
		} `json:"profile"`
	}
	names := map[string]string{}
	if len(raw) == 0 || json.Unmarshal(raw, &cs) != nil {
		return names
	}
	for _, c := range cs {
		if c.WaID != "" && c.Profile.Name != "" {
			names[string(c.WaID)] = c.Profile.Name
		}
	}
	return names
}

type media struct {
	ID       meta.ID `json:"id"`
	MimeType string  `json:"mime_type"`
	Caption  string  `json:"caption"`
	Filename string  `json:"filename"`
	URL      string  `json:"url"`
}

type waMessage struct {
	ID        string   `json:"id"`
	From      meta.ID  `json:"from"`
	Timestamp meta.Int `json:"timestamp"`
	Type      string   `json:"type"`
	Context   *struct {
		ID string `json:"id"`
	} `json:"context"`
	Text *struct {
		Body string `json:"body"`
	} `json:"text"`
	Image    *media `json:"image"`
	Video    *media `json:"video"`
	Audio    *media `json:"audio"`
	Document *media `json:"document"`
	Sticker  *media `json:"sticker"`
	Button   *struct {
		Text string `json:"text"`
	} `json:"button"`
	Interactive *struct {
		ButtonReply *struct {
			Title string `json:"title"`
		} `json:"button_reply"`
		ListReply *struct {
			Title string `json:"title"`
		} `json:"list_reply"`
	} `json:"interactive"`
}

// messageItem reads one messages[] element. Text, media (with caption), template button taps
// and interactive replies are messages (the text is what the person sent or tapped);
// reactions, locations, contacts, orders, system and unsupported messages are recorded raw
// under their type.
func messageItem(raw json.RawMessage, names map[string]string) domain.PlatformItem {
	var m waMessage
	if err := json.Unmarshal(raw, &m); err != nil {
		return meta.Other(meta.KindMalformed, raw, time.Time{})
	}
	at := meta.Seconds(m.Timestamp)
	if m.ID == "" || m.From == "" {
		return meta.Other(meta.KindInvalidMessage, raw, at)
	}
	from := string(m.From)
	out := domain.PlatformMessage{PlatformMessageID: m.ID, Direction: domain.Inbound,
		Prospect: domain.Participant{PlatformID: from, DisplayName: names[from]}, SentAt: at, Raw: raw}
	if m.Context != nil {
		out.ReplyToPlatformMessageID = m.Context.ID
	}
	attach := func(typ string, md *media) domain.PlatformItem {
		if md == nil {
			return meta.Other(meta.KindInvalidMessage, raw, at)
		}
		out.Text = md.Caption
		out.Attachments = []domain.Attachment{{Type: typ, URL: md.URL, MimeType: md.MimeType, PlatformID: string(md.ID), Name: md.Filename}}
		return out
	}
	switch m.Type {
	case "text":
		if m.Text == nil {
			return meta.Other(meta.KindInvalidMessage, raw, at)
		}
		out.Text = m.Text.Body
		return out
	case "image":
		return attach("image", m.Image)
	case "video":
		return attach("video", m.Video)
	case "audio":
		return attach("audio", m.Audio)
	case "document":
		return attach("file", m.Document)
	case "sticker":
		return attach("sticker", m.Sticker)
	case "button":
		if m.Button == nil {
			return meta.Other(meta.KindInvalidMessage, raw, at)
		}
		out.Text = m.Button.Text
		return out
	case "interactive":
		switch i := m.Interactive; {
		case i != nil && i.ButtonReply != nil:
			out.Text = i.ButtonReply.Title
			return out
		case i != nil && i.ListReply != nil:
			out.Text = i.ListReply.Title
			return out
		}
		return meta.Other("interactive", raw, at)
	case "":
		return meta.Other(meta.KindUnknown, raw, at)
	}
	kind := strings.TrimSpace(m.Type)
	if kind == "" || len(kind) > 64 {
		kind = meta.KindUnknown
	}
	return meta.Other(kind, raw, at)
}

type waStatus struct {
	ID          string   `json:"id"`
	Status      string   `json:"status"`
	Timestamp   meta.Int `json:"timestamp"`
	RecipientID meta.ID  `json:"recipient_id"`
	Errors      []struct {
		Code    meta.Int `json:"code"`
		Title   string   `json:"title"`
		Message string   `json:"message"`
	} `json:"errors"`
}

// statusItem reads one statuses[] element: what became of a message the team sent.
func statusItem(raw json.RawMessage) domain.PlatformItem {
	var s waStatus
	if err := json.Unmarshal(raw, &s); err != nil {
		return meta.Other(meta.KindMalformed, raw, time.Time{})
	}
	at := meta.Seconds(s.Timestamp)
	prospect := string(s.RecipientID)
	if s.ID == "" || prospect == "" {
		return meta.Other(KindInvalidStatus, raw, at)
	}
	switch s.Status {
	case "sent", "delivered":
		// sent: WhatsApp accepted it (for our reply, what its echo would say); delivered: on the phone.
		return domain.PlatformDelivered{Accepted: s.Status == "sent", PlatformMessageIDs: []string{s.ID}, ProspectPlatformID: prospect, At: at}
	case "read":
		if at.IsZero() {
			return meta.Other(KindInvalidStatus, raw, at)
		}
		// WhatsApp marks every earlier message read with it.
		return domain.PlatformSeen{ProspectPlatformID: prospect, Watermark: at, PlatformMessageID: s.ID}
	case "failed":
		// A stable reason code (the failure_reason clients rely on) and WhatsApp's own code.
		reason, code := platforms.ReasonPlatform, ""
		if len(s.Errors) > 0 && s.Errors[0].Code != 0 {
			e := s.Errors[0]
			code = strconv.FormatInt(int64(e.Code), 10)
			if r := (&meta.GraphError{Code: int(e.Code)}).SendError(platforms.HTTPResult{}).Reason; r != platforms.ReasonInvalid {
				reason = r
			}
		}
		return domain.PlatformFailed{PlatformMessageID: s.ID, ProspectPlatformID: prospect, Reason: reason, Code: code, At: at}
	}
	// deleted, warning, played, …
	kind := "status_" + s.Status
	if s.Status == "" || len(kind) > 64 {
		kind = KindInvalidStatus
	}
	return meta.Other(kind, raw, at)
}
