// Package settings binds a program's settings to command-line flags, to
// environment variables with the program's prefix, and to a TOML file
// named by --config (or PREFIX_CONFIG). A flag wins over the environment,
// the environment over the file, the file over the default. Every
// variable with the prefix, and every key of the file, must name a known
// setting: a misspelt one is an error that says where it is and lists the
// known ones, never a setting silently ignored.
//
// In the file a setting is written under its flag's name:
//
//	addr = "0.0.0.0:8080"
//	sync-schedule = "@every 15m"
//	sync-attempts = 5
//	relay-fast = false
//	session-idle = "30m"
package settings

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/BurntSushi/toml"

	"chancery/shared/i18n"
	"chancery/shared/problem"
)

// Set is the settings of one command.
type Set struct {
	fs     *flag.FlagSet
	prefix string
	env    map[string]string
	known  []string // variables
	names  []string // flag names, the file's keys
	errs   []string
	file   string         // the config file, if one is named
	values map[string]any // its keys
	apply  []func()       // each setting's file and environment value, in order
	docs   []doc
}

// doc is a setting as the example file shows it.
type doc struct{ name, value, usage string }

// New reads the variables of environ (as os.Environ gives them) that
// start with prefix, such as "CHANCERY_AGENT_", and, if args name one
// with --config (or the variable PREFIX_CONFIG does), the config file.
// args are the command's arguments, which the caller parses afterwards.
func New(fs *flag.FlagSet, prefix string, environ []string, args ...string) *Set {
	s := &Set{fs: fs, prefix: prefix, env: map[string]string{}}
	for _, kv := range environ {
		k, v, _ := strings.Cut(kv, "=")
		if strings.HasPrefix(k, prefix) {
			s.env[k] = v
		}
	}
	k := s.key("config")
	s.file = s.env[k]
	for i, a := range args {
		if a == "--" {
			break
		}
		name, v, has := strings.Cut(strings.TrimLeft(a, "-"), "=")
		if !strings.HasPrefix(a, "-") || name != "config" {
			continue
		}
		if !has && i+1 < len(args) {
			v = args[i+1]
		}
		s.file = v
	}
	fs.StringVar(new(string), "config", s.file, "a TOML file of settings, each under its flag's name ("+k+")")
	if s.file != "" {
		s.values = map[string]any{}
		if _, err := toml.DecodeFile(s.file, &s.values); err != nil {
			var pe toml.ParseError
			if errors.As(err, &pe) {
				s.errs = append(s.errs, i18n.Local().T("settings.line", "File", s.file, "Line", fmt.Sprint(pe.Position.Line), "Why", pe.Message))
			} else {
				s.errs = append(s.errs, i18n.Local().T("settings.unreadable", "File", s.file, "Why", err))
			}
		}
	}
	return s
}

func (s *Set) key(name string) string {
	return s.prefix + strings.ToUpper(strings.ReplaceAll(name, "-", "_"))
}

// bind records a setting: its default now, then (at Check) its file and
// environment values, read by parse; the flag itself is fs's.
func (s *Set) bind(name, kind, def string, parse func(string) error, fromFile func(any) bool, register func(usage string), usage string) {
	if i18n.Has(usage) {
		usage = i18n.Local().T(usage)
	}
	k := s.key(name)
	s.docs = append(s.docs, doc{name, def, usage + " (" + k + ")"})
	s.known = append(s.known, k)
	s.names = append(s.names, name)
	register(usage + " (" + k + ")")
	s.apply = append(s.apply, func() {
		if v, ok := s.values[name]; ok && !fromFile(v) {
			s.errs = append(s.errs, i18n.Local().T("settings.bad_value", "File", s.file, "Name", name, "Value", show(v), "Kind", kind))
		}
		if v, ok := s.env[k]; ok {
			if err := parse(v); err != nil {
				s.errs = append(s.errs, i18n.Local().T("settings.bad_env", "Name", k, "Value", v, "Kind", kind))
			}
		}
	})
}

func show(v any) string {
	if str, ok := v.(string); ok {
		return strconv.Quote(str)
	}
	return fmt.Sprint(v)
}

// String binds a string setting: flag --name, variable PREFIX_NAME, key
// name in the file.
func (s *Set) String(p *string, name, def, usage string) {
	*p = def
	s.bind(name, i18n.Local().T("settings.kind_text"), strconv.Quote(def), func(v string) error { *p = v; return nil },
		func(v any) bool {
			str, ok := v.(string)
			if ok {
				*p = str
			}
			return ok
		},
		func(u string) { s.fs.StringVar(p, name, def, u) }, usage)
}

