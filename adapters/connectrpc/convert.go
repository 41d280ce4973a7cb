package connectrpc

import (
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/switchboard-oss/switchboard/domain"
	"github.com/switchboard-oss/switchboard/projections"
	v1 "github.com/switchboard-oss/switchboard/proto/gen/switchboard/v1"
)

var platformToProto = map[string]v1.Platform{
	"api": v1.Platform_PLATFORM_API, "messenger": v1.Platform_PLATFORM_MESSENGER,
	"instagram": v1.Platform_PLATFORM_INSTAGRAM, "whatsapp": v1.Platform_PLATFORM_WHATSAPP,
	"telegram": v1.Platform_PLATFORM_TELEGRAM, "x": v1.Platform_PLATFORM_X,
	"bluesky": v1.Platform_PLATFORM_BLUESKY, "reddit": v1.Platform_PLATFORM_REDDIT,
}

// platformFromProto maps an API platform; unspecified is the zero Platform. An unknown number
// is bad input naming the field.
func platformFromProto(field string, p v1.Platform) (domain.Platform, error) {
	if p == v1.Platform_PLATFORM_UNSPECIFIED {
		return domain.Platform{}, nil
	}
	for name, v := range platformToProto {
		if v == p {
			return domain.ParsePlatform(name)
		}
	}
	return domain.Platform{}, domain.Invalid(field, "unknown platform %d", int32(p))
}

func directionToProto(d string) v1.Direction {
	switch d {
	case "inbound":
		return v1.Direction_DIRECTION_INBOUND
	case "outbound":
		return v1.Direction_DIRECTION_OUTBOUND
	}
	return v1.Direction_DIRECTION_UNSPECIFIED
}

func directionFromProto(field string, d v1.Direction) (domain.Direction, error) {
	switch d {
	case v1.Direction_DIRECTION_UNSPECIFIED:
		return domain.Direction{}, nil
	case v1.Direction_DIRECTION_INBOUND:
		return domain.Inbound, nil
	case v1.Direction_DIRECTION_OUTBOUND:
		return domain.Outbound, nil
	}
	return domain.Direction{}, domain.Invalid(field, "unknown direction %d", int32(d))
}

func viewFromProto(v v1.View) (projections.View, error) {
	switch v {
	case v1.View_VIEW_UNSPECIFIED, v1.View_VIEW_INBOX:
		return projections.ViewInbox, nil
	case v1.View_VIEW_NO_REPLY:
		return projections.ViewNoReply, nil
	case v1.View_VIEW_REQUESTS:
		return projections.ViewRequests, nil
	case v1.View_VIEW_ARCHIVED:
		return projections.ViewArchived, nil
	case v1.View_VIEW_ALL:
		return projections.ViewAll, nil
	}
	return 0, domain.Invalid("view", "unknown view %d", int32(v))
}

func ts(t time.Time) *timestamppb.Timestamp {
	if t.IsZero() {
		return nil
	}
	return timestamppb.New(t)
}

func tagToProto(t projections.Tag) *v1.Tag {
	return &v1.Tag{Id: t.ID, Name: t.Name, Color: t.Color}
}

func statusToProto(s projections.Status) *v1.Status {
	return &v1.Status{Id: s.ID, Name: s.Name, Position: s.Position}
}

func memberToProto(m projections.Member) *v1.Member {
	return &v1.Member{Id: m.ID, Email: m.Email, Name: m.Name, Role: m.Role}
}

func accountToProto(a projections.AccountLink) *v1.AccountLink {
	return &v1.AccountLink{Id: a.ID, Platform: platformToProto[a.Platform], PlatformId: a.PlatformID,
		Username: a.Username, DisplayName: a.DisplayName, WebhookPath: a.WebhookPath, Active: a.Active,
		HealthReason: a.HealthReason, Capabilities: capabilitiesToProto(a.Platform)}
}

// capabilitiesToProto serves the platform's capabilities (domain.CapabilitiesOf, the one map).
func capabilitiesToProto(platform string) *v1.Capabilities {
	p, err := domain.ParsePlatform(platform)
	if err != nil {
		return nil
	}
	c := domain.CapabilitiesOf(p)
	return &v1.Capabilities{Send: c.Send, TextLimit: int32(c.TextLimit), Attachments: c.Attachments,
		MaxAttachments: int32(c.MaxAttachments), TextWithAttachment: c.TextWithAttachment, ReplyTo: c.ReplyTo,
		Window: c.Window.String(), Edit: c.Edit, Unsend: c.Unsend, Templates: c.Templates}
}

func prospectToProto(p *projections.Prospect) *v1.Prospect {
	if p == nil {
		return nil
	}
	out := &v1.Prospect{Id: p.ID, Platform: platformToProto[p.Platform], PlatformId: p.PlatformID,
		Username: p.Username, DisplayName: p.DisplayName, AvatarUrl: p.AvatarURL, Notes: p.Notes,
		Valuation: p.Valuation, CustomFields: p.CustomFields, FirstSeenAt: ts(p.FirstSeenAt)}
	for _, t := range p.Tags {
		out.Tags = append(out.Tags, tagToProto(t))
	}
	if p.Status != nil {
		out.Status = statusToProto(*p.Status)
	}
	return out
}

func threadToProto(t projections.Thread) *v1.Thread {
	return &v1.Thread{Id: t.ID, Platform: platformToProto[t.Platform], PlatformId: t.PlatformID,
		AccountLinkId: t.AccountLinkID, Prospect: prospectToProto(t.Prospect),
		AssigneeMemberId: t.AssigneeMemberID, Done: t.Done, Request: t.Request,
		LastMessageText: t.LastMessageText, LastMessageDirection: directionToProto(t.LastMessageDirection),
		LastMessageAt: ts(t.LastMessageAt), UnreadCount: t.UnreadCount, MessageCount: t.MessageCount}
}

func messageToProto(m projections.Message) *v1.Message {
	out := &v1.Message{Id: m.ID, ThreadId: m.ThreadID, PlatformId: m.PlatformID,
		Platform: platformToProto[m.Platform], Direction: directionToProto(m.Direction),
		Text: m.Text, SentAt: ts(m.SentAt), Edited: m.Edited, Deleted: m.Deleted,
		ReplyToMessageId: m.ReplyToMessageID}
	out.Status, out.FailureReason = m.SendState()
	if m.SenderPlatformID != "" || m.SenderUsername != "" || m.SenderDisplayName != "" {
		out.Sender = &v1.Participant{PlatformId: m.SenderPlatformID, Username: m.SenderUsername,
			DisplayName: m.SenderDisplayName, AvatarUrl: m.SenderAvatarURL}
	}
	for _, a := range m.Attachments {
		out.Attachments = append(out.Attachments, &v1.Attachment{Type: a.Type, Url: a.URL,
			MimeType: a.MimeType, PlatformId: a.PlatformID, Name: a.Name})
	}
	return out
}

func capabilitiesOfProto(p v1.Platform) *v1.Capabilities {
	pl, err := platformFromProto("platform", p)
	if err != nil {
		return nil
	}
	return capabilitiesToProto(pl.String())
}
