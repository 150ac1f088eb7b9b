// Package settings binds a program's settings to command-line flags and
// to environment variables with the program's prefix. A flag wins over
// the environment, the environment over the default. Every variable with
// the prefix must name a known setting: a misspelt one is an error that
// lists the known ones, never a setting silently ignored.
package settings

import (
	"flag"
	"fmt"
	"net"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Set is the settings of one command.
type Set struct {
	fs     *flag.FlagSet
	prefix string
	env    map[string]string
	known  []string
	errs   []string
}

// New reads the variables of environ (as os.Environ gives them) that
// start with prefix, such as "CHANCERY_AGENT_".
func New(fs *flag.FlagSet, prefix string, environ []string) *Set {
	s := &Set{fs: fs, prefix: prefix, env: map[string]string{}}
	for _, kv := range environ {
		k, v, _ := strings.Cut(kv, "=")
		if strings.HasPrefix(k, prefix) {
			s.env[k] = v
		}
	}
	return s
}

func (s *Set) key(name string) string {
	return s.prefix + strings.ToUpper(strings.ReplaceAll(name, "-", "_"))
}

// String binds a string setting: flag --name, variable PREFIX_NAME.
func (s *Set) String(p *string, name, def, usage string) {
	k := s.key(name)
	s.known = append(s.known, k)
	*p = def
	if v, ok := s.env[k]; ok {
		*p = v
	}
	s.fs.StringVar(p, name, *p, usage+" ("+k+")")
}

// Duration binds a duration setting, written like 30m or 12h.
func (s *Set) Duration(p *time.Duration, name string, def time.Duration, usage string) {
	k := s.key(name)
	s.known = append(s.known, k)
	*p = def
	if v, ok := s.env[k]; ok {
		d, err := time.ParseDuration(v)
		if err != nil {
			s.errs = append(s.errs, fmt.Sprintf("%s=%q is not a duration; write it like 30m or 12h", k, v))
		} else {
			*p = d
		}
	}
	s.fs.DurationVar(p, name, *p, usage+" ("+k+")")
}

// Int binds a whole-number setting of at least min.
func (s *Set) Int(p *int, name string, def, min int, usage string) {
	k := s.key(name)
	s.known = append(s.known, k)
	*p = def
	if v, ok := s.env[k]; ok {
		n, err := strconv.Atoi(v)
		if err != nil || n < min {
			s.errs = append(s.errs, fmt.Sprintf("%s=%q is not a whole number of at least %d", k, v, min))
		} else {
			*p = n
		}
	}
	s.fs.IntVar(p, name, *p, usage+" ("+k+")")
}

// Bool binds an on/off setting, written true or false.
func (s *Set) Bool(p *bool, name string, def bool, usage string) {
	k := s.key(name)
	s.known = append(s.known, k)
	*p = def
	if v, ok := s.env[k]; ok {
		b, err := strconv.ParseBool(v)
		if err != nil {
			s.errs = append(s.errs, fmt.Sprintf("%s=%q is neither true nor false", k, v))
		} else {
			*p = b
		}
	}
	s.fs.BoolVar(p, name, *p, usage+" ("+k+")")
}

// Check reports unknown variables and values that could not be read.
func (s *Set) Check() error {
	for k := range s.env {
		if !slices.Contains(s.known, k) {
			s.errs = append(s.errs, fmt.Sprintf("unknown setting %s in the environment; the known ones are %s", k, strings.Join(s.known, ", ")))
		}
	}
	if len(s.errs) > 0 {
		slices.Sort(s.errs)
		return fmt.Errorf("%s", strings.Join(s.errs, "; "))
	}
	return nil
}

// CheckAddr validates a listening address for a web interface.
func CheckAddr(addr string) error {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("address %q is not host:port; for example 127.0.0.1:8080, or 0.0.0.0:8080 for the whole network", addr)
	}
	if host != "" && net.ParseIP(host) == nil && host != "localhost" {
		return fmt.Errorf("address %q: the host must be an IP address or localhost", addr)
	}
	if _, err := net.LookupPort("tcp", port); err != nil {
		return fmt.Errorf("address %q: bad port", addr)
	}
	return nil
}
