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
	v, commit, when, modified, goVersion := version, "unknown", "", false, runtime.Version()
	if info, ok := debug.ReadBuildInfo(); ok {
		if v == "" {
			v = info.Main.Version
		}
		goVersion = info.GoVersion
		for _, s := range info.Settings {
			switch s.Key {
			case "vcs.revision":
				commit = s.Value
			case "vcs.time":
				when = s.Value
			case "vcs.modified":
				modified = s.Value == "true"
			}
		}
	}
	if v == "" {
		v = "(devel)"
	}
	fmt.Fprintf(stdout, "switchboard %s\n", v)
	line := "commit " + commit
	if when != "" {
		line += " (" + when + ")"
	}
	if modified {
		line += ", with uncommitted changes"
	}
	fmt.Fprintln(stdout, line)
	fmt.Fprintf(stdout, "%s %s/%s\n", goVersion, runtime.GOOS, runtime.GOARCH)
	return nil
}
