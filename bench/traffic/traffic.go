// Package traffic generates the benchmark's seeded traffic: teams, account links, prospects
// whose activity follows a Zipf law, multilingual messages of realistic length in both
// directions, with exact duplicates and (Messenger) edits sprinkled in.
package traffic

import (
	"bytes"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"math"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// Config describes the traffic. Zero DuplicateRate, EditRate, ZipfS and Start take defaults.
type Config struct {
	Seed          int64
	Teams         int       // >= 1
	LinksPerTeam  int       // >= 2: link 0 of each team is a Messenger page (arrives by signed webhook); the others are API-channel links (IngestMessage)
	Threads       int       // distinct conversations over all teams; one prospect per thread
	Messages      int       // messages in the fill stream, duplicates included (>= Threads)
	DuplicateRate float64   // share of ops that exactly repeat an earlier message (default 0.02 when 0)
	EditRate      float64   // chance that a Messenger message is later edited (default 0.01 when 0)
	ZipfS         float64   // skew of prospect activity (default 1.1 when 0; must be > 1)
	Start         time.Time // sent_at of the first message (default 2026-01-01T00:00:00Z when zero)
}

// Defaults of Config.
const (
	DefaultDuplicateRate = 0.02
	DefaultEditRate      = 0.01
	DefaultZipfS         = 1.1
)

// DefaultStart is the default sent_at of the first message.
var DefaultStart = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// Validate names the first bad field (e.g. "traffic: LinksPerTeam must be >= 2").
func (c Config) Validate() error {
	switch {
	case c.Teams < 1:
		return errors.New("traffic: Teams must be >= 1")
	case c.LinksPerTeam < 2:
		return errors.New("traffic: LinksPerTeam must be >= 2")
	case c.Threads < 1:
		return errors.New("traffic: Threads must be >= 1")
	case c.Messages < c.Threads:
		return errors.New("traffic: Messages must be >= Threads")
	case !(c.DuplicateRate >= 0 && c.DuplicateRate < 1):
		return errors.New("traffic: DuplicateRate must be in [0, 1)")
	case !(c.EditRate >= 0 && c.EditRate <= 1):
		return errors.New("traffic: EditRate must be in [0, 1]")
	case !(c.ZipfS == 0 || c.ZipfS > 1) || math.IsInf(c.ZipfS, 0):
		return errors.New("traffic: ZipfS must be > 1 (or 0 for the default)")
	}
	return nil
}

func (c Config) withDefaults() Config {
	if c.DuplicateRate == 0 {
		c.DuplicateRate = DefaultDuplicateRate
	}
	if c.EditRate == 0 {
		c.EditRate = DefaultEditRate
	}
	if c.ZipfS == 0 {
		c.ZipfS = DefaultZipfS
	}
	if c.Start.IsZero() {
		c.Start = DefaultStart
	}
	return c
}

// Link is an account link: a team's Messenger page or one of its API channels.
type Link struct {
	Team        int    // team index 0..Teams-1
	Index       int    // index within its team
	Messenger   bool   // link 0 of each team
	PlatformID  string // Messenger: a numeric page id (digits, e.g. "10000000000001"); API: a handle like "shop-3-1"
	Username    string
	DisplayName string
}

// Message is one message, inbound or outbound.
type Message struct {
	Seq               int       // position in the stream (op index, edits included), from 0
	Link              int       // index into Generator.Links()
	Thread            int       // global thread index 0..Threads-1
	ProspectID        string    // the prospect's platform id: digits (PSID-like) on Messenger links, a handle on API links; unique per thread
	Username          string    // API links only ("" on Messenger: Meta sends only ids)
	DisplayName       string    // API links only
	PlatformMessageID string    // unique per message: Messenger "m_" + base64url-ish chars; API e.g. "api-<seq>"
	Outbound          bool      // the team wrote it
	Text              string    //
	Lang              string    // en, es, de, fr, pt, ja, zh, ru, ar
	SentAt            time.Time // strictly increasing over the stream (not for duplicates, which keep the original's)
	Duplicate         bool      // an exact repeat of an earlier Message (same every field but Seq and Duplicate)
}

// Edit changes the text of an earlier inbound Messenger message.
type Edit struct {
	Link              int
	Thread            int
	ProspectID        string
	PlatformMessageID string // of an earlier, non-duplicate, INBOUND Messenger message of the same link
	Text              string // new text
	At                time.Time
	NumEdit           int // 1, 2, ... per message
}

// Op is one step of the stream: exactly one of Message and Edit is set.
type Op struct {
	Message *Message
	Edit    *Edit
}

// Query is a search the harness runs; the generator guarantees its terms occur in the traffic.
type Query struct {
	Name string // short label for the results table, e.g. "word (common)", "word (rare)", "phrase", "prefix", "word (es)", "word (ja)"
	Text string // query syntax of SearchMessages: words, "quoted phrases", prefix*
}

// Queries are the searches the harness runs; the vocabulary emits their terms at the rates
// their names promise (see vocab.go).
func Queries() []Query {
	return []Query{
		{Name: "word (common)", Text: "refund"},
		{Name: "word (rare)", Text: "warranty"},
		{Name: "phrase", Text: `"tracking number"`},
		{Name: "prefix", Text: "ship*"},
		{Name: "word (es)", Text: "envío"},
		{Name: "word (ja)", Text: "配送"},
		{Name: "exclusion", Text: "refund -cancel"},
	}
}

// Shape of the traffic.
const (
	// zipfV flattens the head of the Zipf law (P(rank k) ∝ (zipfV+k)^-s): with v = 1 the single
	// hottest prospect would write a sixth of all messages, which no inbox sees.
	zipfV = 5
	// firstInbound: prospects usually write first; the rest is the team reaching out.
	firstInbound = 0.95
	// Chance the team answers after an inbound message, and writes again after its own:
	// stationary inbound share 1/(1+0.5/0.8) ≈ 62%.
	replyAfterInbound  = 0.5
	replyAfterOutbound = 0.2
	stayOnTopic        = 0.7   // a message is about its thread's topic, else any topic
	changeTopic        = 0.03  // after a message, the thread moves on to a new subject
	warrantyRate       = 0.002 // of English messages; independent of threads so hot ones don't skew it
	// Text length: log-normal in characters, median ~60, p90 ~200; CJK says it in fewer.
	lengthMedian = 60
	lengthSigma  = 0.94
	cjkLength    = 0.5
	maxTarget    = 1200
	maxText      = 2000
	shortBelow   = 14 // targets this short are "ok", "thanks!", 👍
	// Inter-arrival: 1 s + exponential, mean 20 s: 1M messages span ~231 days.
	minStepMillis  = 1000
	meanStepMillis = 19000
	recentCap      = 64 // duplicates repeat one of the last recentCap messages (redelivery is prompt)
	editDelayOps   = 6  // an edit follows its message within this many ops
	editAgain      = 0.2
)

type piece struct {
	lit  string
	slot byte // 0 for a literal; else one of o p d s $ t u n
}

type sentence struct {
	pieces []piece
	est    int // characters, slots estimated
}

type language struct {
	code       string
	weight     float64
	cjk, latin bool
	sep        string // between sentences

	greetIn, greetOut, thanksIn, thanksOut, shortIn, shortOut []sentence
	complaint                                                 []sentence
	in, out                                                   [numTopics][]sentence

	days, products, prices []string
	firsts                 []firstName
	lasts                  []lastName
}

var languages = compileLanguages()

func compileLanguages() []language {
	ls := make([]language, len(rawLanguages))
	for i, r := range rawLanguages {
		l := language{code: r.code, weight: r.weight, cjk: r.cjk, sep: " ",
			latin: r.code == "en" || r.code == "es" || r.code == "de" || r.code == "fr" || r.code == "pt",
			days:  r.days, products: r.products, prices: r.prices, firsts: r.firsts, lasts: r.lasts}
		if r.cjk {
			l.sep = ""
		}
		c := func(ss []string) []sentence { return compileSentences(ss, &l) }
		l.greetIn, l.greetOut, l.thanksIn, l.thanksOut = c(r.greetIn), c(r.greetOut), c(r.thanksIn), c(r.thanksOut)
		l.shortIn, l.shortOut, l.complaint = c(r.shortIn), c(r.shortOut), c(r.complaint)
		for t := range numTopics {
			l.in[t], l.out[t] = c(r.in[t]), c(r.out[t])
		}
		ls[i] = l
	}
	return ls
}

func compileSentences(ss []string, l *language) []sentence {
	if len(ss) > 64 {
		panic("traffic: more than 64 sentences in a list; draw tracks them in a uint64")
	}
	out := make([]sentence, len(ss))
	for i, s := range ss {
		var ps []piece
		est := 0
		for s != "" {
			open := strings.IndexByte(s, '{')
			if open < 0 || open+2 >= len(s) || s[open+2] != '}' {
				ps = append(ps, piece{lit: s})
				est += utf8.RuneCountInString(s)
				break
			}
			if open > 0 {
				ps = append(ps, piece{lit: s[:open]})
				est += utf8.RuneCountInString(s[:open])
			}
			slot := s[open+1]
			ps = append(ps, piece{slot: slot})
			est += slotEstimate(slot, l)
			s = s[open+3:]
		}
		out[i] = sentence{pieces: ps, est: est}
	}
	return out
}

func slotEstimate(slot byte, l *language) int {
	switch slot {
	case 'o':
		return 6
	case 'p':
		return avgRunes(l.products)
	case 'd':
		return avgRunes(l.days)
	case '$':
		return avgRunes(l.prices)
	case 't':
		return 14
	case 'u':
		return 33
	case 's':
		return 2
	}
	return 1
}

func avgRunes(ss []string) int {
	n := 0
	for _, s := range ss {
		n += utf8.RuneCountInString(s)
	}
	return n / max(1, len(ss))
}

type thread struct {
	link        int
	lang        *language
	topic       int
	order       int // the order number the prospect usually talks about
	lastInbound bool
	prospectID  string
	username    string
	displayName string
}

type pendingEdit struct {
	due  int // op index at which it is emitted
	edit Edit
}

// Generator produces the op stream. It is not safe for concurrent use.
type Generator struct {
	cfg      Config
	rng      *rand.Rand
	zipf     *rand.Zipf
	links    []Link
	threads  []thread
	langCDF  []float64
	topicCDF []float64
	ops      int // ops emitted
	msgOps   int // message ops emitted, duplicates included
	dupFill  float64
	started  bool
	elapsed  int64 // milliseconds since Start of the last timestamp handed out
	recent   [recentCap]Message
	recentN  int
	pending  []pendingEdit
	buf      []byte
}

// New applies defaults, validates and returns a generator at the start of the stream.
func New(c Config) (*Generator, error) {
	if err := c.Validate(); err != nil {
		return nil, err
	}
	c = c.withDefaults()
	rng := rand.New(rand.NewPCG(uint64(c.Seed), 0x5157_4348_424f_4152))
	g := &Generator{cfg: c, rng: rng, threads: make([]thread, 0, c.Threads), buf: make([]byte, 0, 4*maxText)}
	if c.Threads > 1 {
		g.zipf = rand.NewZipf(rng, c.ZipfS, zipfV, uint64(c.Threads-1))
	}
	// During the fill, ops that open a thread cannot be duplicates; raising the chance on the
	// others keeps the overall duplicate share at DuplicateRate.
	if c.Messages > c.Threads {
		g.dupFill = min(1, c.DuplicateRate*float64(c.Messages)/float64(c.Messages-c.Threads))
	}
	for _, l := range languages {
		g.langCDF = appendCDF(g.langCDF, l.weight)
	}
	for _, w := range topicWeights {
		g.topicCDF = appendCDF(g.topicCDF, w)
	}
	for t := range c.Teams {
		brand := brands[t%len(brands)]
		if t >= len(brands) {
			brand += " " + strconv.Itoa(t/len(brands)+1)
		}
		for i := range c.LinksPerTeam {
			l := Link{Team: t, Index: i, Messenger: i == 0}
			if l.Messenger {
				l.PlatformID = strconv.FormatInt(10000000000000+int64(t)+1, 10)
				l.Username = "shop" + strconv.Itoa(t)
				l.DisplayName = brand
			} else {
				l.PlatformID = "shop-" + strconv.Itoa(t) + "-" + strconv.Itoa(i)
				l.Username = l.PlatformID
				l.DisplayName = brand + " (channel " + strconv.Itoa(i) + ")"
			}
			g.links = append(g.links, l)
		}
	}
	return g, nil
}

func appendCDF(cdf []float64, w float64) []float64 {
	last := 0.0
	if len(cdf) > 0 {
		last = cdf[len(cdf)-1]
	}
	return append(cdf, last+w)
}

func (g *Generator) pickCDF(cdf []float64) int {
	x := g.rng.Float64() * cdf[len(cdf)-1]
	for i, c := range cdf {
		if x < c {
			return i
		}
	}
	return len(cdf) - 1
}

// Config returns the configuration with defaults applied.
func (g *Generator) Config() Config { return g.cfg }

// Links returns the Teams*LinksPerTeam links, team-major order.
func (g *Generator) Links() []Link { return slices.Clone(g.links) }

// Next returns the next op. Beyond Messages message ops it continues the same distribution
// over the existing threads.
func (g *Generator) Next() Op {
	var op Op
	if e := g.dueEdit(); e != nil {
		op.Edit = e
	} else {
		op.Message = g.nextMessage()
	}
	g.ops++
	return op
}

func (g *Generator) dueEdit() *Edit {
	for i, p := range g.pending {
		if p.due > g.ops {
			continue
		}
		g.pending = slices.Delete(g.pending, i, i+1)
		e := p.edit
		th := &g.threads[e.Thread]
		e.Text = g.editText(th, e.Text)
		e.At = g.tick()
		if g.rng.Float64() < editAgain {
			next := e
			next.NumEdit++
			g.pending = append(g.pending, pendingEdit{due: g.ops + 1 + g.rng.IntN(editDelayOps), edit: next})
		}
		return &e
	}
	return nil
}

func (g *Generator) nextMessage() *Message {
	c := &g.cfg
	i := g.msgOps
	g.msgOps++
	opened := len(g.threads)
	if i < c.Messages && opened < c.Threads {
		// Spreads thread openings over the fill so that exactly Threads exist at its end.
		p := float64(c.Threads-opened) / float64(c.Messages-i)
		if opened == 0 || g.rng.Float64() < p {
			return g.message(g.openThread(), true)
		}
	}
	dup := c.DuplicateRate
	if i < c.Messages {
		dup = g.dupFill
	}
	if g.recentN > 0 && g.rng.Float64() < dup {
		m := g.recent[(g.recentN-1-g.rng.IntN(min(g.recentN, recentCap)))%recentCap]
		m.Seq, m.Duplicate = g.ops, true
		return &m
	}
	t := 0
	if opened > 1 {
		t = int(g.zipf.Uint64() % uint64(opened)) // rank 0 = most active
	}
	return g.message(t, false)
}

func (g *Generator) openThread() int {
	t := len(g.threads)
	th := thread{
		link:  t % len(g.links),
		lang:  &languages[g.pickCDF(g.langCDF)],
		topic: g.pickCDF(g.topicCDF),
		order: 10000 + g.rng.IntN(90000),
	}
	if g.links[th.link].Messenger {
		// PSID-like: 16 digits, unique by construction.
		th.prospectID = strconv.FormatInt(2400000000000000+int64(t)*1000+int64(g.rng.IntN(1000)), 10)
	} else {
		th.username, th.displayName = g.person(th.lang, t)
		th.prospectID = th.username
	}
	g.threads = append(g.threads, th)
	return t
}

// person makes a username and display name; the thread number ends the username, which
// therefore is unique (every pattern ends in a letter before it).
func (g *Generator) person(l *language, t int) (username, display string) {
	f := l.firsts[g.rng.IntN(len(l.firsts))]
	ln := l.lasts[g.rng.IntN(len(l.lasts))]
	last := ln.male
	if f.female {
		last = ln.female
	}
	switch {
	case g.rng.IntN(10) == 0:
		display = f.display // some people only give a first name
	case l.cjk:
		display = last + f.display
	default:
		display = f.display + " " + last
	}
	n := strconv.Itoa(t)
	switch g.rng.IntN(5) {
	case 0:
		username = f.ascii + "." + ln.ascii + n
	case 1:
		username = f.ascii + "_" + ln.ascii + n
	case 2:
		username = f.ascii[:1] + ln.ascii + n
	case 3:
		username = f.ascii + ln.ascii + n
	default:
		username = f.ascii + "." + ln.ascii[:1] + n
	}
	return username, display
}

func (g *Generator) message(t int, first bool) *Message {
	th := &g.threads[t]
	link := &g.links[th.link]
	var inbound bool
	switch {
	case first:
		inbound = g.rng.Float64() < firstInbound
	case th.lastInbound:
		inbound = g.rng.Float64() >= replyAfterInbound
	default:
		inbound = g.rng.Float64() >= replyAfterOutbound
	}
	topic := th.topic
	switch {
	case th.lang.code == "en" && g.rng.Float64() < warrantyRate:
		topic = topicWarranty
	case g.rng.Float64() >= stayOnTopic:
		topic = g.pickCDF(g.topicCDF)
	}
	m := &Message{
		Seq: g.ops, Link: th.link, Thread: t, ProspectID: th.prospectID,
		Username: th.username, DisplayName: th.displayName,
		Outbound: !inbound, Lang: th.lang.code,
		Text:   g.text(th, topic, inbound, first),
		SentAt: g.tick(),
	}
	if link.Messenger {
		m.PlatformMessageID = g.mid(m.Seq)
	} else {
		m.PlatformMessageID = "api-" + strconv.Itoa(m.Seq)
	}
	g.recent[g.recentN%recentCap] = *m
	g.recentN++
	if link.Messenger && inbound && g.rng.Float64() < g.cfg.EditRate {
		g.pending = append(g.pending, pendingEdit{due: g.ops + 1 + g.rng.IntN(editDelayOps), edit: Edit{
			Link: th.link, Thread: t, ProspectID: th.prospectID, PlatformMessageID: m.PlatformMessageID,
			Text: m.Text, NumEdit: 1,
		}})
	}
	th.lastInbound = inbound
	if g.rng.Float64() < changeTopic {
		th.topic = g.pickCDF(g.topicCDF)
	}
	return m
}

// mid looks like a Messenger message id; the op index makes it unique.
func (g *Generator) mid(seq int) string {
	var raw [24]byte
	binary.LittleEndian.PutUint64(raw[0:], g.rng.Uint64())
	binary.LittleEndian.PutUint64(raw[8:], g.rng.Uint64())
	binary.BigEndian.PutUint64(raw[16:], uint64(seq))
	var out [2 + 32]byte
	out[0], out[1] = 'm', '_'
	base64.RawURLEncoding.Encode(out[2:], raw[:])
	return string(out[:])
}

// tick hands out the next timestamp: Start first, then strictly later whole milliseconds.
func (g *Generator) tick() time.Time {
	if g.started {
		g.elapsed += minStepMillis + int64(g.rng.ExpFloat64()*meanStepMillis)
	}
	g.started = true
	return g.cfg.Start.Add(time.Duration(g.elapsed) * time.Millisecond)
}

func (g *Generator) pick(ss []sentence) *sentence { return &ss[g.rng.IntN(len(ss))] }

// draw picks a sentence not yet in used (a bit set over ss, which has at most 64), and
// marks it; false when all are used.
func (g *Generator) draw(ss []sentence, used *uint64) (*sentence, bool) {
	i := g.rng.IntN(len(ss))
	for range len(ss) {
		if *used&(1<<i) == 0 {
			*used |= 1 << i
			return &ss[i], true
		}
		i = (i + 1) % len(ss)
	}
	return nil, false
}

// text writes one chat message: an optional greeting, sentences on the topic until the
// drawn length is reached (long inbound ones turn into complaints), an optional closer and
// emoji.
func (g *Generator) text(th *thread, topic int, inbound, first bool) string {
	l := th.lang
	target := math.Exp(math.Log(lengthMedian) + lengthSigma*g.rng.NormFloat64())
	if l.cjk {
		target *= cjkLength
	}
	target = min(target, maxTarget)
	b := g.buf[:0]
	short, greet, thanks, body := l.shortIn, l.greetIn, l.thanksIn, l.in[topic]
	if !inbound {
		short, greet, thanks, body = l.shortOut, l.greetOut, l.thanksOut, l.out[topic]
	}
	if len(body) == 0 {
		body = l.in[topicGeneral]
		if !inbound {
			body = l.out[topicGeneral]
		}
	}
	if target < shortBelow && !first {
		b = g.appendSentence(b, g.pick(short), th)
		return g.finish(b, l, inbound)
	}
	runes := 0
	pGreet := 0.12
	if first {
		pGreet = 0.7
	}
	sep := l.sep
	if g.rng.Float64() < pGreet {
		b = g.appendSentence(b, g.pick(greet), th)
		runes = utf8.RuneCount(b)
		if !l.cjk && (bytes.HasSuffix(b, []byte(",")) || bytes.HasSuffix(b, []byte("،"))) {
			sep = "\n" // "Hello,\nWhere is my order?"
		}
	}
	// Sentences are drawn without replacement: nobody asks the same thing twice in one
	// message, so a message ends when its topic (and, for complaints, patience) runs out.
	complain := inbound && target > 220
	var usedBody, usedComplaint uint64
	for n := 0; ; n++ {
		var s *sentence
		ok := false
		if complain && n > 0 && g.rng.IntN(2) == 0 {
			s, ok = g.draw(l.complaint, &usedComplaint)
		}
		if !ok {
			s, ok = g.draw(body, &usedBody)
		}
		if !ok || n > 0 && float64(runes+s.est/2) > target || runes+s.est+4 > maxText-40 {
			break
		}
		start := len(b)
		if runes > 0 {
			if runes > 300 && g.rng.IntN(5) == 0 {
				b = append(b, '\n', '\n') // long complaints come in paragraphs
			} else {
				b = append(b, sep...)
			}
			sep = l.sep
		}
		b = g.appendSentence(b, s, th)
		runes += utf8.RuneCount(b[start:])
	}
	if target > 40 && g.rng.Float64() < 0.2 && runes < maxText-60 {
		b = append(b, l.sep...)
		b = g.appendSentence(b, g.pick(thanks), th)
	}
	return g.finish(b, l, inbound)
}

func (g *Generator) finish(b []byte, l *language, inbound bool) string {
	if g.rng.IntN(12) == 0 {
		b = append(b, l.sep...)
		b = append(b, emoji[g.rng.IntN(len(emoji))]...)
	}
	if inbound && l.latin && g.rng.IntN(5) == 0 {
		// Chat style: many people don't bother with capitals.
		for i, c := range b {
			if 'A' <= c && c <= 'Z' {
				b[i] = c + ('a' - 'A')
			}
		}
	}
	g.buf = b
	return string(b)
}

func (g *Generator) appendSentence(b []byte, s *sentence, th *thread) []byte {
	l := th.lang
	for _, p := range s.pieces {
		switch p.slot {
		case 0:
			b = append(b, p.lit...)
		case 'o':
			order := th.order
			if g.rng.IntN(7) == 0 {
				order = 10000 + g.rng.IntN(90000) // another order of theirs
			}
			b = append(b, '#')
			b = strconv.AppendInt(b, int64(order), 10)
		case 'p':
			b = append(b, l.products[g.rng.IntN(len(l.products))]...)
		case 'd':
			b = append(b, l.days[g.rng.IntN(len(l.days))]...)
		case 's':
			b = append(b, sizes[g.rng.IntN(len(sizes))]...)
		case '$':
			b = append(b, l.prices[g.rng.IntN(len(l.prices))]...)
		case 't':
			b = append(b, "1Z"...)
			b = appendPadded(b, g.rng.Uint64N(1e12), 12)
		case 'u':
			b = append(b, "https://shop.example.com/o/"...)
			b = strconv.AppendInt(b, int64(th.order), 10)
		case 'n':
			b = strconv.AppendInt(b, int64(2+g.rng.IntN(4)), 10)
		}
	}
	return b
}

func appendPadded(b []byte, v uint64, width int) []byte {
	var d [20]byte
	s := strconv.AppendUint(d[:0], v, 10)
	for range width - len(s) {
		b = append(b, '0')
	}
	return append(b, s...)
}

// editText is the edited version of a message: people edit to add what they forgot.
func (g *Generator) editText(th *thread, old string) string {
	body := th.lang.in[th.topic]
	s := g.pick(body)
	if utf8.RuneCountInString(old)+s.est+4 > maxText-40 {
		old = ""
	}
	b := append(g.buf[:0], old...)
	if len(b) > 0 {
		b = append(b, th.lang.sep...)
	}
	b = g.appendSentence(b, s, th)
	g.buf = b
	return string(b)
}
