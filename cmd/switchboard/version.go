package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"runtime"
	"runtime/debug"
)

// version, when set at link time (-ldflags "-X main.version=v1.2.3"), wins over the module
// version the Go toolchain records.
var version string

// printVersion prints what a bug report needs: the version, the commit (and whether the tree
// had uncommitted changes) and the Go toolchain, all from the build information the Go
// toolchain embeds in the binary.
func printVersion(args []string, _ func(string) string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("version", flag.ContinueOnError)
	fs.SetOutput(flagOutput(args, stdout, stderr))
	setUsage(fs, "version")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("version: unexpected argument %q", fs.Arg(0))
	}
	b := buildInfo()
	fmt.Fprintf(stdout, "switchboard %s\n", b.version)
	line := "commit " + b.commit
	if b.when != "" {
		line += " (" + b.when + ")"
	}
	if b.modified {
		line += ", with uncommitted changes"
	}
	fmt.Fprintln(stdout, line)
	fmt.Fprintf(stdout, "%s %s/%s\n", b.goVersion, runtime.GOOS, runtime.GOARCH)
	return nil
}

type build struct {
	version, commit, when, goVersion string
	modified                         bool
}

// buildInfo reads what the Go toolchain recorded in the binary.
func buildInfo() build {
	b := build{version: version, commit: "unknown", goVersion: runtime.Version()}
	if info, ok := debug.ReadBuildInfo(); ok {
		if b.version == "" {
			b.version = info.Main.Version
		}
		b.goVersion = info.GoVersion
		for _, s := range info.Settings {
			switch s.Key {
			case "vcs.revision":
				b.commit = s.Value
			case "vcs.time":
				b.when = s.Value
			case "vcs.modified":
				b.modified = s.Value == "true"
			}
		}
	}
	if b.version == "" {
		b.version = "(devel)"
	}
	return b
}
