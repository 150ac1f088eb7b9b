// Package cli is the frame of Chancery's command-line programs: commands
// by name, usage text, and exit statuses (0 done, 1 failed, 2 misused).
package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"runtime/debug"
	"sort"

	"chancery/shared/i18n"
	"chancery/shared/problem"
)

// P is the printer of the command line's language: the operator's locale
// (LC_ALL, LC_MESSAGES, LANG) where Chancery speaks it, else English.
var P = i18n.Local

// Say writes the catalog message key, with its parameters, as a line.
func Say(w io.Writer, key string, args ...any) {
	fmt.Fprintln(w, P().T(key, args...))
}

// Command runs one command with its arguments.
type Command func(ctx context.Context, args []string, stdout, stderr io.Writer) error

// Program is a command-line program.
type Program struct {
	Name string
	// Usage is the program's help, or the catalog key of it.
	Usage    string
	Version  string
	Commands map[string]Command
}

// ErrUsage marks an error in how the program was called; it exits 2.
var ErrUsage = errors.New("usage")

// Usagef returns an ErrUsage error with a message saying what is wrong.
func Usagef(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrUsage, fmt.Sprintf(format, args...))
}

// Usage returns an ErrUsage error whose message is the catalog message
// key, said in the command line's language.
func Usage(key string, args ...any) error {
	return usageError{problem.New(problem.Invalid, key, args...).(*problem.Error)}
}

type usageError struct{ e *problem.Error }

func (u usageError) Is(target error) bool      { return target == ErrUsage }
func (u usageError) Unwrap() error             { return u.e }
func (u usageError) Error() string             { return "usage: " + u.e.Error() }
func (u usageError) In(p *i18n.Printer) string { return u.e.In(p) }

// Main runs the command named by args[0] and returns the exit status.
func (p Program) Main(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if i18n.Has(p.Usage) {
		p.Usage = P().T(p.Usage)
	}
	if len(args) == 0 {
		fmt.Fprint(stderr, p.Usage)
		return 2
	}
	var err error
	switch name := args[0]; name {
	case "version", "--version", "-version":
		fmt.Fprintln(stdout, p.Name, p.Version, Build())
	case "help", "-h", "--help":
		fmt.Fprint(stdout, p.Usage)
	default:
		cmd, ok := p.Commands[name]
		if !ok {
			fmt.Fprintf(stderr, "%s: %s\n\n%s", p.Name, P().T("cli.unknown_command", "Name", name), p.Usage)
			return 2
		}
		err = cmd(ctx, args[1:], stdout, stderr)
	}
	switch {
	case err == nil, errors.Is(err, flag.ErrHelp):
		return 0
	case errors.Is(err, ErrUsage):
		var u usageError
		if errors.As(err, &u) {
			fmt.Fprintln(stderr, p.Name+":", P().T("cli.usage", "Why", u.In(P())))
		} else {
			fmt.Fprintln(stderr, p.Name+":", err)
		}
		return 2
	}
	fmt.Fprintln(stderr, p.Name+":", say(err))
	return 1
}

// say is an error in the command line's language: a coded error says its
// catalog message; any other, its text.
func say(err error) string {
	var pe *problem.Error
	if errors.As(err, &pe) && error(pe) == err {
		return pe.In(P())
	}
	if l, ok := err.(i18n.Localizable); ok {
		return l.In(P())
	}
	return err.Error()
}

// Logger makes a program's logger: lines of key=value text, or JSON
// objects for a log collector (format "json").
func Logger(w io.Writer, format string) (*slog.Logger, error) {
	switch format {
	case "", "text":
		return slog.New(slog.NewTextHandler(w, nil)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(w, nil)), nil
	}
	return nil, fmt.Errorf("the log format %q is neither text nor json", format)
}

// Build says which commit the program was built from, and with which
// Go: "(commit 1a2b3c4d5e6f, go1.26.8)", with "-modified" when the tree
// had uncommitted changes; "(commit unknown, …)" outside a checkout.
func Build() string {
	rev, modified := "unknown", ""
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return "(commit unknown)"
	}
	for _, s := range info.Settings {
		switch {
		case s.Key == "vcs.revision":
			rev = s.Value[:min(len(s.Value), 12)]
		case s.Key == "vcs.modified" && s.Value == "true":
			modified = "-modified"
		}
	}
	return fmt.Sprintf("(commit %s%s, %s)", rev, modified, info.GoVersion)
}

// Names lists the commands, sorted, for tests and help.
func (p Program) Names() []string {
	var out []string
	for n := range p.Commands {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}
