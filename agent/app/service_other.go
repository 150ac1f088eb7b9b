//go:build !windows

package app

import (
	"errors"
	"io"
)

var errNotWindows = errors.New("chancery-agent service is for Windows; on Linux, install deploy/systemd/chancery-agent.service (deploy/INSTALL.md)")

func installService(string, []string, string) error { return errNotWindows }

func uninstallService() error { return errNotWindows }

func runService([]string, io.Writer) error { return errNotWindows }
