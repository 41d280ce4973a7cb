package kafka

import (
	"context"
	"log/slog"

	"github.com/ThreeDotsLabs/watermill"
)

// watermillLogger passes watermill's logs to slog one level lower (its Info is one line per
// connection), and errors as their text: slog would print the stack trace pkg/errors carries.
type watermillLogger struct{ l *slog.Logger }

func (w watermillLogger) Error(msg string, err error, fields watermill.LogFields) {
	w.log(slog.LevelError, msg, fields, "error", errorText(err))
}

func (w watermillLogger) Info(msg string, fields watermill.LogFields) {
	w.log(slog.LevelDebug, msg, fields)
}

func (w watermillLogger) Debug(msg string, fields watermill.LogFields) {
	w.log(slog.LevelDebug, msg, fields)
}

func (w watermillLogger) Trace(msg string, fields watermill.LogFields) {
	w.log(watermill.LevelTrace, msg, fields)
}

func (w watermillLogger) With(fields watermill.LogFields) watermill.LoggerAdapter {
	return watermillLogger{l: w.l.With(attrs(fields)...)}
}

func (w watermillLogger) log(level slog.Level, msg string, fields watermill.LogFields, extra ...any) {
	if !w.l.Enabled(context.Background(), level) {
		return
	}
	w.l.Log(context.Background(), level, msg, append(attrs(fields), extra...)...)
}

func attrs(fields watermill.LogFields) []any {
	out := make([]any, 0, 2*len(fields))
	for k, v := range fields {
		if err, ok := v.(error); ok {
			v = errorText(err)
		}
		out = append(out, k, v)
	}
	return out
}

func errorText(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}