// Duration binds a duration setting, written like 30m or 12h.
func (s *Set) Duration(p *time.Duration, name string, def time.Duration, usage string) {
	*p = def
	parse := func(v string) error {
		d, err := time.ParseDuration(v)
		if err == nil {
			*p = d
		}
		return err
	}
	s.bind(name, i18n.Local().T("settings.kind_duration"), strconv.Quote(shortDuration(def)), parse,
		func(v any) bool { str, ok := v.(string); return ok && parse(str) == nil },
		func(u string) { s.fs.DurationVar(p, name, def, u) }, usage)
}

// Int binds a whole-number setting of at least min.
func (s *Set) Int(p *int, name string, def, min int, usage string) {
	*p = def
	set := func(n int64) bool {
		if n < int64(min) {
			return false
		}
		*p = int(n)
		return true
	}
	s.bind(name, i18n.Local().T("settings.kind_int", "Min", fmt.Sprint(min)), strconv.Itoa(def),
		func(v string) error {
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil || !set(n) {
				return errors.New("bad")
			}
			return nil
		},
		func(v any) bool { n, ok := v.(int64); return ok && set(n) },
		func(u string) { s.fs.IntVar(p, name, def, u) }, usage)
}

// Bool binds an on/off setting, written true or false.
func (s *Set) Bool(p *bool, name string, def bool, usage string) {
	*p = def
	s.bind(name, i18n.Local().T("settings.kind_bool"), strconv.FormatBool(def),
		func(v string) error {
			b, err := strconv.ParseBool(v)
			if err == nil {
				*p = b
			}
			return err
		},
		func(v any) bool {
			b, ok := v.(bool)
			if ok {
				*p = b
			}
			return ok
		},
		func(u string) { s.fs.BoolVar(p, name, def, u) }, usage)
}

// Check applies the file's values, then the environment's, and reports
// unknown keys and variables and values that could not be read. The
// caller parses the flags after it.
func (s *Set) Check() error {
	for k := range s.values {
		if !slices.Contains(s.names, k) {
			s.errs = append(s.errs, i18n.Local().T("settings.unknown_key", "File", s.file, "Key", k, "Known", strings.Join(s.names, ", ")))
		}
	}
	for _, a := range s.apply {
		a()
	}
	known := append(slices.Clone(s.known), s.key("config"))
	for k := range s.env {
		if !slices.Contains(known, k) {
			s.errs = append(s.errs, i18n.Local().T("settings.unknown_env", "Name", k, "Known", strings.Join(known, ", ")))
		}
	}
	if len(s.errs) > 0 {
		slices.Sort(s.errs)
		return fmt.Errorf("%s", strings.Join(s.errs, "; "))
	}
	return nil
}

// shortDuration writes 30m rather than 30m0s.
func shortDuration(d time.Duration) string {
	v := d.String()
	if strings.HasSuffix(v, "m0s") {
		v = strings.TrimSuffix(v, "0s")
	}
	if strings.HasSuffix(v, "h0m") {
		v = strings.TrimSuffix(v, "0m")
	}
	return v
}

// Example writes a config file that sets every setting to its default,
// each with what it does, commented out: the file an operator starts
// from. title heads it.
func (s *Set) Example(w io.Writer, title string) error {
	var b strings.Builder
	fmt.Fprintf(&b, "# %s\n#\n# Every setting, at its default and commented out. A setting given\n# in the environment (the variable in brackets) or as a flag wins\n# over this file. Durations are written like \"30m\" or \"12h\".\n", title)
	for _, d := range s.docs {
		fmt.Fprintf(&b, "\n")
		for _, l := range wrap(d.usage, 72) {
			fmt.Fprintf(&b, "# %s\n", l)
		}
		fmt.Fprintf(&b, "# %s = %s\n", d.name, d.value)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// wrap breaks text into lines of at most n characters, at spaces.
func wrap(text string, n int) []string {
	var out []string
	line := ""
	for _, w := range strings.Fields(text) {
		if line != "" && len(line)+1+len(w) > n {
			out = append(out, line)
			line = ""
		}
		if line != "" {
			line += " "
		}
		line += w
	}
	return append(out, line)
}

// File is the config file named, if any.
func (s *Set) File() string { return s.file }

// CheckAddr validates a listening address for a web interface.
func CheckAddr(addr string) error {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return problem.New(problem.Invalid, "settings.addr", "Addr", addr)
	}
	if host != "" && net.ParseIP(host) == nil && host != "localhost" {
		return problem.New(problem.Invalid, "settings.addr_host", "Addr", addr)
	}
	if _, err := net.LookupPort("tcp", port); err != nil {
		return problem.New(problem.Invalid, "settings.addr_port", "Addr", addr)
	}
	return nil
}
