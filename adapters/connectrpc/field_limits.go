package connectrpc

import (
	"context"
	"fmt"
	"log/slog"
	"unicode/utf8"

	"connectrpc.com/connect"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"

	"github.com/switchboard-oss/switchboard/commands"
	"github.com/switchboard-oss/switchboard/domain"
)

// Field limits of every request, documented in proto/switchboard/v1/types.proto: a string at
// most defaultMaxChars characters and a repeated or map field at most defaultMaxItems items,
// unless fieldLimits says otherwise for that field name. Rules of the domain (tag names,
// notes…) may be stricter; these only bound what any request can make the server hold.
const (
	defaultMaxChars = 512
	defaultMaxItems = 100
)

type fieldLimit struct{ chars, items int }

// fieldLimits are the exceptions, by field name wherever it appears.
var fieldLimits = map[protoreflect.Name]fieldLimit{
	"text":          {chars: 65536},           // a message's text
	"notes":         {chars: 10000},           // a prospect's notes
	"url":           {chars: 4096},            // an attachment's address
	"return_url":    {chars: 4096},            // where a connect flow sends the browser back
	"avatar_url":    {chars: 4096},            // a participant's picture
	"query":         {chars: 1024},            // a search
	"credentials":   {chars: 8192, items: 20}, // tokens and secrets (JWTs can be long)
	"custom_fields": {chars: 1000, items: 50},
	"attachments":   {items: 20},
	"types":         {items: 50},              // event types to filter on
	"parameters":    {chars: 1024, items: 20}, // a message template's parameters
	// A position token holds a cursor of every partition the team's events are in.
	"after_position": {chars: maxPositionTokenChars},
}

// ingestBatchField is the list of an IngestMessages request.
const ingestBatchField protoreflect.FullName = "switchboard.v1.IngestMessagesRequest.messages"

// limitsInterceptor refuses a request with a string or list over its limit, naming the field,
// before any handler sees it.
type limitsInterceptor struct{ logger *slog.Logger }

func checkLimits(m proto.Message) error {
	return checkMessageLimits(m.ProtoReflect(), "")
}

func checkMessageLimits(m protoreflect.Message, path string) error {
	var err error
	m.Range(func(fd protoreflect.FieldDescriptor, v protoreflect.Value) bool {
		lim := fieldLimits[fd.Name()]
		chars, items := orInt(lim.chars, defaultMaxChars), orInt(lim.items, defaultMaxItems)
		p := join(path, string(fd.Name()))
		switch {
		case fd.FullName() == ingestBatchField:
			// Only counted here: IngestMessages checks each message's limits, so that a bad
			// message fails alone.
			if n := v.List().Len(); n > commands.MaxIngestBatch {
				err = domain.Invalid(p, "must have at most %d messages, got %d", commands.MaxIngestBatch, n)
			}
		case fd.IsList():
			l := v.List()
			if l.Len() > items {
				err = domain.Invalid(p, "must have at most %d items, got %d", items, l.Len())
				return false
			}
			for i := 0; i < l.Len() && err == nil; i++ {
				err = checkValueLimits(fd, l.Get(i), fmt.Sprintf("%s[%d]", p, i), chars)
			}
		case fd.IsMap():
			mp := v.Map()
			if mp.Len() > items {
				err = domain.Invalid(p, "must have at most %d entries, got %d", items, mp.Len())
				return false
			}
			mp.Range(func(k protoreflect.MapKey, mv protoreflect.Value) bool {
				if ks := k.String(); tooLong(ks, defaultMaxChars) {
					err = domain.Invalid(p, "a key is longer than %d characters", defaultMaxChars)
					return false
				}
				err = checkValueLimits(fd.MapValue(), mv, p+"["+shortText(k.String())+"]", chars)
				return err == nil
			})
		default:
			err = checkValueLimits(fd, v, p, chars)
		}
		return err == nil
	})
	return err
}

func checkValueLimits(fd protoreflect.FieldDescriptor, v protoreflect.Value, path string, chars int) error {
	switch fd.Kind() {
	case protoreflect.StringKind:
		if s := v.String(); tooLong(s, chars) {
			return domain.Invalid(path, "must be at most %d characters, got %d", chars, utf8.RuneCountInString(s))
		}
	case protoreflect.EnumKind: // binary (gRPC) requests keep unknown numbers: refuse them too
		if fd.Enum().Values().ByNumber(v.Enum()) == nil {
			return domain.Invalid(path, "unknown value %d (want one of %s)", v.Enum(), enumNames(fd.Enum()))
		}
	case protoreflect.BytesKind:
		if n := len(v.Bytes()); n > chars {
			return domain.Invalid(path, "must be at most %d bytes, got %d", chars, n)
		}
	case protoreflect.MessageKind, protoreflect.GroupKind:
		if wellKnown(fd.Message()) {
			return nil
		}
		return checkMessageLimits(v.Message(), path)
	}
	return nil
}

func tooLong(s string, max int) bool {
	return len(s) > max && utf8.RuneCountInString(s) > max
}

func orInt(v, def int) int {
	if v == 0 {
		return def
	}
	return v
}

func (i limitsInterceptor) WrapUnary(next connect.UnaryFunc) connect.UnaryFunc {
	return func(ctx context.Context, req connect.AnyRequest) (connect.AnyResponse, error) {
		if m, ok := req.Any().(proto.Message); ok {
			if err := checkLimits(m); err != nil {
				return nil, toConnect(ctx, i.logger, err)
			}
		}
		return next(ctx, req)
	}
}

func (limitsInterceptor) WrapStreamingClient(next connect.StreamingClientFunc) connect.StreamingClientFunc {
	return next
}

func (i limitsInterceptor) WrapStreamingHandler(next connect.StreamingHandlerFunc) connect.StreamingHandlerFunc {
	return func(ctx context.Context, conn connect.StreamingHandlerConn) error {
		return next(ctx, limitedConn{conn, i.logger})
	}
}

// limitedConn checks each message a stream receives.
type limitedConn struct {
	connect.StreamingHandlerConn
	logger *slog.Logger
}

func (c limitedConn) Receive(m any) error {
	if err := c.StreamingHandlerConn.Receive(m); err != nil {
		return err
	}
	if pm, ok := m.(proto.Message); ok {
		if err := checkLimits(pm); err != nil {
			return toConnect(context.Background(), c.logger, err)
		}
	}
	return nil
}
