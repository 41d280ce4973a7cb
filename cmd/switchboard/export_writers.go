package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/parquet-go/parquet-go"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/types/known/structpb"

	v1 "github.com/switchboard-oss/switchboard/proto/gen/switchboard/v1"
)

// exportWriter writes pages of events to --out. A page written is whole in the file once
// write returns (JSONL), or once commit does (Parquet).
type exportWriter interface {
	write(rows []exportRow) error
	// commit makes what was written final; last is the position of the last event written.
	commit(last string, complete bool) error
	// abort leaves --out as it was before the export.
	abort()
}

func openExportWriter(o exportOptions, stdout io.Writer) (exportWriter, error) {
	if o.format == "parquet" {
		return openParquetWriter(o)
	}
	return openJSONLWriter(o, stdout)
}

// jsonlWriter writes one Event a line, as protojson (the JSON ListEvents answers). A page is
// flushed whole; a page that fails half-way is cut off again, so the file always ends with a
// whole event. Continuing a file (--after-position) appends to it, after checking that it ends
// with the event at that position: no gap, no duplicate.
type jsonlWriter struct {
	f       *os.File // nil on stdout
	bw      *bufio.Writer
	size    int64 // bytes of whole events in the file
	created bool  // this export created the file
}

func openJSONLWriter(o exportOptions, stdout io.Writer) (*jsonlWriter, error) {
	if o.out == "-" {
		return &jsonlWriter{bw: bufio.NewWriterSize(stdout, 1<<20)}, nil
	}
	st, err := os.Stat(o.out)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		f, err := os.OpenFile(o.out, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
		if err != nil {
			return nil, fmt.Errorf("--out: %w", err)
		}
		return &jsonlWriter{f: f, bw: bufio.NewWriterSize(f, 1<<20), created: true}, nil
	case err != nil:
		return nil, fmt.Errorf("--out: %w", err)
	case st.IsDir():
		return nil, fmt.Errorf("--out: %s is a folder", o.out)
	}
	if o.overwrite || st.Size() == 0 {
		f, err := os.OpenFile(o.out, os.O_WRONLY|os.O_TRUNC, 0)
		if err != nil {
			return nil, fmt.Errorf("--out: %w", err)
		}
		return &jsonlWriter{f: f, bw: bufio.NewWriterSize(f, 1<<20)}, nil
	}
	last, whole, err := lastJSONLPosition(o.out)
	if err != nil {
		return nil, fmt.Errorf("--out: %s: %w", o.out, err)
	}
	switch {
	case o.after == "" && last == "":
		return nil, fmt.Errorf("--out: %s exists and holds no whole event: remove it, or pass --overwrite", o.out)
	case o.after == "":
		return nil, fmt.Errorf("--out: %s exists: continue it with --after-position %s (its last event's position), or pass --overwrite to replace it", o.out, last)
	case last != o.after:
		return nil, fmt.Errorf("--out: %s ends with the event at position %s, not at --after-position %s: continue it with --after-position %s, so that it has no gap and no duplicate", o.out, truncate(last, 60), truncate(o.after, 60), last)
	}
	f, err := os.OpenFile(o.out, os.O_WRONLY, 0)
	if err != nil {
		return nil, fmt.Errorf("--out: %w", err)
	}
	// A torn last line (an export killed mid-write) is cut off: that event comes again.
	if err := f.Truncate(whole); err != nil {
		f.Close()
		return nil, fmt.Errorf("--out: %w", err)
	}
	if _, err := f.Seek(whole, io.SeekStart); err != nil {
		f.Close()
		return nil, fmt.Errorf("--out: %w", err)
	}
	return &jsonlWriter{f: f, bw: bufio.NewWriterSize(f, 1<<20), size: whole}, nil
}

// lastJSONLPosition returns the position of the last whole line of a JSONL export, and the
// size of the file up to the end of that line (a torn line after it is not counted).
func lastJSONLPosition(path string) (position string, whole int64, err error) {
	f, err := os.Open(path)
	if err != nil {
		return "", 0, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return "", 0, err
	}
	// Read backwards until the last newline and the one before it are found.
	const chunk = 64 << 10
	var tail []byte
	end := st.Size()
	lastNL := int64(-1)
	for off := end; off > 0; {
		n := min(int64(chunk), off)
		off -= n
		buf := make([]byte, n)
		if _, err := f.ReadAt(buf, off); err != nil {
			return "", 0, err
		}
		tail = append(buf, tail...)
		if lastNL < 0 {
			if i := bytes.LastIndexByte(tail, '\n'); i >= 0 {
				lastNL = off + int64(i)
			}
		}
		if lastNL >= 0 {
			line := tail[:lastNL-off]
			if i := bytes.LastIndexByte(line, '\n'); i >= 0 || off == 0 {
				line = line[i+1:]
				var e v1.Event
				if err := protojson.Unmarshal(line, &e); err != nil || e.Position == "" {
					return "", 0, fmt.Errorf("its last line is not an exported event (%v)", err)
				}
				return e.Position, lastNL + 1, nil
			}
		}
	}
	return "", 0, nil // no whole line
}

