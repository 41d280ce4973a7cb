package whatsapp

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"

	"golang.org/x/time/rate"

	"github.com/switchboard-oss/switchboard/adapters/platforms"
	"github.com/switchboard-oss/switchboard/adapters/platforms/meta"
	"github.com/switchboard-oss/switchboard/domain"
)

type sender struct {
	base   string
	client *http.Client
}

// NewSender returns WhatsApp's sender: Cloud API POST /{phone number id}/messages with the
// token in the Authorization header; a quote is context.message_id; an attachment by URL is an
// image, video, audio or document message (text as its caption).
func NewSender(baseURLs platforms.BaseURLs) platforms.Sender {
	return &sender{base: strings.TrimRight(baseURLs.Get(domain.PlatformWhatsApp.String(), meta.DefaultGraphBaseURL), "/"), client: &http.Client{}}
}

func (*sender) Platform() domain.Platform { return domain.PlatformWhatsApp }

// Limit: Cloud API throughput is 80 messages per second per business phone number by default.
func (*sender) Limit() (rate.Limit, int) { return 80, 80 }

func (s *sender) Send(ctx context.Context, link platforms.Link, creds map[string]string, m platforms.Outbound) (platforms.Sent, error) {
	token := creds[meta.CredAccessToken]
	if token == "" {
		return platforms.Sent{}, &platforms.SendError{Reason: platforms.ReasonAuth, LinkFault: true, Detail: "no access_token in the link's credentials"}
	}
	body := map[string]any{"messaging_product": "whatsapp", "recipient_type": "individual", "to": m.Recipient}
	if t := m.Template; t != nil {
		// An approved template (the only message allowed outside the 24-hour window): its
		// body's {{n}} parameters as text.
		tmpl := map[string]any{"name": t.Name, "language": map[string]string{"code": t.Language}}
		if len(t.Parameters) > 0 {
			params := make([]map[string]string, len(t.Parameters))
			for i, v := range t.Parameters {
				params[i] = map[string]string{"type": "text", "text": v}
			}
			tmpl["components"] = []map[string]any{{"type": "body", "parameters": params}}
		}
		body["type"], body["template"] = "template", tmpl
	} else if len(m.Attachments) > 0 {
		a := m.Attachments[0]
		kind := a.Type
		if kind == "file" {
			kind = "document"
		}
		media := map[string]any{"link": a.URL}
		if m.Text != "" && kind != "audio" {
			media["caption"] = m.Text
		}
		if kind == "document" && a.Name != "" {
			media["filename"] = a.Name
		}
		body["type"], body[kind] = kind, media
	} else {
		body["type"], body["text"] = "text", map[string]any{"preview_url": false, "body": m.Text}
	}
	if m.ReplyTo != "" {
		body["context"] = map[string]string{"message_id": m.ReplyTo}
	}
	res, err := platforms.PostJSON(ctx, s.client, s.base+"/"+meta.DefaultGraphVersion+"/"+url.PathEscape(link.PlatformID)+"/messages",
		http.Header{"Authorization": {"Bearer " + token}}, body, token)
	if err != nil {
		return platforms.Sent{}, err
	}
	var a struct {
		Messages []struct {
			ID string `json:"id"`
		} `json:"messages"`
		Error *meta.GraphError `json:"error"`
	}
	if json.Unmarshal(res.Body, &a) != nil || res.Status/100 != 2 || a.Error != nil {
		if a.Error != nil {
			return platforms.Sent{}, a.Error.SendError(res, token)
		}
		return platforms.Sent{}, platforms.HTTPStatusError(res)
	}
	if len(a.Messages) == 0 || a.Messages[0].ID == "" {
		return platforms.Sent{}, &platforms.SendError{Reason: platforms.ReasonPlatform, Detail: "the answer names no message"}
	}
	return platforms.Sent{PlatformMessageID: a.Messages[0].ID}, nil
}
