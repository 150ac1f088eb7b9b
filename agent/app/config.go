package app

import (
	"flag"
	"fmt"
	"net"
	"slices"
	"strings"
	"time"
)

// Config is the agent's configuration. Each field can be set by a flag or
// by the environment variable named in its comment; a flag wins. Every
// variable starting CHANCERY_AGENT_ must be one of these: a misspelt
// setting stops the agent with the list of known ones, rather than being
// silently ignored.
type Config struct {
	Addr          string        // CHANCERY_AGENT_ADDR: where the web interface listens
	Data          string        // CHANCERY_AGENT_DATA: the folder holding the database
	MissionName   string        // CHANCERY_AGENT_MISSION_NAME: shown in every page header
	AdminPassword string        // CHANCERY_AGENT_ADMIN_PASSWORD: the first administrator's password, used at first start only
	SessionIdle   time.Duration // CHANCERY_AGENT_SESSION_IDLE: a session unused this long ends
	SessionMax    time.Duration // CHANCERY_AGENT_SESSION_MAX: a session ends this long after login
}

// Defaults. The agent listens on loopback until told otherwise: opening it
// to the embassy LAN is a decision, not an accident.
func defaults() Config {
	return Config{
		Addr:        "127.0.0.1:8080",
		Data:        "chancery-data",
		SessionIdle: 30 * time.Minute,
		SessionMax:  12 * time.Hour,
	}
}

var envKeys = []string{
	"CHANCERY_AGENT_ADDR", "CHANCERY_AGENT_DATA", "CHANCERY_AGENT_MISSION_NAME", "CHANCERY_AGENT_ADMIN_PASSWORD",
	"CHANCERY_AGENT_SESSION_IDLE", "CHANCERY_AGENT_SESSION_MAX",
}

// bind registers the flags of the config on fs, with defaults taken from
// the environment, which must name only known settings.
func (c *Config) bind(fs *flag.FlagSet, environ []string) error {
	*c = defaults()
	env := map[string]string{}
	for _, kv := range environ {
		k, v, _ := strings.Cut(kv, "=")
		if !strings.HasPrefix(k, "CHANCERY_AGENT_") {
			continue
		}
		if !slices.Contains(envKeys, k) {
			return fmt.Errorf("unknown setting %s in the environment; the agent knows %s", k, strings.Join(envKeys, ", "))
		}
		env[k] = v
	}
	str := func(p *string, name, key, usage string) {
		if v, ok := env[key]; ok {
			*p = v
		}
		fs.StringVar(p, name, *p, usage+" ("+key+")")
	}
	dur := func(p *time.Duration, name, key, usage string) error {
		if v, ok := env[key]; ok {
			d, err := time.ParseDuration(v)
			if err != nil {
				return fmt.Errorf("%s=%q is not a duration; write it like 30m or 12h", key, v)
			}
			*p = d
		}
		fs.DurationVar(p, name, *p, usage+" ("+key+")")
		return nil
	}
	str(&c.Addr, "addr", "CHANCERY_AGENT_ADDR", "address of the web interface, host:port")
	str(&c.Data, "data", "CHANCERY_AGENT_DATA", "folder for the mission's database")
	str(&c.MissionName, "mission-name", "CHANCERY_AGENT_MISSION_NAME", "name of the mission, shown on every page")
	str(&c.AdminPassword, "admin-password", "CHANCERY_AGENT_ADMIN_PASSWORD", "password of the first administrator, at first start only; generated and printed if empty")
	if err := dur(&c.SessionIdle, "session-idle", "CHANCERY_AGENT_SESSION_IDLE", "idle time after which a session ends"); err != nil {
		return err
	}
	return dur(&c.SessionMax, "session-max", "CHANCERY_AGENT_SESSION_MAX", "time after login at which a session ends")
}

// check validates the config after parsing.
func (c *Config) check() error {
	host, port, err := net.SplitHostPort(c.Addr)
	if err != nil {
		return fmt.Errorf("address %q is not host:port; for example 127.0.0.1:8080, or 0.0.0.0:8080 for the whole LAN", c.Addr)
	}
	if host != "" && net.ParseIP(host) == nil && host != "localhost" {
		return fmt.Errorf("address %q: the host must be an IP address or localhost", c.Addr)
	}
	if _, err := net.LookupPort("tcp", port); err != nil {
		return fmt.Errorf("address %q: bad port", c.Addr)
	}
	if c.Data == "" {
		return fmt.Errorf("the data folder cannot be empty; give --data or CHANCERY_AGENT_DATA")
	}
	if c.SessionIdle < time.Minute || c.SessionMax < c.SessionIdle {
		return fmt.Errorf("sessions: idle time must be at least 1m and no longer than the maximum age (now %s and %s)", c.SessionIdle, c.SessionMax)
	}
	if len(c.MissionName) > 100 {
		return fmt.Errorf("the mission name is limited to 100 characters")
	}
	return nil
}