func (w *jsonlWriter) write(rows []exportRow) error {
	var n int64
	for _, r := range rows {
		b, err := protojson.Marshal(r.ev)
		if err != nil {
			return w.cut(fmt.Errorf("event %s as JSON: %w", r.ev.EventId, err))
		}
		b = append(b, '\n')
		if _, err := w.bw.Write(b); err != nil {
			return w.cut(err)
		}
		n += int64(len(b))
	}
	if err := w.bw.Flush(); err != nil {
		return w.cut(err)
	}
	w.size += n
	return nil
}

// cut removes what a failed page left in the file, so that it ends with a whole event.
func (w *jsonlWriter) cut(err error) error {
	if w.f == nil {
		return err
	}
	w.bw.Reset(w.f)
	if terr := w.f.Truncate(w.size); terr != nil {
		return fmt.Errorf("%w; and cutting the page off again failed (%v): the file's last line may be torn, and the next --after-position export cuts it", err, terr)
	}
	_, _ = w.f.Seek(w.size, io.SeekStart)
	return err
}

func (w *jsonlWriter) commit(string, bool) error {
	if err := w.bw.Flush(); err != nil {
		return err
	}
	if w.f == nil {
		return nil
	}
	if err := w.f.Sync(); err != nil {
		w.f.Close()
		return err
	}
	return w.f.Close()
}

func (w *jsonlWriter) abort() {
	if w.f == nil {
		return
	}
	name := w.f.Name()
	_ = w.f.Close()
	if w.created && w.size == 0 {
		_ = os.Remove(name)
	}
}

// parquetRow is one event in a Parquet export: the envelope, the payload as JSON, and typed
// columns of message events (null for other types, and where the payload has no such field).
type parquetRow struct {
	Position      string     `parquet:"position"`
	EventID       string     `parquet:"event_id"`
	Type          string     `parquet:"type,dict"`
	Key           string     `parquet:"key"`
	TeamID        *string    `parquet:"team_id,optional,dict"`
	OccurredAt    time.Time  `parquet:"occurred_at,timestamp(nanosecond)"`
	RecordedAt    time.Time  `parquet:"recorded_at,timestamp(nanosecond)"`
	Actor         string     `parquet:"actor,dict"`
	Origin        string     `parquet:"origin,dict"`
	CausationID   *string    `parquet:"causation_id,optional"`
	CorrelationID *string    `parquet:"correlation_id,optional"`
	Data          string     `parquet:"data"`
	MessageID     *string    `parquet:"message_id,optional"`
	ThreadID      *string    `parquet:"thread_id,optional"`
	ProspectID    *string    `parquet:"prospect_id,optional"`
	Platform      *string    `parquet:"platform,optional,dict"`
	Conversation  *string    `parquet:"conversation_id,optional"`
	Direction     *string    `parquet:"direction,optional,dict"`
	Text          *string    `parquet:"text,optional"`
	SenderID      *string    `parquet:"sender_id,optional"`
	SenderName    *string    `parquet:"sender_name,optional"`
	SentAt        *time.Time `parquet:"sent_at,optional,timestamp(nanosecond)"`
}

// parquetWriter writes a Parquet file beside --out and renames it there at the end: --out
// appears whole or not at all. An export that stops early still renames what it wrote, a
// valid file of the events up to the last position printed (its key-value metadata says so).
type parquetWriter struct {
	out   string
	tmp   *os.File
	w     *parquet.GenericWriter[parquetRow]
	batch []parquetRow
}

// parquetRowGroup bounds the rows the writer holds in memory before a row group is written.
const parquetRowGroup = 20_000

