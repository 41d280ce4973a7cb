package domain

import (
	"net/url"
	"regexp"
	"slices"
	"strings"
	"time"
)

// WindowRule is when a platform lets a business write to a person.
type WindowRule struct{ name string }

var (
	// WindowNone: any time.
	WindowNone = WindowRule{"none"}
	// WindowMeta: within 24 hours of the person's last message; up to 7 days with the
	// HUMAN_AGENT message tag, when the team enabled it on the link (Messenger, Instagram).
	WindowMeta = WindowRule{"meta_24h"}
	// WindowWhatsApp: free-form messages within 24 hours of the person's last message; outside
	// it only an approved template.
	WindowWhatsApp = WindowRule{"whatsapp_24h"}
)

func (w WindowRule) String() string { return w.name }

// Window lengths of the platforms' rules.
const (
	StandardWindow   = 24 * time.Hour
	HumanAgentWindow = 7 * 24 * time.Hour
)

// Capabilities are what Switchboard can do on a platform when it replies: the one place that
// says it, served to clients on every account link and checked by SendMessage.
type Capabilities struct {
	// Send: Switchboard has a sender for the platform.
	Send bool
	// TextLimit is the longest text accepted, in characters (Unicode code points).
	TextLimit int
	// Attachments are the kinds (image, video, audio, file) that can be sent by URL.
	Attachments []string
	// MaxAttachments bounds the attachments of one message.
	MaxAttachments int
	// TextWithAttachment: text and an attachment can travel in one message (as a caption).
	TextWithAttachment bool
	// ReplyTo: a reply can quote one of the conversation's messages.
	ReplyTo bool
	// Window is the platform's messaging window.
	Window WindowRule
	// Edit and Unsend: the platform lets the sender edit or delete a sent message.
	Edit, Unsend bool
	// Templates: SendMessage takes an approved message template, allowed outside the window.
	Templates bool
}

var capabilities = map[Platform]Capabilities{
	PlatformAPI: {Send: true, TextLimit: 65536, Attachments: []string{"image", "video", "audio", "file"}, MaxAttachments: 10,
		TextWithAttachment: true, ReplyTo: true, Window: WindowNone},
	PlatformTelegram: {Send: true, TextLimit: 4096, Attachments: []string{"image", "file"}, MaxAttachments: 1,
		TextWithAttachment: true, ReplyTo: true, Window: WindowNone, Edit: true, Unsend: true},
	PlatformMessenger: {Send: true, TextLimit: 2000, Attachments: []string{"image", "video", "audio", "file"}, MaxAttachments: 1,
		Window: WindowMeta, ReplyTo: false},
	PlatformInstagram: {Send: true, TextLimit: 1000, Attachments: []string{"image", "video", "audio"}, MaxAttachments: 1,
		Window: WindowMeta, ReplyTo: false, Unsend: true},
	PlatformWhatsApp: {Send: true, TextLimit: 4096, Attachments: []string{"image", "video", "audio", "file"}, MaxAttachments: 1,
		TextWithAttachment: true, ReplyTo: true, Window: WindowWhatsApp, Templates: true},
	// X: an image is uploaded first (media upload), then attached by its media id.
	PlatformX: {Send: true, TextLimit: 10000, Attachments: []string{"image"}, MaxAttachments: 1, TextWithAttachment: true,
		Window: WindowNone, Unsend: true},
	// Bluesky chat: text only (1000 graphemes; counted here as code points, never more), quoting
	// with replyTo.
	PlatformBluesky: {Send: true, TextLimit: 1000, ReplyTo: true, Window: WindowNone, Unsend: true},
	// Reddit private messages: Markdown text only (10,000 characters), in the message's thread.
	PlatformReddit: {Send: true, TextLimit: 10000, ReplyTo: true, Window: WindowNone},
}

// CapabilitiesOf returns a platform's capabilities (nothing for an unknown platform).
func CapabilitiesOf(p Platform) Capabilities {
	c := capabilities[p]
	c.Attachments = slices.Clone(c.Attachments)
	return c
}

