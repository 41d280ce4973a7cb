package connectrpc

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
)

// jsonCodec is connect's JSON codec with stricter reading: unknown fields are still ignored
// (older servers, newer clients), but an enum name the API does not know is refused naming its
// field (protojson's DiscardUnknown would drop it silently, and with it a client's filter), and
// a value of the wrong JSON type is refused naming its field, without Go type names.
type jsonCodec struct{ name string }

// jsonCodecs replace connect's two JSON codec names.
func jsonCodecs() []jsonCodec {
	return []jsonCodec{{"json"}, {"json; charset=utf-8"}}
}

func (c jsonCodec) Name() string { return c.name }

func (jsonCodec) Marshal(v any) ([]byte, error) {
	m, ok := v.(proto.Message)
	if !ok {
		return nil, fmt.Errorf("not a protobuf message: %T", v)
	}
	return protojson.MarshalOptions{}.Marshal(m)
}

func (jsonCodec) Unmarshal(data []byte, v any) error {
	m, ok := v.(proto.Message)
	if !ok {
		return fmt.Errorf("not a protobuf message: %T", v)
	}
	if len(bytes.TrimSpace(data)) == 0 {
		return errors.New("the body is empty: send a JSON object, {} at least")
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var doc any
	if err := dec.Decode(&doc); err != nil {
		return fmt.Errorf("the body is not valid JSON: %s", cut(err.Error(), 200))
	}
	if err := checkJSON(m.ProtoReflect().Descriptor(), doc, ""); err != nil {
		return err
	}
	if err := (protojson.UnmarshalOptions{DiscardUnknown: true}).Unmarshal(data, m); err != nil {
		return fmt.Errorf("the body is not a valid request: %s", cut(strings.TrimPrefix(err.Error(), "proto: "), 200))
	}
	return nil
}

// checkJSON checks the known fields of a JSON object against a message's descriptor: enum
// names must exist, and each value must have a JSON type its field accepts.
func checkJSON(md protoreflect.MessageDescriptor, v any, path string) error {
	if wellKnown(md) {
		return nil // Timestamp, Struct…: protojson checks their forms
	}
	obj, ok := v.(map[string]any)
	if !ok {
		return fieldErr(path, "must be a JSON object")
	}
	fields := md.Fields()
	for k, val := range obj {
		fd := fields.ByJSONName(k)
		if fd == nil {
			fd = fields.ByTextName(k)
		}
		if fd == nil || val == nil {
			continue // unknown fields are ignored; null is the default
		}
		p := join(path, string(fd.Name()))
		switch {
		case fd.IsMap():
			entries, ok := val.(map[string]any)
			if !ok {
				return fieldErr(p, "must be a JSON object")
			}
			for key, e := range entries {
				if err := checkValue(fd.MapValue(), e, p+"["+shortText(key)+"]"); err != nil {
					return err
				}
			}
		case fd.IsList():
			items, ok := val.([]any)
			if !ok {
				return fieldErr(p, "must be a JSON array")
			}
			for i, e := range items {
				if err := checkValue(fd, e, fmt.Sprintf("%s[%d]", p, i)); err != nil {
					return err
				}
			}
		default:
			if err := checkValue(fd, val, p); err != nil {
				return err
			}
		}
	}
	return nil
}

func checkValue(fd protoreflect.FieldDescriptor, v any, path string) error {
	if v == nil {
		return nil
	}
	switch fd.Kind() {
	case protoreflect.EnumKind:
		return checkEnum(fd.Enum(), v, path)
	case protoreflect.StringKind, protoreflect.BytesKind:
		if _, ok := v.(string); !ok {
			return fieldErr(path, "must be a JSON string")
		}
	case protoreflect.BoolKind:
		if _, ok := v.(bool); !ok {
			return fieldErr(path, "must be true or false")
		}
	case protoreflect.MessageKind, protoreflect.GroupKind:
		return checkJSON(fd.Message(), v, path)
	default: // numbers: protojson also takes them as strings
		switch v.(type) {
		case json.Number, string:
		default:
			return fieldErr(path, "must be a number")
		}
	}
	return nil
}

func checkEnum(ed protoreflect.EnumDescriptor, v any, path string) error {
	values := ed.Values()
	switch x := v.(type) {
	case string:
		if values.ByName(protoreflect.Name(x)) != nil {
			return nil
		}
		return fieldErr(path, fmt.Sprintf("unknown value %q (want one of %s)", shortText(x), enumNames(ed)))
	case json.Number:
		n, err := x.Int64()
		if err == nil && values.ByNumber(protoreflect.EnumNumber(n)) != nil {
			return nil
		}
		return fieldErr(path, fmt.Sprintf("unknown value %s (want one of %s)", shortText(x.String()), enumNames(ed)))
	}
	return fieldErr(path, "must be one of "+enumNames(ed))
}

func enumNames(ed protoreflect.EnumDescriptor) string {
	names := make([]string, ed.Values().Len())
	for i := range names {
		names[i] = string(ed.Values().Get(i).Name())
	}
	return strings.Join(names, ", ")
}

func wellKnown(md protoreflect.MessageDescriptor) bool {
	return md.ParentFile().Package() == "google.protobuf"
}

func join(path, name string) string {
	if path == "" {
		return name
	}
	return path + "." + name
}

func fieldErr(path, msg string) error {
	if path == "" {
		return errors.New("the body " + msg)
	}
	return errors.New(path + ": " + msg)
}

// maxEcho is how much of a client's input an error message may repeat.
const maxEcho = 64

// shortText cuts s to maxEcho characters, marking the cut.
func shortText(s string) string { return cut(s, maxEcho) }

// cut cuts s to n characters, marking the cut.
func cut(s string, n int) string {
	if len(s) <= n {
		return s
	}
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n]) + "…"
}
