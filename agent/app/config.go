package app

import (
	"encoding/base64"
	"flag"
	"fmt"
	"net"
	"strings"
	"time"

	"chancery/shared/backup"
	"chancery/shared/i18n"
	"chancery/shared/problem"
	"chancery/shared/settings"
	"chancery/sync/schedule"
	"chancery/web"
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
	SyncSchedule  string        // CHANCERY_AGENT_SYNC_SCHEDULE: when to sync with HQ (cron)
	SyncAttempts  int           // CHANCERY_AGENT_SYNC_ATTEMPTS: tries per request before a sync gives up until the next
	RelayBind     string        // CHANCERY_AGENT_RELAY_BIND: where to meet peer missions, host:port; empty: alone
	RelaySeeds    string        // CHANCERY_AGENT_RELAY_SEEDS: peers to join, host:port, comma-separated
	RelayKey      string        // CHANCERY_AGENT_RELAY_KEY: the gossip key the peers share, base64 of 32 bytes
	RelayNetworks string        // CHANCERY_AGENT_RELAY_NETWORKS: the networks peers may be in, CIDR, comma-separated
	RelayFast     bool          // CHANCERY_AGENT_RELAY_FAST: notice a peer gone within a second, on a fast LAN
	relayKey      []byte        // RelayKey, decoded by check
	relayNets     []net.IPNet   // RelayNetworks, parsed by check
	RelayQuotaMB  int           // CHANCERY_AGENT_RELAY_QUOTA_MB: the most pouches carried for peers may take, in MB
	TLSSelfSigned bool          // CHANCERY_AGENT_TLS_SELF_SIGNED: serve the web interface over HTTPS with a certificate made at first start
	TLSCert       string        // CHANCERY_AGENT_TLS_CERT: serve over HTTPS with this PEM certificate (chain)…
	TLSKey        string        // CHANCERY_AGENT_TLS_KEY: …and this PEM private key
	HQCA          string        // CHANCERY_AGENT_HQ_CA: the CA certificates (PEM) HQ's certificate is checked against; empty: the system's
	KeyFile       string        // CHANCERY_AGENT_KEY_FILE: the file that opens the private keys sealed in the database; empty: keys.key beside it
	LogFormat     string        // CHANCERY_AGENT_LOG_FORMAT: text, or json for a log collector
	AccessLog     bool          // CHANCERY_AGENT_ACCESS_LOG: a log line for every request
	Language      string        // CHANCERY_AGENT_LANGUAGE: the pages' language for a browser that asks for none Chancery speaks
	Backups       backup.Config // CHANCERY_AGENT_BACKUP_…: backups on a schedule
}

func loopback(host string) bool {
	ip := net.ParseIP(host)
	return host == "localhost" || (ip != nil && ip.IsLoopback())
}

// DefaultRelayNetworks are the private and local networks: peers share
// a LAN, never the Internet.
const DefaultRelayNetworks = "10.0.0.0/8,172.16.0.0/12,192.168.0.0/16,127.0.0.0/8,fc00::/7,fe80::/10,::1/128"

// envPrefix starts every environment variable of the agent.
const envPrefix = "CHANCERY_AGENT_"

// bind registers the config's flags on fs, with defaults taken from the
// environment. The agent listens on loopback until told otherwise:
// opening it to the embassy LAN is a decision, not an accident.
func (c *Config) bind(fs *flag.FlagSet, environ, args []string) error {
	return c.settings(fs, environ, args).Check()
}

// settings binds every setting of the agent.
func (c *Config) settings(fs *flag.FlagSet, environ, args []string) *settings.Set {
	s := settings.New(fs, envPrefix, environ, args...)
	s.String(&c.Addr, "addr", "127.0.0.1:8080", "setting.agent.addr")
	s.String(&c.Data, "data", "chancery-data", "setting.agent.data")
	s.String(&c.MissionName, "mission-name", "", "setting.agent.mission-name")
	s.String(&c.SyncSchedule, "sync-schedule", schedule.DefaultSpec, "setting.agent.sync-schedule")
	s.Int(&c.SyncAttempts, "sync-attempts", 5, 1, "setting.agent.sync-attempts")
	s.String(&c.RelayBind, "relay-bind", "", "setting.agent.relay-bind")
	s.String(&c.RelaySeeds, "relay-seeds", "", "setting.agent.relay-seeds")
	s.String(&c.RelayKey, "relay-key", "", "setting.agent.relay-key")
	s.String(&c.RelayNetworks, "relay-networks", DefaultRelayNetworks, "setting.agent.relay-networks")
	s.Bool(&c.RelayFast, "relay-fast", false, "setting.agent.relay-fast")
	s.Int(&c.RelayQuotaMB, "relay-quota-mb", 256, 1, "setting.agent.relay-quota-mb")
	s.String(&c.AdminPassword, "admin-password", "", "setting.agent.admin-password")
	s.Duration(&c.SessionIdle, "session-idle", 30*time.Minute, "setting.agent.session-idle")
	s.Duration(&c.SessionMax, "session-max", 12*time.Hour, "setting.agent.session-max")
	s.Bool(&c.TLSSelfSigned, "tls-self-signed", false, "setting.agent.tls-self-signed")
	s.String(&c.TLSCert, "tls-cert", "", "setting.agent.tls-cert")
	s.String(&c.TLSKey, "tls-key", "", "setting.agent.tls-key")
	s.String(&c.KeyFile, "key-file", "", "setting.agent.key-file")
	s.String(&c.HQCA, "hq-ca", "", "setting.agent.hq-ca")
	s.String(&c.LogFormat, "log-format", "text", "setting.agent.log-format")
	s.Bool(&c.AccessLog, "access-log", true, "setting.agent.access-log")
	s.String(&c.Language, "language", "", i18n.Local().T("setting.language", "Choices", strings.Join(i18n.Languages(), ", ")))
	c.Backups.Bind(s, "chancery-agent")
	return s
}

