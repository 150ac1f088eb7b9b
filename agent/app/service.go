package app

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"chancery/shared/cli"
)

// serviceName is the agent's name in Windows' service manager.
const serviceName = "ChanceryAgent"

// serviceCmd installs the agent as a Windows service, or removes it. The
// service manager starts "chancery-agent service run" followed by the
// settings given at install, which runs serve until the service is
// stopped.
func serviceCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return fmt.Errorf("%w: chancery-agent service install|uninstall [--config FILE] [flags]", errUsage)
	}
	switch args[0] {
	case "install":
		exe, err := os.Executable()
		if err != nil {
			return err
		}
		run, c, err := serviceLine(args[1:], stderr)
		if err != nil {
			return err
		}
		if err := installService(exe, run, c.Data); err != nil {
			return err
		}
		cli.Say(stdout, "cli.service_installed", "Name", serviceName)
		cli.Say(stdout, "cli.service_paths", "Data", c.Data, "Log", serviceLog(c))
		return nil
	case "uninstall":
		if len(args) > 1 {
			return fmt.Errorf("%w: chancery-agent service uninstall takes no flags", errUsage)
		}
		if err := uninstallService(); err != nil {
			return err
		}
		cli.Say(stdout, "cli.service_removed", "Name", serviceName)
		return nil
	case "run":
		c, _, err := parseArgs("serve", args[1:], stderr, nil)
		if err != nil {
			return err
		}
		log, err := os.OpenFile(serviceLog(c), os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600)
		if err != nil {
			return err
		}
		defer log.Close()
		return runService(args[1:], log)
	}
	return fmt.Errorf("%w: chancery-agent service install|uninstall, not %q", errUsage, args[0])
}

// serviceLine checks the settings the service is to run with, as serve
// would at start, so that a mistake shows now rather than at the next
// boot; it returns the service's command line, with every file named by
// its full path (the service manager starts in another folder).
func serviceLine(args []string, stderr io.Writer) ([]string, Config, error) {
	c, err := parse("service install", args, stderr, nil)
	if err != nil {
		return nil, c, err
	}
	if c.TLSCert != "" {
		if _, err := c.certificate(); err != nil {
			return nil, c, err
		}
	}
	line := []string{"service", "run"}
	for i := 0; i < len(args); i++ {
		a := args[i]
		name, value, inline := cutFlag(a)
		if pathFlags[name] {
			if !inline {
				i++
				value = args[i]
			}
			abs, err := filepath.Abs(value)
			if err != nil {
				return nil, c, err
			}
			a = "--" + name + "=" + abs
		}
		line = append(line, a)
	}
	if !hasFlag(args, "data") && !hasFlag(args, "config") {
		abs, err := filepath.Abs(c.Data)
		if err != nil {
			return nil, c, err
		}
		line = append(line, "--data="+abs)
	}
	// The service manager starts the agent in the system folder, so a
	// relative path in the config file would point there.
	c, err = parse("service install", line[2:], stderr, nil)
	if err != nil {
		return nil, c, err
	}
	for _, f := range [][2]string{{"data", c.Data}, {"key-file", c.KeyFile}, {"tls-cert", c.TLSCert}, {"tls-key", c.TLSKey}, {"hq-ca", c.HQCA}, {"backup-dir", c.Backups.Dir}} {
		if name, path := f[0], f[1]; path != "" && !filepath.IsAbs(path) {
			return nil, c, fmt.Errorf("%s is %q in the config file: a service needs the full path (such as C:\\ProgramData\\Chancery\\...), since it starts in the system folder", name, path)
		}
	}
	return line, c, nil
}

// pathFlags are the settings that name a file or folder.
var pathFlags = map[string]bool{"config": true, "data": true, "key-file": true, "tls-cert": true, "tls-key": true, "hq-ca": true, "backup-dir": true}

// cutFlag splits "-name=value" or "--name=value"; inline says a value
// came with it.
func cutFlag(a string) (name, value string, inline bool) {
	if len(a) < 2 || a[0] != '-' {
		return "", "", false
	}
	a = a[1:]
	if a[0] == '-' {
		a = a[1:]
	}
	for i := range len(a) {
		if a[i] == '=' {
			return a[:i], a[i+1:], true
		}
	}
	return a, "", false
}

func hasFlag(args []string, name string) bool {
	for _, a := range args {
		if n, _, _ := cutFlag(a); n == name {
			return true
		}
	}
	return false
}

// serviceLog is where the service writes what serve would print.
func serviceLog(c Config) string {
	abs, err := filepath.Abs(filepath.Join(c.Data, "chancery-agent.log"))
	if err != nil {
		return filepath.Join(c.Data, "chancery-agent.log")
	}
	return abs
}
