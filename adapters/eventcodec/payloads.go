package eventcodec

import (
	"fmt"

	"github.com/switchboard-oss/switchboard/domain"
	eventsv1 "github.com/switchboard-oss/switchboard/proto/gen/switchboard/events/v1"
)

// setPayload sets env's payload case from p. Only value payloads are accepted: a pointer would
// come back as a value and break equality of what was written with what is read.
func setPayload(env *eventsv1.Envelope, p domain.Payload) error {
	switch p := p.(type) {
	case domain.TeamCreated:
		env.Payload = &eventsv1.Envelope_TeamCreated{TeamCreated: &eventsv1.TeamCreated{TeamId: p.TeamID, Name: p.Name}}
	case domain.MemberAdded:
		env.Payload = &eventsv1.Envelope_MemberAdded{MemberAdded: &eventsv1.MemberAdded{MemberId: p.MemberID, Email: p.Email, Name: p.Name, Role: p.Role}}
	case domain.APIKeyCreated:
		env.Payload = &eventsv1.Envelope_ApiKeyCreated{ApiKeyCreated: &eventsv1.ApiKeyCreated{KeyId: p.KeyID, MemberId: p.MemberID, KeyHash: p.KeyHash, InstanceAdmin: p.InstanceAdmin, Prefix: p.Prefix}}
	case domain.APIKeyRevoked:
		env.Payload = &eventsv1.Envelope_ApiKeyRevoked{ApiKeyRevoked: &eventsv1.ApiKeyRevoked{KeyId: p.KeyID, MemberId: p.MemberID, Reason: p.Reason}}
	case domain.MemberRemoved:
		env.Payload = &eventsv1.Envelope_MemberRemoved{MemberRemoved: &eventsv1.MemberRemoved{MemberId: p.MemberID}}
	case domain.TagCreated:
		env.Payload = &eventsv1.Envelope_TagCreated{TagCreated: &eventsv1.TagCreated{TagId: p.TagID, Name: p.Name, Color: p.Color}}
	case domain.TagDeleted:
		env.Payload = &eventsv1.Envelope_TagDeleted{TagDeleted: &eventsv1.TagDeleted{TagId: p.TagID}}
	case domain.StatusCreated:
		env.Payload = &eventsv1.Envelope_StatusCreated{StatusCreated: &eventsv1.StatusCreated{StatusId: p.StatusID, Name: p.Name, Position: p.Position}}
	case domain.AccountLinked:
		env.Payload = &eventsv1.Envelope_AccountLinked{AccountLinked: &eventsv1.AccountLinked{
			AccountLinkId: p.AccountLinkID, Platform: platformName(p.Platform), PlatformId: p.PlatformID,
			Username: p.Username, DisplayName: p.DisplayName, WebhookPath: p.WebhookPath,
		}}
	case domain.AccountUnlinked:
		env.Payload = &eventsv1.Envelope_AccountUnlinked{AccountUnlinked: &eventsv1.AccountUnlinked{AccountLinkId: p.AccountLinkID}}
	case domain.AccountHealthChanged:
		env.Payload = &eventsv1.Envelope_AccountHealthChanged{AccountHealthChanged: &eventsv1.AccountHealthChanged{AccountLinkId: p.AccountLinkID, Healthy: p.Healthy, Reason: p.Reason}}
	case domain.WebhookSubscriptionCreated:
		env.Payload = &eventsv1.Envelope_WebhookSubscriptionCreated{WebhookSubscriptionCreated: &eventsv1.WebhookSubscriptionCreated{
			SubscriptionId: p.SubscriptionID, Url: p.URL, EventTypes: p.EventTypes, Description: p.Description, MemberId: p.MemberID}}
	case domain.WebhookSubscriptionUpdated:
		env.Payload = &eventsv1.Envelope_WebhookSubscriptionUpdated{WebhookSubscriptionUpdated: &eventsv1.WebhookSubscriptionUpdated{
			SubscriptionId: p.SubscriptionID, Url: p.URL, EventTypes: p.EventTypes, Description: p.Description, Paused: p.Paused}}
	case domain.WebhookSubscriptionDeleted:
		env.Payload = &eventsv1.Envelope_WebhookSubscriptionDeleted{WebhookSubscriptionDeleted: &eventsv1.WebhookSubscriptionDeleted{
			SubscriptionId: p.SubscriptionID}}
	case domain.WebhookSubscriptionDisabled:
		env.Payload = &eventsv1.Envelope_WebhookSubscriptionDisabled{WebhookSubscriptionDisabled: &eventsv1.WebhookSubscriptionDisabled{
			SubscriptionId: p.SubscriptionID, Reason: p.Reason}}
	case domain.AccountTokenRefreshed:
		env.Payload = &eventsv1.Envelope_AccountTokenRefreshed{AccountTokenRefreshed: &eventsv1.AccountTokenRefreshed{
			AccountLinkId: p.AccountLinkID, ExpiresAt: timestampOf(p.ExpiresAt)}}
	case domain.MessageReceived:
		env.Payload = &eventsv1.Envelope_MessageReceived{MessageReceived: &eventsv1.MessageReceived{
			MessageId:                p.MessageID,
			ThreadId:                 p.ThreadID,
			ProspectId:               p.ProspectID,
			AccountLinkId:            p.AccountLinkID,
			Platform:                 platformName(p.Platform),
			PlatformMessageId:        p.PlatformMessageID,
			PlatformConversationId:   p.PlatformConversationID,
			Direction:                p.Direction.String(),
			Prospect:                 participantToProto(p.Prospect),
			Sender:                   participantToProto(p.Sender),
			Text:                     p.Text,
			Attachments:              attachmentsToProto(p.Attachments),
			SentAt:                   timestampOf(p.SentAt),
			ReplyToPlatformMessageId: p.ReplyToPlatformMessageID,
			ReplyToMessageId:         p.ReplyToMessageID,
			Raw:                      p.Raw,
			RawContentType:           p.RawContentType,
			Decision:                 decisionToProto(p.Decision),
			ClientMessageId:          p.ClientMessageID,
			Automated:                p.Automated,
		}}
	case domain.MessageSendRequested:
		env.Payload = &eventsv1.Envelope_MessageSendRequested{MessageSendRequested: &eventsv1.MessageSendRequested{
			MessageId: p.MessageID, ThreadId: p.ThreadID, ProspectId: p.ProspectID, AccountLinkId: p.AccountLinkID,
			Platform: platformName(p.Platform), Text: p.Text, Attachments: attachmentsToProto(p.Attachments),
			Decision: decisionToProto(p.Decision), RecipientPlatformId: p.RecipientPlatformID,
			PlatformConversationId: p.PlatformConversationID, ReplyToMessageId: p.ReplyToMessageID,
			ReplyToPlatformMessageId: p.ReplyToPlatformMessageID, MessageTag: p.MessageTag, Template: templateToProto(p.Template),
		}}
	case domain.MessageSent:
		env.Payload = &eventsv1.Envelope_MessageSent{MessageSent: &eventsv1.MessageSent{MessageId: p.MessageID, ThreadId: p.ThreadID,
			ProspectId: p.ProspectID, PlatformMessageId: p.PlatformMessageID, SentAt: timestampOf(p.SentAt)}}
	case domain.MessageSendFailed:
		env.Payload = &eventsv1.Envelope_MessageSendFailed{MessageSendFailed: &eventsv1.MessageSendFailed{MessageId: p.MessageID, ThreadId: p.ThreadID,
			ProspectId: p.ProspectID, Reason: p.Reason, Permanent: p.Permanent, PlatformErrorCode: p.PlatformErrorCode}}
	case domain.MessageSendAttempted:
		env.Payload = &eventsv1.Envelope_MessageSendAttempted{MessageSendAttempted: &eventsv1.MessageSendAttempted{MessageId: p.MessageID,
			ThreadId: p.ThreadID, ProspectId: p.ProspectID, Attempt: p.Attempt}}
	case domain.MessageSendRetried:
		env.Payload = &eventsv1.Envelope_MessageSendRetried{MessageSendRetried: &eventsv1.MessageSendRetried{MessageId: p.MessageID,
			ThreadId: p.ThreadID, ProspectId: p.ProspectID}}
	case domain.MessageSendCancelled:
		env.Payload = &eventsv1.Envelope_MessageSendCancelled{MessageSendCancelled: &eventsv1.MessageSendCancelled{MessageId: p.MessageID,
			ThreadId: p.ThreadID, ProspectId: p.ProspectID}}
	case domain.MessageDeliveryUpdated:
		env.Payload = &eventsv1.Envelope_MessageDeliveryUpdated{MessageDeliveryUpdated: &eventsv1.MessageDeliveryUpdated{MessageId: p.MessageID,
			ThreadId: p.ThreadID, ProspectId: p.ProspectID, Status: p.Status, At: timestampOf(p.At)}}
	case domain.MessageEdited:
		env.Payload = &eventsv1.Envelope_MessageEdited{MessageEdited: &eventsv1.MessageEdited{MessageId: p.MessageID, ThreadId: p.ThreadID, ProspectId: p.ProspectID, Text: p.Text, Raw: p.Raw}}
	case domain.MessageDeleted:
		env.Payload = &eventsv1.Envelope_MessageDeleted{MessageDeleted: &eventsv1.MessageDeleted{MessageId: p.MessageID, ThreadId: p.ThreadID, ProspectId: p.ProspectID, Raw: p.Raw}}
	case domain.ThreadRead:
		env.Payload = &eventsv1.Envelope_ThreadRead{ThreadRead: &eventsv1.ThreadRead{ThreadId: p.ThreadID, ProspectId: p.ProspectID}}
	case domain.ThreadSeen:
		env.Payload = &eventsv1.Envelope_ThreadSeen{ThreadSeen: &eventsv1.ThreadSeen{ThreadId: p.ThreadID, ProspectId: p.ProspectID, SeenAt: timestampOf(p.SeenAt)}}
	case domain.ThreadAssigned:
		env.Payload = &eventsv1.Envelope_ThreadAssigned{ThreadAssigned: &eventsv1.ThreadAssigned{ThreadId: p.ThreadID, ProspectId: p.ProspectID, MemberId: p.MemberID, Decision: decisionToProto(p.Decision)}}
	case domain.ThreadUnassigned:
		env.Payload = &eventsv1.Envelope_ThreadUnassigned{ThreadUnassigned: &eventsv1.ThreadUnassigned{ThreadId: p.ThreadID, ProspectId: p.ProspectID}}
	case domain.ThreadDone:
		env.Payload = &eventsv1.Envelope_ThreadDone{ThreadDone: &eventsv1.ThreadDone{ThreadId: p.ThreadID, ProspectId: p.ProspectID, Decision: decisionToProto(p.Decision)}}
	case domain.ThreadReopened:
		env.Payload = &eventsv1.Envelope_ThreadReopened{ThreadReopened: &eventsv1.ThreadReopened{ThreadId: p.ThreadID, ProspectId: p.ProspectID}}
	case domain.ProspectProfileUpdated:
		env.Payload = &eventsv1.Envelope_ProspectProfileUpdated{ProspectProfileUpdated: &eventsv1.ProspectProfileUpdated{
			ProspectId: p.ProspectID, Platform: platformName(p.Platform), PlatformId: p.PlatformID,
			Username: p.Username, DisplayName: p.DisplayName, AvatarUrl: p.AvatarURL,
		}}
	case domain.ProspectTagged:
		env.Payload = &eventsv1.Envelope_ProspectTagged{ProspectTagged: &eventsv1.ProspectTagged{ProspectId: p.ProspectID, TagId: p.TagID, Decision: decisionToProto(p.Decision)}}
	case domain.ProspectUntagged:
		env.Payload = &eventsv1.Envelope_ProspectUntagged{ProspectUntagged: &eventsv1.ProspectUntagged{ProspectId: p.ProspectID, TagId: p.TagID}}
	case domain.ProspectStatusChanged:
		env.Payload = &eventsv1.Envelope_ProspectStatusChanged{ProspectStatusChanged: &eventsv1.ProspectStatusChanged{ProspectId: p.ProspectID, StatusId: p.StatusID, Decision: decisionToProto(p.Decision)}}
	case domain.ProspectContextUpdated:
		env.Payload = &eventsv1.Envelope_ProspectContextUpdated{ProspectContextUpdated: &eventsv1.ProspectContextUpdated{
			ProspectId: p.ProspectID, Notes: p.Notes, Valuation: p.Valuation, CustomFields: p.CustomFields,
		}}
	case domain.PlatformUnhandled:
		env.Payload = &eventsv1.Envelope_PlatformUnhandled{PlatformUnhandled: &eventsv1.PlatformUnhandled{
			AccountLinkId: p.AccountLinkID, Platform: platformName(p.Platform), Kind: p.Kind, Raw: p.Raw, RawContentType: p.RawContentType,
		}}
	default:
		return fmt.Errorf("unsupported payload type %T", p)
	}
	return nil
}