// tls reports whether the web interface is served over HTTPS.
func (c *Config) tls() bool { return c.TLSSelfSigned || c.TLSCert != "" }

// certificate is the certificate the web interface serves HTTPS with, or
// nil for plain HTTP.
func (c *Config) certificate() (*web.Certificate, error) {
	switch {
	case c.TLSCert != "":
		return web.LoadCertificate(c.TLSCert, c.TLSKey)
	case c.TLSSelfSigned:
		host, _, _ := net.SplitHostPort(c.Addr)
		return web.SelfSigned(c.Data, []string{host})
	}
	return nil, nil
}

// check validates the config after parsing.
func (c *Config) check() error {
	if err := settings.CheckAddr(c.Addr); err != nil {
		return err
	}
	if c.LogFormat != "text" && c.LogFormat != "json" {
		return problem.New(problem.Invalid, "cli.bad_log_format", "Value", c.LogFormat, "Env", envPrefix+"LOG_FORMAT")
	}
	if c.Language != "" && !i18n.Supported(c.Language) {
		return problem.New(problem.Invalid, "cli.bad_language", "Value", c.Language, "Choices", strings.Join(i18n.Languages(), ", "), "Env", envPrefix+"LANGUAGE")
	}
	if c.Backups.Schedule != "" && strings.TrimSpace(c.Backups.Recipients) == "" {
		return problem.New(problem.Invalid, "cli.backup_needs_recipient", "Env", envPrefix+"BACKUP_RECIPIENT")
	}
	if c.Data == "" {
		return problem.New(problem.Invalid, "cli.no_data", "Env", envPrefix+"DATA")
	}
	if c.SessionIdle < time.Minute || c.SessionMax < c.SessionIdle {
		return problem.New(problem.Invalid, "cli.bad_sessions", "Idle", c.SessionIdle.String(), "Max", c.SessionMax.String())
	}
	if c.RelayBind != "" {
		relayHost, _, err := net.SplitHostPort(c.RelayBind)
		if err != nil {
			return fmt.Errorf("the relay address %q is not host:port, such as 0.0.0.0:7946", c.RelayBind)
		}
		key, err := base64.StdEncoding.DecodeString(c.RelayKey)
		if err != nil || len(key) != 32 {
			return fmt.Errorf("the relay key must be base64 of 32 random bytes (for example: head -c 32 /dev/urandom | base64), the same at every peer mission")
		}
		c.relayKey = key
		c.relayNets = nil
		for _, s := range strings.Split(c.RelayNetworks, ",") {
			if s = strings.TrimSpace(s); s == "" {
				continue
			}
			_, n, err := net.ParseCIDR(s)
			if err != nil {
				return fmt.Errorf("relay networks: %q is not a network in CIDR form, such as 192.168.10.0/24", s)
			}
			c.relayNets = append(c.relayNets, *n)
		}
		webHost, _, _ := net.SplitHostPort(c.Addr)
		if loopback(webHost) && !loopback(relayHost) {
			return fmt.Errorf("peer missions hand pouches over through the web interface, which listens on %s only: listen on the LAN too (--addr 0.0.0.0:8080), or meet peers on loopback", c.Addr)
		}
	}
	if (c.TLSCert == "") != (c.TLSKey == "") {
		return problem.New(problem.Invalid, "cli.tls_pair")
	}
	if c.TLSCert != "" && c.TLSSelfSigned {
		return problem.New(problem.Invalid, "cli.tls_both")
	}
	if len(c.MissionName) > 100 {
		return problem.New(problem.Invalid, "cli.name_too_long")
	}
	return nil
}
