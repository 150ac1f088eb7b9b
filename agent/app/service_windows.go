package app

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"time"

	"golang.org/x/sys/windows"
	"golang.org/x/sys/windows/svc"
	"golang.org/x/sys/windows/svc/mgr"
)

// installService registers the agent with Windows' service manager, to
// start with the computer and again after a crash, under a virtual
// account of its own (NT SERVICE\ChanceryAgent) that alone, with the
// administrators, may open the data folder; and starts it.
func installService(exe string, line []string, data string) error {
	m, err := mgr.Connect()
	if err != nil {
		return fmt.Errorf("cannot reach the service manager (%w): run this from a command prompt opened as administrator", err)
	}
	defer m.Disconnect()
	if s, err := m.OpenService(serviceName); err == nil {
		s.Close()
		return fmt.Errorf("the service %s is installed already: chancery-agent service uninstall first, then install again", serviceName)
	}
	s, err := m.CreateService(serviceName, exe, mgr.Config{
		DisplayName:      "Chancery agent",
		Description:      "Digital diplomacy readiness at this mission: the web interface for staff, and the sync with HQ.",
		StartType:        mgr.StartAutomatic,
		DelayedAutoStart: true,
		ServiceStartName: `NT SERVICE\` + serviceName,
	}, line...)
	if err != nil {
		return fmt.Errorf("cannot install the service (%w): run this from a command prompt opened as administrator", err)
	}
	defer s.Close()
	if err := ownData(data); err != nil {
		s.Delete()
		return err
	}
	restart := []mgr.RecoveryAction{{Type: mgr.ServiceRestart, Delay: 5 * time.Second}, {Type: mgr.ServiceRestart, Delay: 30 * time.Second}, {Type: mgr.ServiceRestart, Delay: 5 * time.Minute}}
	if err := s.SetRecoveryActions(restart, 24*60*60); err != nil {
		return fmt.Errorf("installed, but restarts after a crash are not set (%w)", err)
	}
	if err := s.Start(); err != nil {
		return fmt.Errorf("installed, but it does not start (%w): its log in the data folder says why", err)
	}
	return nil
}

// uninstallService stops the service and removes it.
func uninstallService() error {
	m, err := mgr.Connect()
	if err != nil {
		return fmt.Errorf("cannot reach the service manager (%w): run this from a command prompt opened as administrator", err)
	}
	defer m.Disconnect()
	s, err := m.OpenService(serviceName)
	if err != nil {
		return fmt.Errorf("the service %s is not installed", serviceName)
	}
	defer s.Close()
	if st, err := s.Query(); err == nil && st.State != svc.Stopped {
		if _, err := s.Control(svc.Stop); err != nil && !errors.Is(err, windows.ERROR_SERVICE_NOT_ACTIVE) {
			return fmt.Errorf("cannot stop the service (%w)", err)
		}
		for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(300 * time.Millisecond) {
			st, err := s.Query()
			if err != nil || st.State == svc.Stopped {
				break
			}
			if time.Now().After(deadline) {
				return fmt.Errorf("the service did not stop within 30 s: stop it in services.msc, then uninstall again")
			}
		}
	}
	return s.Delete()
}

// runService runs serve under the service manager until it asks the
// service to stop; what serve prints goes to log.
func runService(args []string, log io.Writer) error {
	return svc.Run(serviceName, &agentService{args: args, log: log})
}

type agentService struct {
	args []string
	log  io.Writer
}

func (a *agentService) Execute(_ []string, req <-chan svc.ChangeRequest, status chan<- svc.Status) (bool, uint32) {
	status <- svc.Status{State: svc.StartPending}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- serve(ctx, a.args, a.log, a.log) }()
	status <- svc.Status{State: svc.Running, Accepts: svc.AcceptStop | svc.AcceptShutdown}
	for {
		select {
		case err := <-done:
			if err != nil {
				fmt.Fprintln(a.log, "chancery-agent:", err)
				return true, 1
			}
			return false, 0
		case c := <-req:
			switch c.Cmd {
			case svc.Interrogate:
				status <- c.CurrentStatus
			case svc.Stop, svc.Shutdown:
				status <- svc.Status{State: svc.StopPending}
				cancel()
				if err := <-done; err != nil {
					fmt.Fprintln(a.log, "chancery-agent:", err)
				}
				return false, 0
			}
		}
	}
}

// ownData makes the data folder the service's: inherited permissions
// (under ProgramData, every user may read) are removed, and only the
// service's account, the administrators and the system keep access.
func ownData(data string) error {
	if err := os.MkdirAll(data, 0o700); err != nil {
		return err
	}
	out, err := exec.Command("icacls", data, "/inheritance:r",
		"/grant:r", `NT SERVICE\`+serviceName+":(OI)(CI)M",
		"/grant:r", "*S-1-5-32-544:(OI)(CI)F", // Administrators
		"/grant:r", "*S-1-5-18:(OI)(CI)F", // SYSTEM
		"/T", "/Q").CombinedOutput()
	if err != nil {
		return fmt.Errorf("cannot give the data folder %s to the service (icacls: %v, %s): nothing is installed", data, err, strings.TrimSpace(string(out)))
	}
	return nil
}