// payloadOf returns the domain payload of env's payload case.
func payloadOf(env *eventsv1.Envelope) (domain.Payload, error) {
	switch c := env.Payload.(type) {
	case *eventsv1.Envelope_TeamCreated:
		p := c.TeamCreated
		return domain.TeamCreated{TeamID: p.GetTeamId(), Name: p.GetName()}, nil
	case *eventsv1.Envelope_MemberAdded:
		p := c.MemberAdded
		return domain.MemberAdded{MemberID: p.GetMemberId(), Email: p.GetEmail(), Name: p.GetName(), Role: p.GetRole()}, nil
	case *eventsv1.Envelope_ApiKeyCreated:
		p := c.ApiKeyCreated
		return domain.APIKeyCreated{KeyID: p.GetKeyId(), MemberID: p.GetMemberId(), KeyHash: p.GetKeyHash(), InstanceAdmin: p.GetInstanceAdmin(), Prefix: p.GetPrefix()}, nil
	case *eventsv1.Envelope_ApiKeyRevoked:
		p := c.ApiKeyRevoked
		return domain.APIKeyRevoked{KeyID: p.GetKeyId(), MemberID: p.GetMemberId(), Reason: p.GetReason()}, nil
	case *eventsv1.Envelope_MemberRemoved:
		return domain.MemberRemoved{MemberID: c.MemberRemoved.GetMemberId()}, nil
	case *eventsv1.Envelope_TagCreated:
		p := c.TagCreated
		return domain.TagCreated{TagID: p.GetTagId(), Name: p.GetName(), Color: p.GetColor()}, nil
	case *eventsv1.Envelope_TagDeleted:
		return domain.TagDeleted{TagID: c.TagDeleted.GetTagId()}, nil
	case *eventsv1.Envelope_StatusCreated:
		p := c.StatusCreated
		return domain.StatusCreated{StatusID: p.GetStatusId(), Name: p.GetName(), Position: p.GetPosition()}, nil
	case *eventsv1.Envelope_AccountLinked:
		p := c.AccountLinked
		pl, err := parsePlatform(p.GetPlatform())
		if err != nil {
			return nil, err
		}
		return domain.AccountLinked{
			AccountLinkID: p.GetAccountLinkId(), Platform: pl, PlatformID: p.GetPlatformId(),
			Username: p.GetUsername(), DisplayName: p.GetDisplayName(), WebhookPath: p.GetWebhookPath(),
		}, nil
	case *eventsv1.Envelope_AccountUnlinked:
		return domain.AccountUnlinked{AccountLinkID: c.AccountUnlinked.GetAccountLinkId()}, nil
	case *eventsv1.Envelope_AccountHealthChanged:
		p := c.AccountHealthChanged
		return domain.AccountHealthChanged{AccountLinkID: p.GetAccountLinkId(), Healthy: p.GetHealthy(), Reason: p.GetReason()}, nil
	case *eventsv1.Envelope_WebhookSubscriptionCreated:
		p := c.WebhookSubscriptionCreated
		return domain.WebhookSubscriptionCreated{SubscriptionID: p.GetSubscriptionId(), URL: p.GetUrl(),
			EventTypes: emptyNilStrings(p.GetEventTypes()), Description: p.GetDescription(), MemberID: p.GetMemberId()}, nil
	case *eventsv1.Envelope_WebhookSubscriptionUpdated:
		p := c.WebhookSubscriptionUpdated
		return domain.WebhookSubscriptionUpdated{SubscriptionID: p.GetSubscriptionId(), URL: p.GetUrl(),
			EventTypes: emptyNilStrings(p.GetEventTypes()), Description: p.GetDescription(), Paused: p.GetPaused()}, nil
	case *eventsv1.Envelope_WebhookSubscriptionDeleted:
		return domain.WebhookSubscriptionDeleted{SubscriptionID: c.WebhookSubscriptionDeleted.GetSubscriptionId()}, nil
	case *eventsv1.Envelope_WebhookSubscriptionDisabled:
		p := c.WebhookSubscriptionDisabled
		return domain.WebhookSubscriptionDisabled{SubscriptionID: p.GetSubscriptionId(), Reason: p.GetReason()}, nil
	case *eventsv1.Envelope_AccountTokenRefreshed:
		p := c.AccountTokenRefreshed
		until, err := timeOf("expires_at", p.GetExpiresAt())
		if err != nil {
			return nil, err
		}
		return domain.AccountTokenRefreshed{AccountLinkID: p.GetAccountLinkId(), ExpiresAt: until}, nil
	case *eventsv1.Envelope_MessageReceived:
		p := c.MessageReceived
		pl, err := parsePlatform(p.GetPlatform())
		if err != nil {
			return nil, err
		}
		dir, err := parseDirection(p.GetDirection())
		if err != nil {
			return nil, err
		}
		sentAt, err := timeOf("sent_at", p.GetSentAt())
		if err != nil {
			return nil, err
		}
		return domain.MessageReceived{
			MessageID:                p.GetMessageId(),
			ThreadID:                 p.GetThreadId(),
			ProspectID:               p.GetProspectId(),
			AccountLinkID:            p.GetAccountLinkId(),
			Platform:                 pl,
			PlatformMessageID:        p.GetPlatformMessageId(),
			PlatformConversationID:   p.GetPlatformConversationId(),
			Direction:                dir,
			Prospect:                 participantFromProto(p.GetProspect()),
			Sender:                   participantFromProto(p.GetSender()),
			Text:                     p.GetText(),
			Attachments:              attachmentsFromProto(p.GetAttachments()),
			SentAt:                   sentAt,
			ReplyToPlatformMessageID: p.GetReplyToPlatformMessageId(),
			ReplyToMessageID:         p.GetReplyToMessageId(),
			Raw:                      emptyNil(p.GetRaw()),
			RawContentType:           p.GetRawContentType(),
			Decision:                 decisionFromProto(p.GetDecision()),
			ClientMessageID:          p.GetClientMessageId(),
			Automated:                p.GetAutomated(),
		}, nil
	case *eventsv1.Envelope_MessageSendRequested:
		p := c.MessageSendRequested
		pl, err := parsePlatform(p.GetPlatform())
		if err != nil {
			return nil, err
		}
		return domain.MessageSendRequested{
			MessageID: p.GetMessageId(), ThreadID: p.GetThreadId(), ProspectID: p.GetProspectId(), AccountLinkID: p.GetAccountLinkId(),
			Platform: pl, Text: p.GetText(), Attachments: attachmentsFromProto(p.GetAttachments()),
			Decision: decisionFromProto(p.GetDecision()), RecipientPlatformID: p.GetRecipientPlatformId(),
			PlatformConversationID: p.GetPlatformConversationId(), ReplyToMessageID: p.GetReplyToMessageId(),
			ReplyToPlatformMessageID: p.GetReplyToPlatformMessageId(), MessageTag: p.GetMessageTag(),
			Template: templateFromProto(p.GetTemplate()),
		}, nil
	case *eventsv1.Envelope_MessageSent:
		p := c.MessageSent
		at, err := timeOf("sent_at", p.GetSentAt())
		if err != nil {
			return nil, err
		}
		return domain.MessageSent{MessageID: p.GetMessageId(), ThreadID: p.GetThreadId(), ProspectID: p.GetProspectId(),
			PlatformMessageID: p.GetPlatformMessageId(), SentAt: at}, nil
	case *eventsv1.Envelope_MessageSendFailed:
		p := c.MessageSendFailed
		return domain.MessageSendFailed{MessageID: p.GetMessageId(), ThreadID: p.GetThreadId(), ProspectID: p.GetProspectId(),
			Reason: p.GetReason(), Permanent: p.GetPermanent(), PlatformErrorCode: p.GetPlatformErrorCode()}, nil
	case *eventsv1.Envelope_MessageSendAttempted:
		p := c.MessageSendAttempted
		return domain.MessageSendAttempted{MessageID: p.GetMessageId(), ThreadID: p.GetThreadId(), ProspectID: p.GetProspectId(),
			Attempt: p.GetAttempt()}, nil
	case *eventsv1.Envelope_MessageSendRetried:
		p := c.MessageSendRetried
		return domain.MessageSendRetried{MessageID: p.GetMessageId(), ThreadID: p.GetThreadId(), ProspectID: p.GetProspectId()}, nil
	case *eventsv1.Envelope_MessageSendCancelled:
		p := c.MessageSendCancelled
		return domain.MessageSendCancelled{MessageID: p.GetMessageId(), ThreadID: p.GetThreadId(), ProspectID: p.GetProspectId()}, nil
	case *eventsv1.Envelope_MessageDeliveryUpdated:
		p := c.MessageDeliveryUpdated
		at, err := timeOf("at", p.GetAt())
		if err != nil {
			return nil, err
		}
		return domain.MessageDeliveryUpdated{MessageID: p.GetMessageId(), ThreadID: p.GetThreadId(), ProspectID: p.GetProspectId(),
			Status: p.GetStatus(), At: at}, nil
	case *eventsv1.Envelope_MessageEdited:
		p := c.MessageEdited
		return domain.MessageEdited{MessageID: p.GetMessageId(), ThreadID: p.GetThreadId(), ProspectID: p.GetProspectId(), Text: p.GetText(), Raw: emptyNil(p.GetRaw())}, nil
	case *eventsv1.Envelope_MessageDeleted:
		p := c.MessageDeleted
		return domain.MessageDeleted{MessageID: p.GetMessageId(), ThreadID: p.GetThreadId(), ProspectID: p.GetProspectId(), Raw: emptyNil(p.GetRaw())}, nil
	case *eventsv1.Envelope_ThreadRead:
		p := c.ThreadRead
		return domain.ThreadRead{ThreadID: p.GetThreadId(), ProspectID: p.GetProspectId()}, nil
	case *eventsv1.Envelope_ThreadSeen:
		p := c.ThreadSeen
		seenAt, err := timeOf("seen_at", p.GetSeenAt())
		if err != nil {
			return nil, err
		}
		return domain.ThreadSeen{ThreadID: p.GetThreadId(), ProspectID: p.GetProspectId(), SeenAt: seenAt}, nil
	case *eventsv1.Envelope_ThreadAssigned:
		p := c.ThreadAssigned
		return domain.ThreadAssigned{ThreadID: p.GetThreadId(), ProspectID: p.GetProspectId(), MemberID: p.GetMemberId(), Decision: decisionFromProto(p.GetDecision())}, nil
	case *eventsv1.Envelope_ThreadUnassigned:
		p := c.ThreadUnassigned
		return domain.ThreadUnassigned{ThreadID: p.GetThreadId(), ProspectID: p.GetProspectId()}, nil
	case *eventsv1.Envelope_ThreadDone:
		p := c.ThreadDone
		return domain.ThreadDone{ThreadID: p.GetThreadId(), ProspectID: p.GetProspectId(), Decision: decisionFromProto(p.GetDecision())}, nil
	case *eventsv1.Envelope_ThreadReopened:
		p := c.ThreadReopened
		return domain.ThreadReopened{ThreadID: p.GetThreadId(), ProspectID: p.GetProspectId()}, nil
	case *eventsv1.Envelope_ProspectProfileUpdated:
		p := c.ProspectProfileUpdated
		pl, err := parsePlatform(p.GetPlatform())
		if err != nil {
			return nil, err
		}
		return domain.ProspectProfileUpdated{
			ProspectID: p.GetProspectId(), Platform: pl, PlatformID: p.GetPlatformId(),
			Username: p.GetUsername(), DisplayName: p.GetDisplayName(), AvatarURL: p.GetAvatarUrl(),
		}, nil
	case *eventsv1.Envelope_ProspectTagged:
		p := c.ProspectTagged
		return domain.ProspectTagged{ProspectID: p.GetProspectId(), TagID: p.GetTagId(), Decision: decisionFromProto(p.GetDecision())}, nil
	case *eventsv1.Envelope_ProspectUntagged:
		p := c.ProspectUntagged
		return domain.ProspectUntagged{ProspectID: p.GetProspectId(), TagID: p.GetTagId()}, nil
	case *eventsv1.Envelope_ProspectStatusChanged:
		p := c.ProspectStatusChanged
		return domain.ProspectStatusChanged{ProspectID: p.GetProspectId(), StatusID: p.GetStatusId(), Decision: decisionFromProto(p.GetDecision())}, nil
	case *eventsv1.Envelope_ProspectContextUpdated:
		p := c.ProspectContextUpdated
		return domain.ProspectContextUpdated{ProspectID: p.GetProspectId(), Notes: p.GetNotes(), Valuation: p.GetValuation(), CustomFields: mapOrNil(p.GetCustomFields())}, nil
	case *eventsv1.Envelope_PlatformUnhandled:
		p := c.PlatformUnhandled
		platform, err := parsePlatform(p.GetPlatform())
		if err != nil {
			return nil, err
		}
		return domain.PlatformUnhandled{AccountLinkID: p.GetAccountLinkId(), Platform: platform, Kind: p.GetKind(),
			Raw: p.GetRaw(), RawContentType: p.GetRawContentType()}, nil
	}
	return nil, fmt.Errorf("unsupported payload case %T", env.Payload)
}

