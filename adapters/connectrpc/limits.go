package connectrpc

import (
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"time"

	"connectrpc.com/connect"
)

// Limits bound what one request may cost the server before anything is decided about it.
type Limits struct {
	// MaxRequestBytes caps a request message, as sent and once decompressed (default 4 MiB).
	MaxRequestBytes int64
	// ReadTimeout is how long a client has to send a request's body once its headers arrived
	// (default 30s). It ends with the body: a stream's life is not bounded by it.
	ReadTimeout time.Duration
	// MaxStreamsPerKey caps the server streams (StreamEvents, WatchThreads, WatchMessages) one
	// API key holds open at once (default 16).
	MaxStreamsPerKey int
	// WatchQueue is how many changes a watch stream holds for its client (default 1000);
	// WatchStall is how long the queue may stay full, the client taking nothing, before the
	// stream is dropped with ResourceExhausted (default 10s): a slow client costs its queue,
	// never the projector's pace or another stream's.
	WatchQueue int
	WatchStall time.Duration
	// WatchHeartbeat is how long a quiet watch stream waits before a heartbeat (default 15s).
	WatchHeartbeat time.Duration
}

// Defaults of Limits.
const (
	DefaultMaxRequestBytes  = 4 << 20
	DefaultReadTimeout      = 30 * time.Second
	DefaultMaxStreamsPerKey = 16
	DefaultWatchQueue       = 1000
	DefaultWatchStall       = 10 * time.Second
	DefaultWatchHeartbeat   = 15 * time.Second
)

func (l Limits) withDefaults() Limits {
	if l.MaxRequestBytes <= 0 {
		l.MaxRequestBytes = DefaultMaxRequestBytes
	}
	if l.ReadTimeout <= 0 {
		l.ReadTimeout = DefaultReadTimeout
	}
	if l.MaxStreamsPerKey <= 0 {
		l.MaxStreamsPerKey = DefaultMaxStreamsPerKey
	}
	if l.WatchQueue <= 0 {
		l.WatchQueue = DefaultWatchQueue
	}
	if l.WatchStall <= 0 {
		l.WatchStall = DefaultWatchStall
	}
	if l.WatchHeartbeat <= 0 {
		l.WatchHeartbeat = DefaultWatchHeartbeat
	}
	return l
}

// envelopeBytes is the gRPC and Connect-streaming framing around one message.
const envelopeBytes = 5

// apiPrefix is the path prefix of every Switchboard RPC: those need a key.
const apiPrefix = "/switchboard.v1."

// guardAPI authenticates an RPC from its headers and bounds its body BEFORE Connect reads a
// byte of it: a caller without a valid key, or announcing too big a body, costs a key lookup.
// Its errors are written in the caller's protocol (Connect, gRPC, gRPC-web).
func guardAPI(next http.Handler, auth authInterceptor, l Limits, errw *connect.ErrorWriter) http.Handler {
	maxBody := l.MaxRequestBytes + envelopeBytes
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.ContentLength > maxBody {
			_ = errw.Write(w, r, tooLarge(l.MaxRequestBytes))
			return
		}
		ctx, err := auth.authenticate(r.Context(), r.Header.Get("Authorization"))
		if err != nil {
			_ = errw.Write(w, r, err)
			return
		}
		r.Body = http.MaxBytesReader(w, r.Body, maxBody)
		next.ServeHTTP(w, r.WithContext(ctx))
	})
}

func tooLarge(limit int64) error {
	return connect.NewError(connect.CodeResourceExhausted,
		fmt.Errorf("request body is larger than the limit of %d bytes (--max-request-bytes)", limit))
}

// limitBodies bounds every request of the port: a body over the limit is refused (413) and
// must arrive within ReadTimeout. The deadline is lifted once the body is read, so a stream's
// response is not cut.
func limitBodies(next http.Handler, l Limits) http.Handler {
	maxBody := l.MaxRequestBytes + envelopeBytes
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Body == nil || r.Body == http.NoBody {
			next.ServeHTTP(w, r)
			return
		}
		if r.ContentLength > maxBody && !strings.HasPrefix(r.URL.Path, apiPrefix) {
			http.Error(w, "request body too large", http.StatusRequestEntityTooLarge)
			return
		}
		rc := http.NewResponseController(w)
		if err := rc.SetReadDeadline(time.Now().Add(l.ReadTimeout)); err == nil {
			r.Body = &deadlineBody{ReadCloser: r.Body, lift: func() { _ = rc.SetReadDeadline(time.Time{}) }}
		}
		if !strings.HasPrefix(r.URL.Path, apiPrefix) {
			r.Body = http.MaxBytesReader(w, r.Body, maxBody) // RPCs get theirs once authenticated
		}
		next.ServeHTTP(w, r)
	})
}

// deadlineBody lifts the read deadline once the whole body is read.
type deadlineBody struct {
	io.ReadCloser
	once sync.Once
	lift func()
}

func (b *deadlineBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	if errors.Is(err, io.EOF) {
		b.once.Do(b.lift)
	}
	return n, err
}

// boundedGzip is connect's gzip with a ceiling: a decompressor that stops with an error after
// max+1 bytes. Connect stops reading at the limit but then inflates the rest to count it, which
// costs a gzip bomb's full size in CPU; this stops it there.
func boundedGzip(max int64) connect.HandlerOption {
	return connect.WithCompression("gzip",
		func() connect.Decompressor { return &cappedGzip{max: max + 1} },
		func() connect.Compressor { return gzip.NewWriter(io.Discard) })
}

var errInflatedTooLarge = errors.New("decompressed body over the limit")

type cappedGzip struct {
	r    *gzip.Reader
	max  int64
	read int64
}

func (c *cappedGzip) Read(p []byte) (int, error) {
	if c.r == nil {
		return 0, io.ErrUnexpectedEOF
	}
	if c.read >= c.max {
		return 0, errInflatedTooLarge
	}
	if int64(len(p)) > c.max-c.read {
		p = p[:c.max-c.read]
	}
	n, err := c.r.Read(p)
	c.read += int64(n)
	return n, err
}

func (c *cappedGzip) Reset(r io.Reader) error {
	c.read = 0
	if c.r == nil {
		z, err := gzip.NewReader(r)
		if err != nil {
			return err
		}
		c.r = z
		return nil
	}
	return c.r.Reset(r)
}

func (c *cappedGzip) Close() error {
	if c.r == nil {
		return nil
	}
	return c.r.Close()
}

// streamSlots counts the server streams each API key holds open.
type streamSlots struct {
	max  int
	mu   sync.Mutex
	open map[string]int
}

func newStreamSlots(max int) *streamSlots { return &streamSlots{max: max, open: map[string]int{}} }

// acquire takes a slot for key, or fails with ResourceExhausted; release gives it back.
func (s *streamSlots) acquire(key string) (release func(), err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.open[key] >= s.max {
		return nil, connect.NewError(connect.CodeResourceExhausted,
			fmt.Errorf("this API key already has %d streams open (--max-streams-per-key)", s.max))
	}
	s.open[key]++
	var once sync.Once
	return func() {
		once.Do(func() {
			s.mu.Lock()
			defer s.mu.Unlock()
			if s.open[key]--; s.open[key] <= 0 {
				delete(s.open, key)
			}
		})
	}, nil
}