func openParquetWriter(o exportOptions) (*parquetWriter, error) {
	st, err := os.Stat(o.out)
	switch {
	case err == nil && st.IsDir():
		return nil, fmt.Errorf("--out: %s is a folder", o.out)
	case err == nil && o.after != "" && !o.overwrite:
		return nil, fmt.Errorf("--out: %s exists, and Parquet files are not appended: write what comes after --after-position to another file (e.g. %s), and read both (DuckDB: 'events*.parquet')", o.out, nextName(o.out))
	case err == nil && !o.overwrite:
		return nil, fmt.Errorf("--out: %s exists: pass --overwrite to replace it", o.out)
	case err != nil && !errors.Is(err, fs.ErrNotExist):
		return nil, fmt.Errorf("--out: %w", err)
	}
	tmp, err := os.CreateTemp(filepath.Dir(o.out), "."+filepath.Base(o.out)+".*.partial")
	if err != nil {
		return nil, fmt.Errorf("--out: %w", err)
	}
	meta := map[string]string{"switchboard.after_position": o.after, "switchboard.types": strings.Join(o.types, ","),
		"switchboard.key": o.key, "switchboard.team": o.team}
	if !o.from.IsZero() {
		meta["switchboard.from"] = o.from.Format(time.RFC3339Nano)
	}
	if !o.to.IsZero() {
		meta["switchboard.to"] = o.to.Format(time.RFC3339Nano)
	}
	opts := []parquet.WriterOption{parquet.Compression(&parquet.Zstd), parquet.MaxRowsPerRowGroup(parquetRowGroup),
		parquet.CreatedBy("switchboard", buildInfo().version, "")}
	for k, v := range meta {
		if v != "" {
			opts = append(opts, parquet.KeyValueMetadata(k, v))
		}
	}
	return &parquetWriter{out: o.out, tmp: tmp, w: parquet.NewGenericWriter[parquetRow](tmp, opts...)}, nil
}

// nextName suggests a file for the rest of an export: events.parquet → events-2.parquet.
func nextName(out string) string {
	ext := filepath.Ext(out)
	return strings.TrimSuffix(out, ext) + "-2" + ext
}

func (w *parquetWriter) write(rows []exportRow) error {
	w.batch = w.batch[:0]
	for _, r := range rows {
		row, err := toParquetRow(r)
		if err != nil {
			return err
		}
		w.batch = append(w.batch, row)
	}
	_, err := w.w.Write(w.batch)
	return err
}

func (w *parquetWriter) commit(last string, complete bool) error {
	w.w.SetKeyValueMetadata("switchboard.last_position", last)
	w.w.SetKeyValueMetadata("switchboard.complete", fmt.Sprint(complete))
	err := w.w.Close()
	if err == nil {
		err = w.tmp.Sync()
	}
	if cerr := w.tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(w.tmp.Name(), w.out)
	}
	if err != nil {
		_ = os.Remove(w.tmp.Name())
		return err
	}
	if d, err := os.Open(filepath.Dir(w.out)); err == nil {
		_ = d.Sync() // the rename survives a power cut
		_ = d.Close()
	}
	return nil
}

func (w *parquetWriter) abort() {
	_ = w.tmp.Close()
	_ = os.Remove(w.tmp.Name())
}

// toParquetRow flattens an event; the payload becomes JSON (keys sorted), and message events
// fill the typed columns.
func toParquetRow(r exportRow) (parquetRow, error) {
	e := r.ev
	data, err := json.Marshal(e.GetData().AsMap())
	if err != nil {
		return parquetRow{}, fmt.Errorf("event %s: payload as JSON: %w", e.EventId, err)
	}
	row := parquetRow{Position: e.Position, EventID: e.EventId, Type: e.Type, Key: e.Key, TeamID: nonEmpty(r.team),
		OccurredAt: e.GetOccurredAt().AsTime(), RecordedAt: e.GetRecordedAt().AsTime(), Actor: e.Actor, Origin: e.Origin,
		CausationID: nonEmpty(e.CausationId), CorrelationID: nonEmpty(e.CorrelationId), Data: string(data)}
	if strings.HasPrefix(e.Type, "message.") {
		f := e.GetData().GetFields()
		row.MessageID = nonEmpty(f["message_id"].GetStringValue())
		row.ThreadID = nonEmpty(f["thread_id"].GetStringValue())
		row.ProspectID = nonEmpty(f["prospect_id"].GetStringValue())
		row.Platform = nonEmpty(f["platform"].GetStringValue())
		row.Conversation = nonEmpty(f["platform_conversation_id"].GetStringValue())
		row.Direction = nonEmpty(f["direction"].GetStringValue())
		if t, ok := f["text"]; ok {
			s := t.GetStringValue()
			row.Text = &s
		}
		// Who wrote it: the sender where the payload names one, else the prospect of an
		// inbound message.
		who := f["sender"].GetStructValue().GetFields()
		if who["platform_id"].GetStringValue() == "" && row.Direction != nil && *row.Direction == "inbound" {
			who = f["prospect"].GetStructValue().GetFields()
		}
		row.SenderID = nonEmpty(who["platform_id"].GetStringValue())
		row.SenderName = nonEmpty(participantName(who))
		if s := f["sent_at"].GetStringValue(); s != "" {
			t, err := time.Parse(time.RFC3339Nano, s)
			if err != nil {
				return parquetRow{}, fmt.Errorf("event %s: sent_at %q: %w", e.EventId, s, err)
			}
			row.SentAt = &t
		}
	}
	return row, nil
}

func participantName(p map[string]*structpb.Value) string {
	if s := p["display_name"].GetStringValue(); s != "" {
		return s
	}
	return p["username"].GetStringValue()
}

func nonEmpty(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}