// CheckOutgoing checks a reply against the platform's capabilities; bad input names the field.
func (c Capabilities) CheckOutgoing(p Platform, text string, atts []Attachment, replyTo bool) error {
	if !c.Send {
		return Precondition("sending messages on %s is not supported yet", p)
	}
	if text == "" && len(atts) == 0 {
		return Invalid("text", "is required unless attachments are given")
	}
	if n := len([]rune(text)); n > c.TextLimit {
		return Invalid("text", "is %d characters; %s accepts at most %d", n, p, c.TextLimit)
	}
	if len(atts) > 0 && len(c.Attachments) == 0 {
		return Invalid("attachments", "%s cannot send attachments (a %q attachment was given)", p, atts[0].Type)
	}
	if len(atts) > c.MaxAttachments {
		return Invalid("attachments", "%s sends at most %d attachment(s) per message", p, c.MaxAttachments)
	}
	if len(atts) > 0 && text != "" && !c.TextWithAttachment {
		return Invalid("text", "%s sends text and an attachment as separate messages: send them one by one", p)
	}
	for i, a := range atts {
		if !slices.Contains(c.Attachments, a.Type) {
			return Invalid("attachments", "attachment %d: %s cannot send a %q attachment (it sends %v)", i, p, a.Type, c.Attachments)
		}
		if !validURL(a.URL) {
			return Invalid("attachments", "attachment %d: url must be an absolute http(s) URL", i)
		}
	}
	if replyTo && !c.ReplyTo {
		return Invalid("reply_to_message_id", "%s cannot send a reply to a message", p)
	}
	return nil
}

// Template is an approved message template (WhatsApp) and its body's parameters, in order.
type Template struct {
	Name, Language string
	Parameters     []string
}

var (
	templateName     = regexp.MustCompile(`^[a-z0-9_]{1,512}$`)
	templateLanguage = regexp.MustCompile(`^[a-z]{2,3}(_[A-Za-z]{2,4})?$`)
)

// Summary is how a template reply reads in the thread (its text is the platform's, filled in
// from the approved template): "[template order_update en_US: Ada, #1234]".
func (t Template) Summary() string {
	s := "[template " + t.Name + " " + t.Language
	if len(t.Parameters) > 0 {
		s += ": " + strings.Join(t.Parameters, ", ")
	}
	return s + "]"
}

// CheckTemplate checks a reply that is a template: the platform takes templates, the name and
// language are well formed, and no text or attachment travels with it.
func (c Capabilities) CheckTemplate(p Platform, t Template, text string, atts []Attachment) error {
	if !c.Send {
		return Precondition("sending messages on %s is not supported yet", p)
	}
	if !c.Templates {
		return Invalid("template", "%s has no message templates", p)
	}
	if !templateName.MatchString(t.Name) {
		return Invalid("template.name", "must be the approved template's name (lowercase letters, digits and underscores)")
	}
	if !templateLanguage.MatchString(t.Language) {
		return Invalid("template.language", "must be a language code such as en or en_US, got %q", t.Language)
	}
	for i, v := range t.Parameters {
		if strings.TrimSpace(v) == "" {
			return Invalid("template.parameters", "parameter %d is empty", i+1)
		}
	}
	if text != "" || len(atts) > 0 {
		return Invalid("text", "a template carries its own text: leave text and attachments empty")
	}
	return nil
}

// MessageTagHumanAgent is Meta's tag for a person's answer after the standard window.
const MessageTagHumanAgent = "HUMAN_AGENT"

// WindowOpen decides whether a reply may be sent now, the last inbound message of the thread
// being at lastInbound (zero: none), and with which Meta message tag. humanAgent: the team
// enabled HUMAN_AGENT on the link.
func (w WindowRule) Open(now, lastInbound time.Time, humanAgent bool) (tag string, err error) {
	if w == WindowNone || w.IsZero() {
		return "", nil
	}
	since := now.Sub(lastInbound)
	if !lastInbound.IsZero() && since <= StandardWindow {
		return "", nil
	}
	switch w {
	case WindowMeta:
		if humanAgent && !lastInbound.IsZero() && since <= HumanAgentWindow {
			return MessageTagHumanAgent, nil
		}
		if humanAgent {
			return "", Precondition("meta_24h_window: the person last wrote more than 7 days ago (HUMAN_AGENT allows up to 7 days); wait for their next message")
		}
		return "", Precondition("meta_24h_window: the person last wrote more than 24 hours ago; enable human_agent on the link to answer up to 7 days, or wait for their next message")
	default:
		return "", Precondition("whatsapp_24h_window: the person last wrote more than 24 hours ago; outside the window WhatsApp accepts only an approved template (SendMessage template)")
	}
}

// IsZero reports an unset rule.
func (w WindowRule) IsZero() bool { return w.name == "" }

func validURL(s string) bool {
	u, err := url.Parse(s)
	return err == nil && (u.Scheme == "https" || u.Scheme == "http") && u.Host != ""
}
