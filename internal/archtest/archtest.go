// Package archtest holds the architecture's import rules, checked by its test over the module's
// packages (go list): the domain does no I/O, and neither commands nor projections reach an
// adapter. Only its test uses it.
package archtest

import (
	"slices"
	"strings"
)

// Module is the module's import path.
const Module = "github.com/switchboard-oss/switchboard"

// Package is what go list says of one package.
type Package struct {
	ImportPath string
	Imports    []string // direct, without tests
	Deps       []string // transitive, without tests
}

// Rule forbids the packages under From from depending on some packages.
type Rule struct {
	From string // a package path prefix (a folder of the module and everything under it)
	// Never may not be reached at all, directly or through another package; Direct may not be
	// imported directly (the standard library reaches "os" from "fmt", so only a direct import
	// of it says the package does I/O itself).
	Never, Direct []string
	Why           string
}

// adapters are the module's packages that talk to the outside world, and the wiring above them.
var adapters = []string{Module + "/adapters", Module + "/server", Module + "/cmd", Module + "/search", Module + "/bench", Module + "/internal/testenv"}

// ioLibs are the libraries of databases, brokers, search engines and transports.
var ioLibs = []string{
	"database/sql", "net/http", "net/rpc", "os/exec", "net/smtp",
	"google.golang.org/protobuf", "google.golang.org/grpc", "connectrpc.com",
	"github.com/IBM/sarama", "github.com/twmb/franz-go", "github.com/ThreeDotsLabs",
	"github.com/jackc/pgx", "modernc.org/sqlite", "github.com/blevesearch", "github.com/elastic",
	Module + "/proto",
}

// Rules are the module's import rules.
var Rules = []Rule{
	{
		From: Module + "/domain", Never: append(slices.Clone(adapters), ioLibs...),
		Direct: []string{"os", "net", "syscall", "io/ioutil", "io/fs", "log/slog"},
		Why:    "the domain is rules only: no database, proto, Kafka, HTTP or file I/O",
	},
	{From: Module + "/commands", Never: adapters, Why: "commands reach the world through ports (eventlog, projections' readers), never an adapter"},
	{From: Module + "/projections", Never: adapters, Why: "projections are written once, above every read-model adapter"},
}

// Violations returns, for each broken rule, "pkg imports dep (why)".
func Violations(pkgs []Package, rules []Rule) []string {
	var out []string
	for _, p := range pkgs {
		for _, r := range rules {
			if !under(p.ImportPath, r.From) {
				continue
			}
			for _, d := range p.Deps {
				if matchesAny(d, r.Never) {
					out = append(out, p.ImportPath+" depends on "+d+" ("+r.Why+")")
				}
			}
			for _, d := range p.Imports {
				if slices.Contains(r.Direct, d) {
					out = append(out, p.ImportPath+" imports "+d+" ("+r.Why+")")
				}
			}
		}
	}
	return out
}

func matchesAny(path string, prefixes []string) bool {
	return slices.ContainsFunc(prefixes, func(p string) bool { return under(path, p) })
}

// under says whether path is prefix or a package below it.
func under(path, prefix string) bool {
	return path == prefix || strings.HasPrefix(path, prefix+"/")
}
