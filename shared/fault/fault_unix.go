//go:build unix

package fault

import (
	"os"
	"syscall"
)

func die() {
	syscall.Kill(os.Getpid(), syscall.SIGKILL)
	select {} // the signal is on its way
}
