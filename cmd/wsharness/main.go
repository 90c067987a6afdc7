// Command wsharness tests WebSocket servers: conformance to RFC 6455 and
// load. Subcommands are thin; the work lives in the library packages.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime/debug"
	"sort"
	"strings"
	"syscall"

	"github.com/wsharness/wsharness/reports"
)

// Exit codes, documented in the README.
const (
	exitOK          = 0
	exitCasesFailed = 1   // conformance cases failed
	exitUsage       = 2   // bad flags or arguments
	exitUnreachable = 3   // a target could not be started or reached
	exitThreshold   = 4   // a load threshold failed
	exitInternal    = 5   // anything else
	exitInterrupted = 130 // stopped by SIGINT/SIGTERM; partial results written
)

// exitError carries an exit code through to main.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string { return e.err.Error() }
func (e *exitError) Unwrap() error { return e.err }

func usageError(format string, args ...any) error {
	return &exitError{code: exitUsage, err: fmt.Errorf(format, args...)}
}

// command is one subcommand.
type command struct {
	summary string
	run     func(args []string, stdout, stderr io.Writer) error
}

var commands = map[string]command{
	"serve":         {"start one reference target", runServe},
	"targets":       {"list the reference targets and the external ones with their availability", runTargets},
	"cases":         {"list the conformance case catalog", runCases},
	"conformance":   {"test servers and clients against the conformance catalog (make conformance without a checkout)", runConformance},
	"fuzzingserver": {"serve the client cases over Autobahn's fuzzing-server protocol, for existing client test drivers", runFuzzingServer},
	"summary":       {"print a conformance results.json summary; exit 1 on unexpected failures", runSummary},
	"load":          {"generate load and measure latency, fan-out and connection rate", runLoad},
	"bench":         {"run the standard load workloads against the reference targets and compare them", runBench},
	"report":        {"render results as " + reports.FormatList(" or ", func(f reports.Format) string { return f.Name }) + "; compare them with a baseline", runReport},
	"probe":         {"check that a URL completes a WebSocket handshake (container healthchecks)", runProbe},
	"merge":         {"merge the load results of workers that split one load into one result", runMerge},
}

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// envTraceback, set to anything but "" or "0", makes an internal error
// print its stack trace after the one-line message.
const envTraceback = "WSH_TRACEBACK"

// run runs one command and returns the exit status. Every error is
// printed as one line, "wsharness COMMAND: what and where"; a panic in
// the command is an internal error (exit 5), printed the same way.
func run(args []string, stdout, stderr io.Writer) (code int) {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		usage(stderr)
		if len(args) == 0 {
			return exitUsage
		}
		return exitOK
	}
	cmd, ok := commands[args[0]]
	if !ok {
		fmt.Fprintf(stderr, "wsharness: unknown command %q (commands: %s; 'wsharness help' describes them)\n", args[0], strings.Join(commandNames(), ", "))
		return exitUsage
	}
	defer func() {
		if v := recover(); v != nil {
			fmt.Fprintf(stderr, "wsharness %s: internal error: %s (please report it; %s=1 prints the stack trace)\n", args[0], oneLine(fmt.Sprint(v)), envTraceback)
			if t := os.Getenv(envTraceback); t != "" && t != "0" {
				_, _ = stderr.Write(debug.Stack())
			}
			code = exitInternal
		}
	}()
	err := cmd.run(args[1:], stdout, stderr)
	if err == nil {
		return exitOK
	}
	if errors.Is(err, flag.ErrHelp) {
		return exitOK
	}
	fmt.Fprintf(stderr, "wsharness %s: %s\n", args[0], oneLine(err.Error()))
	var ee *exitError
	if errors.As(err, &ee) {
		return ee.code
	}
	return exitInternal
}

// oneLine joins the lines of a message (YAML errors list one problem a
// line) so that every error is a single line.
func oneLine(s string) string {
	var b strings.Builder
	for _, l := range strings.Split(s, "\n") {
		if l = strings.TrimSpace(l); l == "" {
			continue
		}
		if b.Len() > 0 {
			if strings.HasSuffix(b.String(), ":") {
				b.WriteString(" ")
			} else {
				b.WriteString("; ")
			}
		}
		b.WriteString(l)
	}
	return b.String()
}

func commandNames() []string {
	names := make([]string, 0, len(commands))
	for n := range commands {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "usage: wsharness <command> [flags]")
	fmt.Fprintln(w, "\ncommands:")
	width := 0
	for n := range commands {
		width = max(width, len(n))
	}
	for _, n := range commandNames() {
		fmt.Fprintf(w, "  %-*s  %s\n", width, n, commands[n].summary)
	}
	fmt.Fprintln(w, "\nRun 'wsharness <command> -h' for a command's flags.")
}

// interruptible returns a context that SIGINT or SIGTERM cancels, for a
// command to stop and keep what it measured. The first signal restores
// the default handling, so a second one ends the process at once.
func interruptible() (context.Context, context.CancelFunc) {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	go func() {
		<-ctx.Done()
		stop()
	}()
	return ctx, stop
}

// newFlags returns a flag set that reports errors instead of exiting.
func newFlags(name, synopsis string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	if flagSetMade != nil {
		flagSetMade(fs)
	}
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintf(stderr, "usage: wsharness %s %s\n\nflags:\n", name, synopsis)
		fs.PrintDefaults()
	}
	return fs
}

// flagSetMade, when set, is given every flag set newFlags makes: a test
// gets a command's real flags by running it with -h alone, which returns
// right after parsing, and can then parse a command line with them
// without running the command (cmd/wsharness/kubernetes_test.go).
var flagSetMade func(*flag.FlagSet)

// parseFlagsOnly parses the flags of a command that takes no other
// arguments.
func parseFlagsOnly(fs *flag.FlagSet, args []string) error {
	if err := parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usageError("unexpected arguments: %v", fs.Args())
	}
	return nil
}

// parse parses flags, turning errors into one-line usage errors: the
// flag list is printed for -h only, not after every mistake.
func parse(fs *flag.FlagSet, args []string) error {
	out, usage := fs.Output(), fs.Usage
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	err := fs.Parse(args)
	fs.SetOutput(out)
	fs.Usage = usage
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			usage()
			return err
		}
		return usageError("%v (see 'wsharness %s -h')", err, fs.Name())
	}
	return nil
}