// decisionToProto encodes a decision; an undecided one (an event of the first release being
// re-encoded) stays absent, so it is decided again by its readers as before.
func decisionToProto(d domain.Decision) *eventsv1.Decision {
	if !d.Decided {
		return nil
	}
	return &eventsv1.Decision{OpensRequest: d.OpensRequest, Reopens: d.Reopens, AnsweredRequests: d.AnsweredRequests}
}

func decisionFromProto(d *eventsv1.Decision) domain.Decision {
	if d == nil {
		return domain.Decision{}
	}
	return domain.Decision{Decided: true, OpensRequest: d.GetOpensRequest(), Reopens: d.GetReopens(),
		AnsweredRequests: emptyNilStrings(d.GetAnsweredRequests())}
}

func emptyNilStrings(s []string) []string {
	if len(s) == 0 {
		return nil
	}
	return s
}

func templateToProto(t *domain.Template) *eventsv1.MessageTemplate {
	if t == nil {
		return nil
	}
	return &eventsv1.MessageTemplate{Name: t.Name, Language: t.Language, Parameters: t.Parameters}
}

func templateFromProto(t *eventsv1.MessageTemplate) *domain.Template {
	if t == nil {
		return nil
	}
	return &domain.Template{Name: t.GetName(), Language: t.GetLanguage(), Parameters: t.GetParameters()}
}
